import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkHost, confineSqlitePath, type HostPolicy, type Resolve } from "../../../src/engine/policy.js";

const PRODUCTION: HostPolicy = { allowPrivateHosts: false, allowlist: [] };

/** A resolver from a table; records the names it was asked for. Unknown names do not resolve. */
function resolver(table: Record<string, string[]>): Resolve & { asked: string[] } {
  const asked: string[] = [];
  const fn = async (host: string) => {
    asked.push(host);
    const a = table[host];
    if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return a;
  };
  return Object.assign(fn, { asked });
}
const noDns = resolver({});

describe("checkHost with private hosts refused (production)", () => {
  const literals = [
    "127.0.0.1",
    "127.255.255.254",
    "::1",
    "[::1]",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "192.168.255.255",
    "169.254.169.254",
    "169.254.0.1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "0.0.0.0",
    "::",
    "100.64.0.1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "224.0.0.1",
  ];
  it.each(literals)("refuses the address %s without asking DNS", async (host) => {
    const dns = resolver({});
    const r = await checkHost(host, PRODUCTION, dns);
    expect(r).toEqual({ refused: expect.stringContaining(host.replace(/^\[(.*)\]$/, "$1")) });
    expect(dns.asked).toEqual([]);
  });

  it.each(["localhost", "LOCALHOST", "db.localhost", "metadata.google.internal", "Metadata.Google.Internal"])(
    "refuses the name %s whatever it resolves to",
    async (host) => {
      const dns = resolver({ [host.toLowerCase()]: ["93.184.216.34"] });
      expect(await checkHost(host, PRODUCTION, dns)).toEqual({ refused: expect.stringContaining(host) });
    },
  );

  it("refuses a DNS name that resolves to a private or metadata address", async () => {
    const dns = resolver({ "db.example.test": ["10.1.2.3"], "meta.example.test": ["169.254.169.254"], "v6.example.test": ["::1"] });
    for (const [host, address] of [["db.example.test", "10.1.2.3"], ["meta.example.test", "169.254.169.254"], ["v6.example.test", "::1"]]) {
      const r = await checkHost(host, PRODUCTION, dns);
      expect(r, host).toEqual({ refused: expect.stringContaining(address) });
    }
    expect(dns.asked).toEqual(["db.example.test", "meta.example.test", "v6.example.test"]);
  });

  it("refuses a name when only one of its addresses is private, wherever it is in the answer", async () => {
    const dns = resolver({
      "last.example.test": ["93.184.216.34", "2606:4700::1111", "10.0.0.7"],
      "first.example.test": ["::ffff:127.0.0.1", "93.184.216.34"],
      "middle.example.test": ["93.184.216.34", "169.254.169.254", "93.184.216.35"],
    });
    for (const host of ["last.example.test", "first.example.test", "middle.example.test"]) {
      expect(await checkHost(host, PRODUCTION, dns), host).toHaveProperty("refused");
    }
  });

  it("refuses a name that does not resolve, or resolves to nothing", async () => {
    expect(await checkHost("nowhere.example.test", PRODUCTION, noDns)).toEqual({ refused: expect.stringMatching(/does not resolve/) });
    expect(await checkHost("empty.example.test", PRODUCTION, resolver({ "empty.example.test": [] }))).toEqual({ refused: expect.stringMatching(/does not resolve/) });
  });

  it("refuses numeric spellings of loopback the system resolver reads as 127.0.0.1", async () => {
    // getaddrinfo accepts inet_aton forms: a decimal number, a short dotted form, hex parts.
    for (const host of ["2130706433", "127.1", "0x7f.1", "0"]) {
      expect(await checkHost(host, PRODUCTION), host).toHaveProperty("refused");
    }
  });

  it("allows public addresses and answers the address it checked", async () => {
    for (const host of ["93.184.216.34", "8.8.8.8", "172.32.0.1", "11.0.0.1", "2606:4700::1111"]) {
      expect(await checkHost(host, PRODUCTION, noDns), host).toEqual({ address: host });
    }
  });

  it("allows a public name and answers its checked address, so the driver connects to what was checked", async () => {
    const dns = resolver({ "db.example.test": ["93.184.216.34", "93.184.216.35"] });
    expect(await checkHost("db.example.test", PRODUCTION, dns)).toEqual({ address: "93.184.216.34" });
    expect(dns.asked).toEqual(["db.example.test"]);
  });
});

