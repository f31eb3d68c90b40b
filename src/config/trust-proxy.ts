import { isIP } from "node:net";
import { z } from "zod";

/**
 * TRUST_PROXY: which proxies may tell the server the client's address (X-Forwarded-For).
 * - off (`false`, `0`, unset): the socket's address, always; X-Forwarded-For is ignored.
 * - a number n (1-10): n proxies stand in front of the server, each appending the address it
 *   was reached from; the client is the n-th address from the right (Cloud Run: 1).
 * - addresses and CIDR ranges (and proxy-addr's names `loopback`, `linklocal`, `uniquelocal`):
 *   the socket and every hop inside them are proxies; the client is the first address from the
 *   right outside them.
 * `true` is refused: it names neither, and "trust whatever comes" is what made addresses forgeable.
 */
export type TrustProxy = number | string[];

const NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

function badEntry(entry: string): boolean {
  if (NAMES.has(entry)) return false;
  const [addr, bits, ...rest] = entry.split("/");
  const family = isIP(addr);
  if (family === 0 || rest.length > 0) return true;
  if (bits === undefined) return false;
  return !/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128);
}

export const HINT = "the number of proxies in front of the server (1 on Cloud Run), or their addresses/CIDR ranges; false for none";

/** Parses a TRUST_PROXY value (env string, or a YAML number/boolean/list); a string error says why not. */
export function parseTrustProxy(value: unknown): TrustProxy | { error: string } {
  if (value === undefined || value === null || value === false) return 0;
  if (value === true) return { error: `"true" is ambiguous: name ${HINT}` };
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 && value <= 10 ? value : { error: `must be 0-10 proxies, or ${HINT}` };
  }
  const entries = (Array.isArray(value) ? value.map(String) : String(value).split(",")).map((s) => s.trim()).filter((s) => s !== "");
  if (entries.length === 0) return 0;
  if (entries.length === 1) {
    const s = entries[0].toLowerCase();
    if (["false", "off", "no"].includes(s)) return 0;
    if (["true", "on", "yes"].includes(s)) return { error: `"${entries[0]}" is ambiguous: name ${HINT}` };
    if (/^-?\d+$/.test(s)) return parseTrustProxy(Number(s));
  }
  const bad = entries.filter(badEntry);
  if (bad.length > 0) return { error: `${bad.map((b) => `"${b}"`).join(", ")} is not an address or CIDR range: name ${HINT}` };
  return entries;
}

/** The zod field: one clear message instead of a union's. */
export const trustProxySetting = z.unknown().transform((v, ctx): TrustProxy => {
  const r = parseTrustProxy(v);
  if (typeof r === "object" && !Array.isArray(r)) {
    ctx.issues.push({ code: "custom", message: r.error, input: v });
    return z.NEVER;
  }
  return r;
});

/**
 * Fastify's `trustProxy` option for the setting. A hop count becomes a function: Fastify reads a
 * bare number as "trust nothing" (it cannot check the peer); here the operator vouches that the
 * port is reached only through those proxies (Cloud Run's ingress).
 */
export function fastifyTrustProxy(setting: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  if (Array.isArray(setting)) return setting;
  return setting > 0 ? (_address: string, hop: number) => hop < setting : false;
}
