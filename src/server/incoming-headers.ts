import type { IncomingHttpHeaders } from "node:http";

/**
 * A request's headers as the `Headers` interceptors and handlers read, over Node's own header
 * object: `get` and `has` look there (all most calls ever do: content type, request id,
 * authorization), and a real `Headers` copy is made only when something lists or changes them.
 * Copying every header into a `Headers` up front cost more than the interceptors' lookups
 * (undici validates each name and value). Node has already joined repeated headers (`, `, and `; `
 * for cookies); HTTP/2 pseudo-headers (`:path`, …) are not headers here.
 */
export class IncomingHeaders implements Headers {
  private copy: Headers | undefined;

  constructor(private readonly raw: IncomingHttpHeaders) {}

  get(name: string): string | null {
    if (this.copy) return this.copy.get(name);
    const key = name.toLowerCase();
    if (key.charCodeAt(0) === 58 /* ":" */) return null;
    const v = this.raw[key];
    return v === undefined ? null : typeof v === "string" ? v : v.join(", ");
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  getSetCookie(): string[] {
    return this.headers().getSetCookie();
  }

  set(name: string, value: string): void {
    this.headers().set(name, value);
  }

  append(name: string, value: string): void {
    this.headers().append(name, value);
  }

  delete(name: string): void {
    this.headers().delete(name);
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.headers().forEach((value, key) => callback.call(thisArg, value, key, this));
  }

  entries(): HeadersIterator<[string, string]> {
    return this.headers().entries();
  }

  keys(): HeadersIterator<string> {
    return this.headers().keys();
  }

  values(): HeadersIterator<string> {
    return this.headers().values();
  }

  [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.headers()[Symbol.iterator]();
  }

  private headers(): Headers {
    if (this.copy) return this.copy;
    const h = new Headers();
    for (const k in this.raw) {
      if (k.charCodeAt(0) === 58) continue;
      const v = this.raw[k];
      if (v === undefined) continue;
      if (typeof v === "string") h.append(k, v);
      else for (const e of v) h.append(k, e);
    }
    return (this.copy = h);
  }
}