describe("checkHost allow-list", () => {
  it("allows an allow-listed address, and only that one", async () => {
    const policy = { allowPrivateHosts: false, allowlist: ["127.0.0.1"] };
    expect(await checkHost("127.0.0.1", policy, noDns)).toEqual({ address: "127.0.0.1" });
    expect(await checkHost("127.0.0.2", policy, noDns)).toHaveProperty("refused");
    expect(await checkHost("10.0.0.1", policy, noDns)).toHaveProperty("refused");
  });

  it("allows addresses in an allow-listed CIDR range (IPv4 and IPv6)", async () => {
    const policy = { allowPrivateHosts: false, allowlist: ["10.0.0.0/8", "fd00::/8"] };
    expect(await checkHost("10.20.30.40", policy, noDns)).toEqual({ address: "10.20.30.40" });
    expect(await checkHost("fd12::1", policy, noDns)).toEqual({ address: "fd12::1" });
    expect(await checkHost("192.168.0.1", policy, noDns)).toHaveProperty("refused");
    expect(await checkHost("169.254.169.254", policy, noDns)).toHaveProperty("refused");
  });

  it("a name resolving into an allow-listed range is allowed unless another of its addresses is private", async () => {
    const policy = { allowPrivateHosts: false, allowlist: ["10.0.0.0/8"] };
    const dns = resolver({ "db.corp.test": ["10.0.0.5"], "mixed.corp.test": ["10.0.0.5", "169.254.169.254"] });
    expect(await checkHost("db.corp.test", policy, dns)).toEqual({ address: "10.0.0.5" });
    expect(await checkHost("mixed.corp.test", policy, dns)).toEqual({ refused: expect.stringContaining("169.254.169.254") });
  });

  it("allows an allow-listed host name (case-insensitive), even localhost", async () => {
    const policy = { allowPrivateHosts: false, allowlist: ["DB.Internal", "localhost"] };
    const dns = resolver({ "db.internal": ["10.0.0.9"] });
    expect(await checkHost("db.internal", policy, dns)).toHaveProperty("address");
    expect(await checkHost("localhost", policy, dns)).toHaveProperty("address");
    expect(await checkHost("other.internal", policy, resolver({ "other.internal": ["10.0.0.9"] }))).toHaveProperty("refused");
  });

  it("with private hosts allowed (development) nothing is refused or resolved", async () => {
    const policy = { allowPrivateHosts: true, allowlist: [] };
    const dns = resolver({});
    for (const host of ["127.0.0.1", "localhost", "169.254.169.254", "metadata.google.internal", "db.example.test"]) {
      expect(await checkHost(host, policy, dns), host).toEqual({ address: host });
    }
    expect(dns.asked).toEqual([]);
  });
});

