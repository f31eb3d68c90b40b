import { EngineError } from "./driver.js";
import type { WireLimits } from "./types.js";
import { R } from "../common/reasons.js";

export type { WireLimits };

export const DEFAULT_WIRE_LIMITS: WireLimits = {
  maxCellBytes: 16 * 1024 * 1024,
  maxMessageBytes: 64 * 1024,
  maxControlBytes: 1024 * 1024,
  maxColumns: 4_096,
  bufferBytes: 1024 * 1024,
  allRows: 100_000,
  allBytes: 32 * 1024 * 1024,
  cancelTimeoutMs: 2_000,
  resetTimeoutMs: 2_000,
};

/** The limits for a configured cell size: small results may hold at least two such cells. */
export function wireLimits(maxCellBytes: number): WireLimits {
  return { ...DEFAULT_WIRE_LIMITS, maxCellBytes, allBytes: Math.max(DEFAULT_WIRE_LIMITS.allBytes, 2 * maxCellBytes) };
}

export const mib = (n: number) => (n >= 1024 * 1024 && n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`);

/** A cell (or row) over the cap: ResourceExhausted naming the column. */
export function cellTooLarge(column: string | undefined, bytes: number, cap: number, row = false): EngineError {
  const what = column === undefined ? "a row" : `column "${column}"`;
  return new EngineError(`${what} holds ${row ? "a row" : "a value"} of ${bytes} bytes or more, over ENGINE_MAX_CELL_BYTES (${mib(cap)}): select less of it (e.g. substring) or raise the limit`, R.CELL_TOO_LARGE, {
    field: column,
    metadata: { limit: "ENGINE_MAX_CELL_BYTES", max: String(cap) },
  });
}

export function protocolViolation(what: string): EngineError {
  return new EngineError(`the database broke the protocol: ${what}; the connection was closed`, R.DATABASE_PROTOCOL_VIOLATION);
}

export function resultTooLarge(what: string, cap: number): EngineError {
  return new EngineError(`the result is too large: ${what} (at most ${cap}); ask for less`, R.RESULT_TOO_LARGE, { metadata: { max: String(cap) } });
}

/** The longest value of a row as the drivers read it (text or bytes), for the cell cap. */
export function checkCells(row: ArrayLike<unknown>, cap: number, name: (i: number) => string | undefined): void {
  let total = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    const n = typeof v === "string" ? v.length : v instanceof Uint8Array || v instanceof ArrayBuffer ? v.byteLength : 0;
    if (n === 0) continue;
    // A string's UTF-8 may be up to 3 bytes per UTF-16 unit; its length is what was held.
    total += n;
    if (n > cap) throw cellTooLarge(name(i), n, cap);
    if (total > cap) throw cellTooLarge(name(i), total, cap, true);
  }
}
