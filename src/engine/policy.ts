import { lookup } from "node:dns/promises";
import { lstatSync, realpathSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import { isAbsolute, relative, resolve, sep } from "node:path";

/** Addresses a server on the internet must not let users reach (SSRF): RFC 6890 and cloud metadata. */
const BLOCKED = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) BLOCKED.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["fd00:ec2::", 32], ["64:ff9b::", 96]] as const) {
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
  }
  return { address: addresses[0] };
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
