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
 * The process's logger: JSON lines, or (LOG_PRETTY, development's default) pino-pretty with one
 * line per entry (the message, then its fields as compact JSON; only an `err` object's stack takes
 * more), coloured only when stdout is a terminal (`colorize` overrides).
 */
export function createLogger(opts: { level: string; pretty: boolean; colorize?: boolean }, destination?: DestinationStream): Logger {
  const base = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(base, destination);
  if (opts.pretty) {
    const colorize = opts.colorize ?? Boolean(process.stdout.isTTY);
    return pino({ ...base, transport: { target: "pino-pretty", options: { colorize, singleLine: true, errorLikeObjectKeys: ["err"], translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } } });
  }
  return pino(base);
}
