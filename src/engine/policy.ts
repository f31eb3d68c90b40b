import { lookup } from "node:dns/promises";
import { lstatSync, mkdirSync, realpathSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

/** Addresses a server on the internet must not let users reach (SSRF): RFC 6890 and cloud metadata. */
const BLOCKED = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) BLOCKED.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["fd00:ec2::", 32]] as const) {
  BLOCKED.addSubnet(net, bits, "ipv6");
}

export interface HostPolicy {
  allowPrivateHosts: boolean;
  /** Host names, addresses or CIDR ranges allowed even when private. */
  allowlist: string[];
}

export type Resolve = (host: string) => Promise<string[]>;
const systemResolve: Resolve = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as its IPv4 address. */
function normalize(address: string): { address: string; family: "ipv4" | "ipv6" } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1], family: "ipv4" };
  return { address, family: isIP(address) === 6 ? "ipv6" : "ipv4" };
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part included). */
function hextets(address: string): number[] | undefined {
  let a = address.toLowerCase().replace(/%.*$/, "");
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (dotted) {
    const [b0, b1, b2, b3] = dotted.slice(1).map(Number);
    a = `${a.slice(0, dotted.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, tail, extra] = a.split("::");
  if (extra !== undefined) return undefined;
  const part = (s: string | undefined) => (s ? s.split(":").map((h) => parseInt(h, 16)) : []);
  const h = part(head);
  const t = part(tail);
  const groups = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/**
 * The IPv4 addresses an IPv6 address carries, by the standard forms a packet to it may be
 * delivered through: IPv4-mapped ::ffff:0:0/96 and IPv4-translated ::ffff:0:0:0/96, IPv4-compatible
 * ::/96, 6to4 2002::/16, NAT64 64:ff9b::/96 and the local-use 64:ff9b:1::/48 (RFC 6052's /48 and
 * /96 layouts), Teredo 2001::/32 (its server, and its client: the last 32 bits inverted).
 */
export function embeddedIpv4(address: string): string[] {
  const h = hextets(address);
  if (!h) return [];
  const zero = (from: number, to: number) => h.slice(from, to).every((g) => g === 0);
  const out: string[] = [];
  if (zero(0, 5) && h[5] === 0xffff) out.push(v4(h[6], h[7]));
  if (zero(0, 4) && h[4] === 0xffff && h[5] === 0) out.push(v4(h[6], h[7]));
  if (zero(0, 6) && (h[6] !== 0 || h[7] > 1)) out.push(v4(h[6], h[7]));
  if (h[0] === 0x2002) out.push(v4(h[1], h[2]));
  if (h[0] === 0x64 && h[1] === 0xff9b && zero(2, 6)) out.push(v4(h[6], h[7]));
  if (h[0] === 0x64 && h[1] === 0xff9b && h[2] === 1) out.push(v4(h[6], h[7]), v4(h[3], ((h[4] & 0xff) << 8) | (h[5] >> 8)));
  if (h[0] === 0x2001 && h[1] === 0) out.push(v4(h[2], h[3]), v4(~h[6] & 0xffff, ~h[7] & 0xffff));
  return out;
}

/**
 * Decides whether a host may be connected to. A name is resolved and every address it
 * resolves to must be public (or allow-listed): a name that points at 169.254.169.254 is refused.
 * Answers the address to connect to (the checked one, so a second lookup cannot be steered
 * elsewhere) or the refusal.
 */
export async function checkHost(host: string, policy: HostPolicy, resolveHost: Resolve = systemResolve): Promise<{ address: string } | { refused: string }> {
  if (policy.allowPrivateHosts) return { address: host };
  const allow = new BlockList();
  const names = new Set<string>();
  for (const entry of policy.allowlist) {
    const [net, bits] = entry.split("/");
    const family = isIP(net);
    if (family === 0) names.add(entry.toLowerCase());
    else if (bits !== undefined) allow.addSubnet(net, Number(bits), family === 6 ? "ipv6" : "ipv4");
    else allow.addAddress(net, family === 6 ? "ipv6" : "ipv4");
  }
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (names.has(bare)) return { address: host };
  if (bare === "localhost" || bare.endsWith(".localhost") || bare === "metadata.google.internal") return { refused: `${host} is a local or metadata host` };
  let addresses: string[];
  try {
    addresses = isIP(bare) ? [bare] : await resolveHost(bare);
  } catch {
    return { refused: `${host} does not resolve` };
  }
  if (addresses.length === 0) return { refused: `${host} does not resolve` };
  for (const a of addresses) {
    const { address, family } = normalize(a);
    if (allow.check(address, family)) continue;
    if (BLOCKED.check(address, family)) return { refused: `${host} is or resolves to a private, loopback, link-local or metadata address (${address})` };
    const inner = family === "ipv6" ? embeddedIpv4(address).find((v) => !allow.check(v, "ipv4") && BLOCKED.check(v, "ipv4")) : undefined;
    if (inner) return { refused: `${host} is or resolves to an IPv6 address that carries a private, loopback, link-local or metadata IPv4 address (${inner})` };
  }
  return { address: addresses[0] };
}

/**
 * A user's own SQLite folder, `<dir>/<user id>`, made (owner only) on first use; undefined when
 * SQLite profiles are off. User ids are server-made UUIDs: never a path of their own.
 */
export function userSqliteDir(dir: string | undefined, userId: string): string | undefined {
  if (!dir) return undefined;
  if (!/^[0-9a-f-]{1,64}$/i.test(userId)) throw new Error("a user id is not a folder name");
  const folder = join(resolve(dir), userId);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  return folder;
}

/**
 * Resolves a SQLite profile's path inside `dir`; anything that leaves it (.., an absolute path
 * elsewhere, a symlink out) is refused. Returns the absolute path or a refusal.
 */
export function confineSqlitePath(dir: string | undefined, path: string): { path: string } | { refused: string } {
  if (!dir) return { refused: "SQLite profiles are disabled on this server (ENGINE_SQLITE_DIR is not set)" };
  if (path === "" || path.includes("\0")) return { refused: "a file name is required" };
  if (/^file:|[?]/.test(path) || path === ":memory:") return { refused: "must be a plain file path" };
  const base = resolve(dir);
  const full = resolve(base, path);
  const inside = (p: string, root: string) => {
    const r = relative(root, p);
    return r !== "" && !r.startsWith("..") && !isAbsolute(r) && !r.split(sep).includes("..");
  };
  if (!inside(full, base)) return { refused: `must be inside the SQLite directory` };
  // Symlinks: the real path of the file (or of its folder, for a new file) must stay inside too.
  let realBase = base;
  try {
    realBase = realpathSync(base);
  } catch {
    return { refused: "the SQLite directory does not exist" };
  }
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    // No such file yet, or a dangling symlink: SQLite would create the file where that link points.
    let link = false;
    try {
      link = lstatSync(full).isSymbolicLink();
    } catch {
      // the file does not exist: it is created inside its (checked) folder
    }
    if (link) return { refused: "must not be a symbolic link to a missing file" };
    try {
      real = resolve(realpathSync(resolve(full, "..")), full.slice(full.lastIndexOf(sep) + 1));
    } catch {
      return { refused: "its folder does not exist" };
    }
  }
  if (!inside(real, realBase)) return { refused: "must be inside the SQLite directory" };
  return { path: real };
}
