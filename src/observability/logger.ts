import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "headers.cookie",
  "password",
  "*.password",
  "newPassword",
  "*.newPassword",
  "currentPassword",
  "*.currentPassword",
  "token",
  "*.token",
  "accessToken",
  "*.accessToken",
  "refreshToken",
  "*.refreshToken",
  "secret",
  "*.secret",
  "jwtSecret",
  "*.jwtSecret",
  "authToken",
  "*.authToken",
  "connectionString",
  "*.connectionString",
];

/**
 * pino's `isoTime` (`,"time":"2026-12-06T23:20:01.123Z"`), made once per millisecond: a busy
 * instance logs several lines in one, and a Date and its ISO string per line cost a few µs.
 */
let lastMs = -1;
let lastTime = "";
export function isoTime(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastTime = `,"time":"${new Date(ms).toISOString()}"`;
  }
  return lastTime;
}

/**
 * Where the JSON lines go: sonic-boom writing synchronously, as pino's default destination does,
 * except that the lines logged in one turn of the event loop go out together in one write when the
 * turn ends (or once 8 KB are waiting), not one write per line: each write is a system call (about
 * 13 µs per RPC line here, the largest part of what the log line costs, docs/benchmarks.md) and a
 * busy instance logs a line per RPC. A line is never held past the turn it was logged in, so a
 * process killed outright loses at most the lines of the turn it was in; on exit the rest is written.
 */
export function logDestination(dest: string | number = 1): DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  const boom = pino.destination({ dest, sync: true, minLength: 8 * 1024 });
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    boom.flush();
  };
  process.once("exit", () => boom.flush());
  return {
    write(line: string) {
      boom.write(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush(cb) {
      scheduled = false;
      boom.flush(cb);
    },
  };
}

/**
 * The process's logger: JSON lines, or (LOG_PRETTY, development's default) pino-pretty with one
 * line per entry (the message, then its fields as compact JSON; only an `err` object's stack takes
 * more), coloured only when stdout is a terminal (`colorize` overrides).
 */
export function createLogger(opts: { level: string; pretty: boolean; colorize?: boolean }, destination?: DestinationStream): Logger {
  const base = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: undefined,
    timestamp: isoTime,
  };
  if (destination) return pino(base, destination);
  if (opts.pretty) {
    const colorize = opts.colorize ?? Boolean(process.stdout.isTTY);
    return pino({ ...base, transport: { target: "pino-pretty", options: { colorize, singleLine: true, errorLikeObjectKeys: ["err"], translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } } });
  }
  return pino(base, logDestination());
}