describe("confineSqlitePath", () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "sqlstudio-confine-")));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, "sqlite");
  const outside = join(root, "outside");
  mkdirSync(join(dir, "sub", "deeper"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, "secret.db"), "");
  writeFileSync(join(dir, "sub", "present.db"), "");
  symlinkSync(join(outside, "secret.db"), join(dir, "link.db"));
  symlinkSync(outside, join(dir, "linkdir"));
  symlinkSync(join(outside, "created-by-sqlite.db"), join(dir, "dangling.db"));
  symlinkSync(join(dir, "sub", "present.db"), join(dir, "inner-link.db"));
  symlinkSync(dir, join(root, "dir-via-link"));

  it.each([
    ["a.db", "a.db"],
    ["sub/b.db", "sub/b.db"],
    ["sub/deeper/c.db", "sub/deeper/c.db"],
    ["sub/present.db", "sub/present.db"],
    ["./sub/../d.db", "d.db"],
    ["inner-link.db", "sub/present.db"],
  ])("allows %s inside the directory", (path, inside) => {
    expect(confineSqlitePath(dir, path)).toEqual({ path: join(dir, inside) });
  });

  it("allows an absolute path inside the directory", () => {
    expect(confineSqlitePath(dir, join(dir, "sub", "e.db"))).toEqual({ path: join(dir, "sub", "e.db") });
  });

  it("answers the real path when the directory itself is reached through a symlink", () => {
    expect(confineSqlitePath(join(root, "dir-via-link"), "sub/f.db")).toEqual({ path: join(dir, "sub", "f.db") });
  });

  it.each([
    ["../x.db"],
    ["sub/../../x.db"],
    ["../outside/secret.db"],
    ["/etc/passwd"],
    ["/tmp/x.db"],
    [join(root, "outside", "secret.db")],
    [join(root, "sqlite-sibling.db")],
    ["link.db"],
    ["linkdir/secret.db"],
    ["linkdir/new.db"],
    ["dangling.db"],
    ["file:a.db"],
    ["file:///etc/passwd"],
    ["file:a.db?mode=memory"],
    ["a.db?mode=ro"],
    [":memory:"],
    [""],
    ["."],
    [dir],
    ["a\0.db"],
    ["missing-folder/x.db"],
  ])("refuses %j", (path) => {
    expect(confineSqlitePath(dir, path)).toHaveProperty("refused");
  });

  it("refuses everything when no directory is configured or it does not exist", () => {
    expect(confineSqlitePath(undefined, "a.db")).toEqual({ refused: expect.stringMatching(/ENGINE_SQLITE_DIR/) });
    expect(confineSqlitePath(join(root, "no-such-dir"), "a.db")).toHaveProperty("refused");
  });
});

describe("checkHost decodes IPv6 forms that embed an IPv4 address (issue 17.11)", () => {
  it.each([
    ["::ffff:0:7f00:1", "IPv4-translated 127.0.0.1"],
    ["::ffff:0:a9fe:a9fe", "IPv4-translated 169.254.169.254"],
    ["::127.0.0.1", "IPv4-compatible 127.0.0.1"],
    ["::7f00:1", "IPv4-compatible 127.0.0.1, hex"],
    ["::10.0.0.1", "IPv4-compatible 10.0.0.1"],
    ["2002:7f00:1::", "6to4 of 127.0.0.1"],
    ["2002:a9fe:a9fe::1", "6to4 of 169.254.169.254"],
    ["2002:c0a8:101::", "6to4 of 192.168.1.1"],
    ["64:ff9b::7f00:1", "NAT64 of 127.0.0.1"],
    ["64:ff9b::10.0.0.1", "NAT64 of 10.0.0.1"],
    ["64:ff9b:1::a9fe:a9fe", "local NAT64 /96 of 169.254.169.254"],
    ["64:ff9b:1:a9fe:a9:fe00::", "local NAT64 /48 layout of 169.254.169.254"],
    ["2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo, client 127.0.0.1 (inverted)"],
    ["2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo, client 10.0.0.1 (inverted)"],
    ["2001:0:7f00:1:8000:63bf:3fff:fdd2", "Teredo, server 127.0.0.1"],
  ])("refuses %s (%s)", async (host) => {
    const r = await checkHost(host, PRODUCTION, noDns);
    expect(r).toEqual({ refused: expect.stringContaining(host) });
  });

  it.each([
    ["2002:808:808::1", "6to4 of 8.8.8.8"],
    ["64:ff9b::808:808", "NAT64 of 8.8.8.8"],
    ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo, client 8.8.8.8"],
    ["2606:4700:4700::1111", "a public IPv6 address"],
  ])("accepts %s (%s)", async (host) => {
    expect(await checkHost(host, PRODUCTION, noDns)).toEqual({ address: host });
  });

  it("judges an embedded address a name resolves to", async () => {
    const dns = resolver({ "db.example.com": ["2002:7f00:1::1"] });
    expect(await checkHost("db.example.com", PRODUCTION, dns)).toEqual({ refused: expect.stringContaining("127.0.0.1") });
  });
});
