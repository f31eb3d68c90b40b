/**
 * The load generator for the transport benchmarks. It runs in a child process so that the
 * server under test has a core and an event loop of its own, and it speaks the wire formats
 * with bare node:http / node:http2 (no client library) so that its cost is small and the same
 * for our server and for the reference.
 */
import http from "node:http";
import http2 from "node:http2";
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const TSX_LOADER = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

export interface LoadSpec {
  /** "h1": HTTP/1.1 keep-alive; "h2": cleartext HTTP/2 (prior knowledge). */
  transport: "h1" | "h2";
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** Expect a gRPC response: grpc-status 0 in the trailers. */
  grpc: boolean;
  /** The response body must contain these bytes (a cheap check that the answer is right). */
  expect: Uint8Array;
  requests: number;
  concurrency: number;
  /** HTTP/2 connections the streams are spread over. */
  sessions?: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** This process's CPU time per request, µs. */
  clientCpuUs: number;
}

type Reply = { ok: true; result: LoadResult } | { ok: false; error: string };

/** A load generator process; runs one bounded load at a time. */
export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<LoadGenerator> {
    const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ["--import", TSX_LOADER], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`load generator exited with ${code}`)));
    });
    return new LoadGenerator(child);
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      this.child.once("message", (m: Reply) => (m.ok ? resolve(m.result) : reject(new Error(m.error))));
      this.child.send(spec);
    });
  }

  close(): void {
    this.child.disconnect();
  }
}

function contains(haystack: Buffer, needle: Uint8Array): boolean {
  return needle.length === 0 || haystack.indexOf(needle) >= 0;
}

async function generate(spec: LoadSpec): Promise<LoadResult> {
  const body = Buffer.from(spec.body);
  const lat = new Float64Array(spec.requests);
  let issued = 0;
  let done = 0;
  let oneRequest: () => Promise<void>;
  let close: () => void;

  if (spec.transport === "h1") {
    const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
    const url = new URL(spec.path, spec.origin);
    const headers = { ...spec.headers, "content-length": String(body.length) };
    oneRequest = () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(url, { method: "POST", agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("end", () => {
            const got = Buffer.concat(chunks);
            if (res.statusCode !== 200 || !contains(got, spec.expect)) reject(new Error(`HTTP ${res.statusCode}: ${got.toString().slice(0, 200)}`));
            else resolve();
          });
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end(body);
      });
    close = () => agent.destroy();
  } else {
    const sessions = Array.from({ length: spec.sessions ?? 2 }, () => {
      const s = http2.connect(spec.origin);
      s.on("error", () => {});
      return s;
    });
    let turn = 0;
    const headers = { ":method": "POST", ":path": spec.path, ...spec.headers };
    oneRequest = () =>
      new Promise<void>((resolve, reject) => {
        const stream = sessions[turn++ % sessions.length]!.request(headers);
        const chunks: Buffer[] = [];
        let status = 0;
        let grpcStatus: string | undefined;
        stream.on("response", (h) => {
          status = Number(h[":status"]);
          if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
        });
        stream.on("trailers", (t) => (grpcStatus = String(t["grpc-status"])));
        stream.on("data", (d: Buffer) => chunks.push(d));
        stream.on("end", () => {
          const got = Buffer.concat(chunks);
          if (status !== 200 || (spec.grpc && grpcStatus !== "0") || !contains(got, spec.expect)) {
            reject(new Error(`HTTP ${status} grpc-status ${grpcStatus}: ${got.toString().slice(0, 200)}`));
          } else resolve();
        });
        stream.on("error", reject);
        stream.end(body);
      });
    close = () => sessions.forEach((s) => s.close());
  }

  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (issued < spec.requests) {
        const i = issued++;
        const t0 = performance.now();
        await oneRequest();
        lat[i] = performance.now() - t0;
        done++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  close();
  lat.sort();
  const pct = (p: number) => lat[Math.min(done - 1, Math.floor(p * done))]!;
  return { requests: done, seconds, rps: done / seconds, p50: pct(0.5), p99: pct(0.99), clientCpuUs: (cpu.user + cpu.system) / done };
}

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.on("message", (spec: LoadSpec) => {
    spec.body = Uint8Array.from(Object.values(spec.body));
    spec.expect = Uint8Array.from(Object.values(spec.expect));
    generate(spec).then(
      (result) => process.send!({ ok: true, result } satisfies Reply),
      (e: unknown) => process.send!({ ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Reply),
    );
  });
  process.send("ready");
}
