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

export function createLogger(opts: { level: string; pretty: boolean }, destination?: DestinationStream): Logger {
  const base = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(base, destination);
  if (opts.pretty) {
    return pino({ ...base, transport: { target: "pino-pretty", options: { colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } } });
  }
  return pino(base);
}
