/**
 * Sends the fuzz cases of cases.ts to a running server as raw HTTP (node:http for Connect and
 * gRPC-Web over HTTP/1.1, node:http2 for gRPC over h2c), so malformed bodies and frames really reach
 * it, and classifies every answer by its code. Cases are generated from the seed alone (never from
 * the answers), so `FUZZ_SEED=<seed>` replays the same requests in the same order.
 */
import http from "node:http";
import http2 from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import { ENVELOPE_MUTATIONS, JSON_MUTATIONS, PB_MUTATIONS, Rng, hex, path, validRequest, type Known } from "./cases.js";

export const PROTOCOLS = ["connect-json", "connect-proto", "connect-get", "grpc", "grpc-web"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

const GRPC_CODES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

/** Codes that say the server did not expect what happened: a bug to find, never an answer to bad input. */
export const BAD_CODES = new Set(["internal", "unknown", "data_loss", "http-500"]);

export interface FuzzCase {
  index: number;
  method: DescMethod;
  protocol: Protocol;
  mutation: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** For connect-get: the query string. */
  query?: string;
  withToken: boolean;
}

export interface Outcome {
  /** Code name ("invalid_argument", …), "http-<status>" when no code came, "reset", "hang". */
  code: string;
  ms: number;
  detail?: string;
}

export interface Failure {
  kind: "bad-code" | "hang";
  seed: number;
  index: number;
  method: string;
  protocol: Protocol;
  mutation: string;
  code: string;
  detail?: string;
  bytes: string;
}

export interface FuzzStats {
  seed: number;
  cases: number;
  sentByProtocol: Record<string, number>;
  byCode: Record<string, number>;
  byMutation: Record<string, number>;
  bad: number;
  hangs: number;
  resets: number;
  maxMs: number;
  maxCase?: string;
  /** The slowest cases, slowest first. */
  slowest: { ms: number; what: string }[];
  failures: Failure[];
  /** Distinct kinds of failure (protocol, code, the message without numbers) with a count. */
  kinds: Record<string, number>;
  methods: number;
  seconds: number;
}

const isStreaming = (m: DescMethod) => m.methodKind !== "unary";

const validCache = new Map<DescMethod, ReturnType<typeof validRequest>>();
let validCacheKnown: Known | undefined;

/** The i-th case of a seed: a method, a protocol and a mutation, with its exact bytes and headers. */
export function makeCase(seed: number, index: number, methods: DescMethod[], known: Known, big: number): FuzzCase {
  // One PRNG per case, from (seed, index): a case does not depend on the ones before it.
  const rng = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const method = methods[index % methods.length]!;
  const protocol = PROTOCOLS[Math.floor(index / methods.length) % PROTOCOLS.length]!;
  const isBig = rng.chance(big);
  let valid = validCache.get(method);
  if (!valid || validCacheKnown !== known) {
    if (validCacheKnown !== known) validCache.clear();
    validCacheKnown = known;
    validCache.set(method, (valid = validRequest(method, known)));
  }
  const headers: Record<string, string> = {};
  const withToken = rng.chance(0.9);
  const streaming = isStreaming(method);
  const json = protocol === "connect-json" || (protocol === "connect-get" && rng.chance(0.5));
  const pbNames = Object.keys(PB_MUTATIONS).filter((n) => isBig || !["hugeString"].includes(n) || rng.chance(0.3));
  const jsonNames = Object.keys(JSON_MUTATIONS);
  let mutation: string;
  let body: Uint8Array;
  if (json) {
    mutation = rng.pick(jsonNames);
    body = JSON_MUTATIONS[mutation]!(rng, method.input, valid.json, isBig);
  } else {
    mutation = rng.pick(pbNames);
    body = PB_MUTATIONS[mutation]!(rng, method.input, valid.binary, isBig);
  }
  mutation = `${json ? "json" : "pb"}:${mutation}${isBig ? "(big)" : ""}`;
  const enveloped = protocol === "grpc" || protocol === "grpc-web" || (streaming && (protocol === "connect-json" || protocol === "connect-proto"));
  if (protocol === "connect-get") {
    const params = new URLSearchParams({ connect: "v1", encoding: json ? "json" : "proto", base64: "1", message: Buffer.from(body).toString("base64url") });
    if (rng.chance(0.15)) params.set("encoding", rng.pick(["xml", "", "JSON"]));
    if (rng.chance(0.15)) params.set("compression", rng.pick(["gzip", "br", "identity"]));
    if (rng.chance(0.1)) params.set("base64", "0");
    if (rng.chance(0.1)) params.set("message", rng.pick(["%%%", "!!!", ""]));
    return { index, method, protocol, mutation, headers, body, query: params.toString(), withToken };
  }
  if (protocol === "connect-json" || protocol === "connect-proto") {
    const sub = protocol === "connect-json" ? "json" : "proto";
    headers["content-type"] = streaming ? `application/connect+${sub}` : `application/${sub}`;
    headers["connect-protocol-version"] = "1";
    headers["connect-timeout-ms"] = "3000";
    if (rng.chance(0.05)) headers["connect-protocol-version"] = rng.pick(["2", "", "x"]);
    // (A far deadline only for unary calls: a valid stream may rightly stay open until its deadline.)
    if (rng.chance(0.05)) headers["connect-timeout-ms"] = rng.pick(streaming ? ["-1", "abc", "0", ""] : ["-1", "99999999999999", "abc", "0"]);
    if (!streaming && rng.chance(0.05)) {
      headers["content-encoding"] = rng.pick(["gzip", "br", "deflate"]);
      mutation += "+content-encoding";
    }
  } else {
    headers["content-type"] = protocol === "grpc" ? rng.pick(["application/grpc", "application/grpc+proto"]) : "application/grpc-web+proto";
    headers["grpc-timeout"] = "3S";
    if (protocol === "grpc") headers.te = "trailers";
    if (rng.chance(0.05)) headers["grpc-timeout"] = rng.pick(streaming ? ["-1S", "1x", "", "100000000n"] : ["-1S", "999999999H", "1x", "", "100000000n"]);
  }
  if (enveloped) {
    const trailer = protocol === "grpc" || protocol === "grpc-web" ? 0x80 : 0x02;
    const env = rng.chance(0.35) ? rng.pick(Object.keys(ENVELOPE_MUTATIONS)) : "ok";
    // An envelope mutation carries the valid body half of the time, so it is the envelope that is wrong.
    const inner = env !== "ok" && rng.chance(0.5) ? (json ? Buffer.from(valid.json) : valid.binary) : body;
    const e = ENVELOPE_MUTATIONS[env]!(rng, inner, trailer);
    Object.assign(headers, e.headers);
    if (env !== "ok") mutation = `env:${env}/${inner === body ? mutation : "valid"}`;
    body = e.bytes;
  }
  return { index, method, protocol, mutation, headers, body, withToken };
}

// ── sending ────────────────────────────────────────────────────────────────

function codeOfJson(text: string, status: number): string {
  try {
    const j = JSON.parse(text) as { code?: string; error?: { code?: string } };
    const c = j.code ?? j.error?.code;
    if (c) return c;
  } catch {
    /* not JSON */
  }
  return status === 200 ? "ok" : `http-${status}`;
}

function* envelopes(b: Buffer): Generator<{ flags: number; data: Buffer }> {
  let i = 0;
  while (i + 5 <= b.length) {
    const len = b.readUInt32BE(i + 1);
    yield { flags: b[i]!, data: b.subarray(i + 5, i + 5 + len) };
    i += 5 + len;
  }
}

function grpcWebStatus(headers: http.IncomingHttpHeaders, body: Buffer, status: number): string {
  if (headers["grpc-status"] !== undefined) return GRPC_CODES[Number(headers["grpc-status"])] ?? `grpc-${headers["grpc-status"]}`;
  for (const e of envelopes(body)) {
    if (e.flags & 0x80) {
      const m = /grpc-status:\s*(\d+)/i.exec(e.data.toString());
      if (m) return GRPC_CODES[Number(m[1])] ?? `grpc-${m[1]}`;
    }
  }
  return status === 200 ? "no-status" : `http-${status}`;
}

function connectStreamStatus(body: Buffer, status: number): string {
  if (status !== 200) return codeOfJson(body.toString(), status);
  for (const e of envelopes(body)) if (e.flags & 0x02) return codeOfJson(e.data.toString(), 200);
  return "no-end-stream";
}

export interface Target {
  url: string;
  token: () => string;
  deadlineMs: number;
}

const SHARED_H2 = process.env.FUZZ_H2_SHARED === "1";

export class Sender {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private session?: http2.ClientHttp2Session;
  constructor(private readonly target: Target) {}

  close(): void {
    this.agent.destroy();
    this.session?.destroy();
  }

  /**
   * A connection of its own per gRPC case (as separate clients would), so a case that stalls its
   * connection is seen as itself and not as the cases sharing it. `FUZZ_H2_SHARED=1` sends all on
   * one connection instead.
   */
  private h2(): http2.ClientHttp2Session {
    if (!SHARED_H2) {
      const s = http2.connect(this.target.url);
      s.on("error", () => undefined);
      return s;
    }
    if (!this.session || this.session.closed || this.session.destroyed) {
      this.session = http2.connect(this.target.url);
      this.session.on("error", () => undefined);
    }
    return this.session;
  }

  send(c: FuzzCase): Promise<Outcome> {
    const started = performance.now();
    const headers: Record<string, string> = { ...c.headers, "x-forwarded-for": `10.9.${(c.index >> 8) & 255}.${(c.index & 255) || 1}` };
    if (c.withToken) headers.authorization = `Bearer ${this.target.token()}`;
    const streaming = isStreaming(c.method);
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let abort: () => void = () => undefined;
      const done = (code: string, detail?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ code, ms: performance.now() - started, detail });
      };
      const timer = setTimeout(() => {
        done("hang");
        abort();
      }, this.target.deadlineMs);

      if (c.protocol === "grpc") {
        let req: http2.ClientHttp2Stream;
        const session = this.h2();
        try {
          req = session.request({ ":method": "POST", ":path": path(c.method), ...headers });
        } catch (e) {
          session.destroy();
          return done("reset", String(e));
        }
        if (!SHARED_H2) req.once("close", () => session.close());
        abort = () => {
          req.close(http2.constants.NGHTTP2_CANCEL);
          if (!SHARED_H2) session.destroy();
        };
        let code: string | undefined;
        let status = 0;
        let detail: string | undefined;
        const take = (h: http2.IncomingHttpHeaders) => {
          if (h["grpc-status"] !== undefined) {
            code = GRPC_CODES[Number(h["grpc-status"])] ?? `grpc-${h["grpc-status"]}`;
            detail = h["grpc-message"] ? decodeURIComponent(String(h["grpc-message"])) : undefined;
          }
        };
        req.on("response", (h) => {
          status = Number(h[":status"]);
          take(h);
        });
        // A gRPC call ends with its trailers (END_STREAM from the server), as for any gRPC client;
        // the rest of a request body the server did not read is then cancelled.
        req.on("trailers", (h) => {
          take(h);
          done(code ?? "no-status", detail);
          if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
        });
        req.on("data", () => undefined);
        req.on("error", (e) => done(code ?? "reset", String(e)));
        req.on("close", () => done(code ?? (status && status !== 200 ? `http-${status}` : "reset"), detail));
        req.end(c.body);
        return;
      }

      const url = new URL(path(c.method) + (c.query ? `?${c.query}` : ""), this.target.url);
      const req = http.request(url, { method: c.query !== undefined ? "GET" : "POST", agent: this.agent, headers: c.query !== undefined ? { authorization: headers.authorization ?? "", "x-forwarded-for": headers["x-forwarded-for"]! } : headers });
      abort = () => req.destroy();
      req.on("error", (e) => done("reset", String(e)));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (d: Buffer) => {
          size += d.length;
          if (size < 8 << 20) chunks.push(d);
        });
        res.on("error", (e) => done("reset", String(e)));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status === 500) return done("http-500", body.toString().slice(0, 300));
          let code: string;
          if (c.protocol === "grpc-web") code = grpcWebStatus(res.headers, body, status);
          else if (streaming && c.query === undefined) code = connectStreamStatus(body, status);
          else code = codeOfJson(body.toString(), status);
          const text = body.subarray(0, 300).toString();
          done(code, code === "ok" ? undefined : text);
        });
      });
      if (c.query === undefined) req.end(c.body);
      else req.end();
    });
  }
}

