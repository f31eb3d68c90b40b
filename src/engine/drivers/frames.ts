/**
 * What the frame watchers of both network drivers share (pg/frames.ts, mysql/frames.ts): they read
 * a connection's bytes before the driver's parser does, and stop at the first limit crossed. The
 * failure is reported once, after the driver has parsed the chunk at hand (so it knows the
 * result's columns), and nothing more is read.
 */
export abstract class FrameWatch {
  private stopped = false;

  constructor(private readonly fail: (err: Error) => void) {}

  /** Every chunk the socket delivers, in order. */
  feed(chunk: Buffer): void {
    if (!this.stopped) this.read(chunk);
  }

  protected abstract read(chunk: Buffer): void;

  protected stop(err: () => Error): void {
    this.stopped = true;
    process.nextTick(() => this.fail(err()));
  }
}
