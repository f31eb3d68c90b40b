/**
 * The fate of one connection to a database. Once killed, its socket is destroyed and every pending
 * and later guarded read fails with the reason at once, whatever the driver does with the socket
 * afterwards (a hostile server can leave a driver waiting forever; mysql2 can drop a connection
 * without failing the query on it).
 */
export class Lifeline {
  private reason: Error | undefined;

  /** `observe` hears every kill (metrics count the limits among them). */
  constructor(private readonly observe: (reason: Error) => void = () => undefined) {}

  private readonly waiters = new Set<(e: Error) => void>();
  private destroy: (() => void) | undefined;

  /** `destroy` closes the socket (set once it exists). */
  bind(destroy: () => void): void {
    this.destroy = destroy;
    if (this.reason) destroy();
  }

  get dead(): Error | undefined {
    return this.reason;
  }

  kill(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.observe(reason);
    try {
      this.destroy?.();
    } catch {
      /* already gone */
    }
    for (const w of [...this.waiters]) w(reason);
    this.waiters.clear();
  }

  /** `work`, or the kill's reason if that comes first (the work's own outcome is then ignored). */
  guard<T>(work: Promise<T>): Promise<T> {
    if (this.reason) {
      work.catch(() => undefined);
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiters.add(reject);
      work.then(
        (v) => {
          this.waiters.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.waiters.delete(reject);
          reject(this.reason ?? e);
        },
      );
    });
  }

  /** `work` within `ms`; past it the connection is killed with `onTimeout()`. */
  within<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
    const timer = setTimeout(() => this.kill(onTimeout()), ms);
    timer.unref();
    return this.guard(work).finally(() => clearTimeout(timer));
  }
}
