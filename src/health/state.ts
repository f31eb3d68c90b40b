import { HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";

export { Status };

type Listener = (status: Status) => void;

/**
 * Serving status per service ("" is the server as a whole). Watchers hear every change;
 * `shutdown()` flips everything to NOT_SERVING so load balancers stop sending traffic.
 */
export class HealthState {
  private readonly statuses = new Map<string, Status>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private closed = false;

  constructor(services: readonly string[]) {
    this.statuses.set("", Status.SERVING);
    for (const s of services) this.statuses.set(s, Status.SERVING);
  }

  /** The status of a known service, or undefined when the service is unknown. */
  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  set(service: string, status: Status): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const l of this.listeners.get(service) ?? []) l(status);
  }

  /** Everything NOT_SERVING; watches deliver that, then end. */
  shutdown(): void {
    for (const s of [...this.statuses.keys()]) this.set(s, Status.NOT_SERVING);
    this.closed = true;
    for (const set of this.listeners.values()) for (const l of set) l(Status.NOT_SERVING);
  }

  get isShutDown(): boolean {
    return this.closed;
  }

  /** Current status at once, then every change, until the signal aborts or shutdown. */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<Status> {
    const queue: Status[] = [this.get(service) ?? Status.SERVICE_UNKNOWN];
    let wake: (() => void) | undefined;
    const listener: Listener = (s) => {
      queue.push(s);
      wake?.();
    };
    const onAbort = () => wake?.();
    let set = this.listeners.get(service);
    if (!set) this.listeners.set(service, (set = new Set()));
    set.add(listener);
    signal.addEventListener("abort", onAbort);
    try {
      let last: Status | undefined;
      while (!signal.aborted) {
        const next = queue.shift();
        if (next !== undefined) {
          if (next !== last) yield next;
          last = next;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      set.delete(listener);
      signal.removeEventListener("abort", onAbort);
    }
  }
}