// ── a run ──────────────────────────────────────────────────────────────────

export interface RunOptions {
  seed: number;
  methods: DescMethod[];
  known: Known;
  target: Target;
  /** Stop after this many cases, or when `untilMs` passes (whichever first). */
  cases: number;
  untilMs?: number;
  concurrency: number;
  /** Share of cases with huge inputs (MBs). */
  big: number;
  /** Called every `everyCases` cases (e.g. to check the server still answers, renew the token). */
  every?: { cases: number; fn: () => Promise<void> };
  log?: (line: string) => void;
}

/** `FUZZ_ONLY=2854,2916`: replay only these cases of the seed. */
const ONLY = process.env.FUZZ_ONLY ? new Set(process.env.FUZZ_ONLY.split(",").map(Number)) : undefined;

export async function runFuzz(o: RunOptions): Promise<FuzzStats> {
  const sender = new Sender(o.target);
  const stats: FuzzStats = {
    seed: o.seed,
    cases: 0,
    sentByProtocol: {},
    byCode: {},
    byMutation: {},
    bad: 0,
    hangs: 0,
    resets: 0,
    maxMs: 0,
    failures: [],
    kinds: {},
    slowest: [],
    methods: o.methods.length,
    seconds: 0,
  };
  const started = performance.now();
  let next = 0;
  let pausing: Promise<void> | undefined;
  const worker = async () => {
    for (;;) {
      if (pausing) await pausing;
      const i = next++;
      if (i >= o.cases || (o.untilMs !== undefined && Date.now() > o.untilMs)) return;
      if (o.every && i > 0 && i % o.every.cases === 0) {
        pausing = o.every.fn();
        await pausing;
        pausing = undefined;
      }
      if (ONLY && !ONLY.has(i)) continue;
      const c = makeCase(o.seed, i, o.methods, o.known, o.big);
      const r = await sender.send(c);
      stats.cases++;
      stats.sentByProtocol[c.protocol] = (stats.sentByProtocol[c.protocol] ?? 0) + 1;
      stats.byCode[r.code] = (stats.byCode[r.code] ?? 0) + 1;
      const mut = c.mutation.replace(/\(big\)|\+content-encoding/g, "").replace(/\/.*/, "");
      stats.byMutation[mut] = (stats.byMutation[mut] ?? 0) + 1;
      if (stats.slowest.length < 8 || r.ms > stats.slowest.at(-1)!.ms) {
        stats.slowest.push({ ms: Math.round(r.ms), what: `#${i} ${c.method.parent.name}/${c.method.name} ${c.protocol} ${c.mutation} → ${r.code}` });
        stats.slowest.sort((a, b) => b.ms - a.ms).splice(8);
      }
      if (r.ms > stats.maxMs) {
        stats.maxMs = r.ms;
        stats.maxCase = `#${i} ${c.method.parent.name}/${c.method.name} ${c.protocol} ${c.mutation} → ${r.code}`;
      }
      if (r.code === "reset") stats.resets++;
      if (r.code === "hang" || BAD_CODES.has(r.code)) {
        const f: Failure = {
          kind: r.code === "hang" ? "hang" : "bad-code",
          seed: o.seed,
          index: i,
          method: `${c.method.parent.typeName}/${c.method.name}`,
          protocol: c.protocol,
          mutation: c.mutation,
          code: r.code,
          detail: r.detail?.slice(0, 300),
          bytes: c.query ?? hex(c.body),
        };
        const kind = `${c.protocol} ${r.code} ${(r.detail ?? "").replace(/\d+/g, "N").slice(0, 120)}`;
        stats.kinds[kind] = (stats.kinds[kind] ?? 0) + 1;
        if (r.code === "hang") stats.hangs++;
        else stats.bad++;
        // Each kind printed once (with its bytes), the rest counted.
        if (stats.kinds[kind] === 1) {
          if (stats.failures.length < 50) stats.failures.push(f);
          o.log?.(`FAIL ${formatFailure(f)}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  sender.close();
  stats.seconds = (performance.now() - started) / 1000;
  return stats;
}

export function formatFailure(f: Failure): string {
  return `seed ${f.seed} case #${f.index}: ${f.method} over ${f.protocol}, ${f.mutation} → ${f.code}${f.detail ? ` (${f.detail})` : ""}\n  bytes: ${f.bytes}`;
}
