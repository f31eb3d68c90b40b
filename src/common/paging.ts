import { createHash } from "node:crypto";
import { invalidArgument, R } from "./errors.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export function pageSize(requested: number, def = DEFAULT_PAGE_SIZE, max = MAX_PAGE_SIZE): number {
  if (requested < 0) throw invalidArgument("page_size", "must not be negative");
  return requested === 0 ? def : Math.min(requested, max);
}

/**
 * The list a token belongs to: its name and every filter of the request (the user is not in it:
 * every list query is scoped by the caller). A token is bound to its scope, so one from another
 * list or other filters is refused (INVALID_PAGE_TOKEN) instead of paging from a wrong place.
 */
export type PageScope = readonly [list: string, ...filters: (string | number | boolean)[]];

const scopeHash = (scope: PageScope) => createHash("sha256").update(JSON.stringify(scope)).digest("base64url").slice(0, 16);

export const invalidPageToken = () => invalidArgument("page_token", "is not a token this server issued", R.INVALID_PAGE_TOKEN);

/** Page tokens are opaque to clients: base64url JSON of the last key seen and the hash of its scope. */
export function encodePageToken(key: string, scope: PageScope): string {
  return Buffer.from(JSON.stringify({ s: scopeHash(scope), k: key }), "utf8").toString("base64url");
}

/** The key a token names (undefined for ""); `parse` refuses a key of the wrong shape by throwing or answering undefined. */
export function decodePageToken(token: string, scope: PageScope): string | undefined;
export function decodePageToken<K>(token: string, scope: PageScope, parse: (key: string) => K | undefined): K | undefined;
export function decodePageToken<K>(token: string, scope: PageScope, parse?: (key: string) => K | undefined): K | string | undefined {
  if (token === "") return undefined;
  try {
    if (token.length > 1024) throw new Error();
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof v?.k !== "string" || v.s !== scopeHash(scope)) throw new Error();
    if (!parse) return v.k as string;
    const key = parse(v.k);
    if (key === undefined) throw new Error();
    return key;
  } catch {
    throw invalidPageToken();
  }
}

/**
 * One page of `rows` (read with a limit of `limit + 1`): the first `limit`, and the token of the
 * next page (the last row's key) when there was more, else "".
 */
export function pageOf<T>(rows: T[], limit: number, scope: PageScope, keyOf: (last: T) => string): { page: T[]; next: string } {
  const page = rows.slice(0, limit);
  return { page, next: rows.length > limit && page.length > 0 ? encodePageToken(keyOf(page[page.length - 1]), scope) : "" };
}
