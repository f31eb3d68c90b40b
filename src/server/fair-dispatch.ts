/**
 * Fair dispatch of HTTP/2 requests between connections. A client can send a hundred streams in
 * one write, and node hands them all to the app in one go, before the event loop reads another
 * socket: one connection's burst would hold every other client for as long as it takes to
 * answer it. Here each connection starts at most `perTurn` requests per event-loop turn; the rest
 * wait in its own queue and start on the following turns, round robin, with the loop reading
 * sockets in between, so a request on another connection waits for a turn's worth of work, not
 * for the whole burst.
 */
export class FairDispatcher<K> {
  private readonly queues = new Map<K, (() => void)[]>();
  private readonly started = new Map<K, number>();
  private scheduled = false;

  constructor(private readonly perTurn: number) {}

  /** Runs `start` now if `key` has budget left in this turn, else queues it for a following turn. */
  dispatch(key: K, start: () => void): void {
    const n = this.started.get(key) ?? 0;
    if (n < this.perTurn && !this.queues.has(key)) {
      this.started.set(key, n + 1);
      this.schedule();
      start();
      return;
    }
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    q.push(start);
    this.schedule();
  }

  /** Requests waiting for a turn. */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  /** A new turn: budgets reset; each waiting connection starts up to `perTurn` requests. */
  private turn(): void {
    this.scheduled = false;
    this.started.clear();
    for (const [key, q] of [...this.queues]) {
      const batch = q.splice(0, this.perTurn);
      if (q.length === 0) this.queues.delete(key);
      this.started.set(key, batch.length);
      for (const start of batch) start();
    }
    if (this.queues.size > 0) this.schedule();
  }
}
