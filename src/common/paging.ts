import { invalidArgument, R } from "../common/errors.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export function pageSize(requested: number, def = DEFAULT_PAGE_SIZE, max = MAX_PAGE_SIZE): number {
  if (requested < 0) throw invalidArgument("page_size", "must not be negative");
  return requested === 0 ? def : Math.min(requested, max);
}

/** Page tokens are opaque to clients: base64url JSON of the last key seen. */
export function encodePageToken(key: string): string {
  return Buffer.from(JSON.stringify({ k: key }), "utf8").toString("base64url");
}

export function decodePageToken(token: string): string | undefined {
  if (token === "") return undefined;
  try {
    if (token.length > 512) throw new Error();
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof v?.k !== "string") throw new Error();
    return v.k;
  } catch {
    throw invalidArgument("page_token", "is not a token this server issued", R.INVALID_PAGE_TOKEN);
  }
}
