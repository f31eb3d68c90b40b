/**
 * A response's headers or trailers as the `Headers` interceptors and handlers write, without
 * undici's machinery (its constructor and setters run WebIDL conversions, and it keeps a sorted
 * copy for iteration): the fast path makes two of these per call and usually writes one or two
 * entries. It behaves as `Headers` does for what a response needs: names are case-insensitive
 * and checked, values are trimmed of HTTP whitespace and checked, `get` joins repeated values with
 * ", ", and iteration is sorted by name with each `set-cookie` on its own.
 */
export class OutgoingHeaders implements Headers {
  private readonly map = new Map<string, string[]>();

  append(name: string, value: string): void {
    const key = checkName(name);
    const v = checkValue(value);
    const list = this.map.get(key);
    if (list) list.push(v);
    else this.map.set(key, [v]);
  }

  set(name: string, value: string): void {
    this.map.set(checkName(name), [checkValue(value)]);
  }

  get(name: string): string | null {
    const list = this.map.get(checkName(name));
    return list === undefined ? null : list.length === 1 ? list[0]! : list.join(", ");
  }

  has(name: string): boolean {
    return this.map.has(checkName(name));
  }

  delete(name: string): void {
    this.map.delete(checkName(name));
  }

  getSetCookie(): string[] {
    return this.map.get("set-cookie")?.slice() ?? [];
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    if (this.map.size === 1) {
      // The common case (a content type): no sorting, no pairs.
      for (const [k, list] of this.map) {
        if (k === "set-cookie") for (const v of list) callback.call(thisArg, v, k, this);
        else callback.call(thisArg, list.length === 1 ? list[0]! : list.join(", "), k, this);
      }
      return;
    }
    for (const [k, v] of this.pairs()) callback.call(thisArg, v, k, this);
  }

  entries(): HeadersIterator<[string, string]> {
    return this.pairs()[Symbol.iterator]() as HeadersIterator<[string, string]>;
  }

  keys(): HeadersIterator<string> {
    return this.pairs()
      .map(([k]) => k)
      [Symbol.iterator]() as HeadersIterator<string>;
  }

  values(): HeadersIterator<string> {
    return this.pairs()
      .map(([, v]) => v)
      [Symbol.iterator]() as HeadersIterator<string>;
  }

  [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.entries();
  }

  /** The entries as iteration yields them: by name, each set-cookie apart, other repeats joined. */
  private pairs(): [string, string][] {
    const out: [string, string][] = [];
    for (const k of [...this.map.keys()].sort()) {
      const list = this.map.get(k)!;
      if (k === "set-cookie") for (const v of list) out.push([k, v]);
      else out.push([k, list.join(", ")]);
    }
    return out;
  }
}

/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What Headers trims from values: HTTP whitespace (tab, line feed, carriage return, space). */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const FORBIDDEN_IN_VALUE = /[\0\r\n]/;

function checkName(name: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
  return name.toLowerCase();
}

function checkValue(value: string): string {
  const v = String(value);
  const trimmed = v.length > 0 && (isEdgeSpace(v.charCodeAt(0)) || isEdgeSpace(v.charCodeAt(v.length - 1))) ? v.replace(EDGE_WHITESPACE, "") : v;
  if (FORBIDDEN_IN_VALUE.test(trimmed)) throw new TypeError(`invalid header value: ${JSON.stringify(value)}`);
  return trimmed;
}

const isEdgeSpace = (c: number) => c === 9 || c === 10 || c === 13 || c === 32;
