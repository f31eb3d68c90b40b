/**
 * Transport benchmarks (DESIGN.md §10): Health.Check through our server — Connect JSON over
 * HTTP/1.1, Connect binary over h2c, gRPC over h2c, gRPC-Web binary over HTTP/1.1 — each as a ratio against a reference measured
 * in the same run: a bare Fastify JSON route doing the same work on the same Fastify instance and
 * port (so it also passes our onRequest hook), and an @grpc/grpc-js server answering the same RPC.
 * The servers run in this process; the load generator in a child process (loadgen.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../gen/grpc/health/v1/health_pb.js";
import { loadConfig } from "../../src/config/load.js";
import { HealthState } from "../../src/health/state.js";
import { createLogger, logDestination } from "../../src/observability/logger.js";
import { buildFeatures } from "../../src/features.js";
import { startServer, type RunningServer } from "../../src/server/lifecycle.js";
import { testEnv } from "../support/server.js";
import type { LoadGenerator, LoadResult, LoadSpec } from "./loadgen.js";

const CHECK = "/grpc.health.v1.Health/Check";
const BARE = "/bench/check";
const enc = (s: string) => new TextEncoder().encode(s);
/** HealthCheckResponse{status: SERVING} on the wire: field 1, varint 1. */
const SERVING_PB = Uint8Array.of(0x08, 0x01);

/** The reference route: the same lookup as Health.Check, answered as Connect JSON would be. */
function bareRoutes(state: HealthState) {
  return (fastify: FastifyInstance) => {
    fastify.post(BARE, async (req, reply) => {
      const service = (req.body as { service?: string } | undefined)?.service ?? "";
      const status = state.get(service);
      if (status === undefined) return reply.code(404).send({ code: "not_found" });
      return { status: Status[status] };
    });
  };
}

export interface BenchServers {
  ours: RunningServer;
  origin: string;
  grpcOrigin: string;
  close(): Promise<void>;
}

/** Our server (production code path, info-level logging to /dev/null) plus a grpc-js reference. */
export async function startBenchServers(): Promise<BenchServers> {
  const dir = mkdtempSync(join(tmpdir(), "sqlstudio-bench-"));
  const env: Record<string, string | undefined> = { ...testEnv(dir, { LOG_LEVEL: "info", JWT_SECRET: "bench-secret-bench-secret-bench-secret!" }) };
  delete env.CONFIG_FILE;
  const config = loadConfig(env, join(dir, "none.yaml"));
  // As in production: one JSON line per RPC, through the production destination (logDestination: a
  // synchronous write per event-loop turn), here to /dev/null.
  const logger = createLogger({ level: "info", pretty: false }, logDestination("/dev/null"));
  const ours = await startServer(config, { logger, features: buildFeatures, jobs: false, routes: bareRoutes(new HealthState([])) });

  const state = new HealthState([]);
  const server = new grpc.Server();
  server.addService(
    {
      check: {
        path: CHECK,
        requestStream: false,
        responseStream: false,
        requestSerialize: (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
        requestDeserialize: (b: Buffer) => fromBinary(HealthCheckRequestSchema, b),
        responseSerialize: (m: HealthCheckResponse) => Buffer.from(toBinary(HealthCheckResponseSchema, m)),
        responseDeserialize: (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
      },
    },
    {
      check: (call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: grpc.sendUnaryData<HealthCheckResponse>) => {
        const status = state.get(call.request.service);
        if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: "unknown service" });
        else callback(null, create(HealthCheckResponseSchema, { status }));
      },
    },
  );
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  return {
    ours,
    origin: `http://127.0.0.1:${ours.ports.api}`,
    grpcOrigin: `http://127.0.0.1:${grpcPort}`,
    async close() {
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      await ours.shutdown("bench");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Wire = Omit<LoadSpec, "requests" | "concurrency">;

export const specs = {
  connectJsonH1: (origin: string): Wire => ({
    transport: "h1",
    origin,
    path: CHECK,
    headers: { "content-type": "application/json", "connect-protocol-version": "1" },
    body: enc("{}"),
    grpc: false,
    expect: enc('"SERVING"'),
  }),
  bareH1: (origin: string): Wire => ({ transport: "h1", origin, path: BARE, headers: { "content-type": "application/json" }, body: enc("{}"), grpc: false, expect: enc('"SERVING"') }),
  connectBinaryH2: (origin: string): Wire => ({
    transport: "h2",
    origin,
    path: CHECK,
    headers: { "content-type": "application/proto", "connect-protocol-version": "1" },
    body: new Uint8Array(0),
    grpc: false,
    expect: SERVING_PB,
  }),
  bareH2: (origin: string): Wire => ({ transport: "h2", origin, path: BARE, headers: { "content-type": "application/json" }, body: enc("{}"), grpc: false, expect: enc('"SERVING"') }),
  // An empty HealthCheckRequest in a gRPC envelope: flags 0, length 0.
  grpcH2: (origin: string): Wire => ({
    transport: "h2",
    origin,
    path: CHECK,
    headers: { "content-type": "application/grpc", te: "trailers" },
    body: new Uint8Array(5),
    grpc: true,
    expect: SERVING_PB,
  }),
  // gRPC-Web binary over HTTP/1.1 (what browsers send): the answer holds the message envelope, then the trailers.
  grpcWebH1: (origin: string): Wire => ({
    transport: "h1",
    origin,
    path: CHECK,
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
    body: new Uint8Array(5),
    grpc: false,
    expect: Uint8Array.of(0, 0, 0, 0, SERVING_PB.length, ...SERVING_PB),
  }),
};

export interface Side {
  rps: number;
  p50: number;
  p99: number;
  /** CPU time of the server process (all threads) per request, µs. */
  cpuUs: number;
  /** CPU time of the load generator per request, µs. */
  clientCpuUs: number;
}

export interface Row {
  scenario: string;
  reference: string;
  ours: Side;
  ref: Side;
  /** Median over the rounds of ours / reference req/s. */
  ratio: number;
  ratios: number[];
  /** Reference server CPU per request / ours. */
  cpuRatio: number;
}

export interface TransportOptions {
  loadgen: LoadGenerator;
  requests: number;
  concurrency: number;
  warmup: number;
  /** Rounds of reference-then-ours; each side gets requests / rounds per round. */
  rounds?: number;
  log?: (line: string) => void;
}

type Measured = LoadResult & { cpuUs: number };

/** Warm-up, then rounds of reference-then-ours (drift of the machine hits both alike). */
async function compare(scenario: string, reference: string, ours: Wire, ref: Wire, o: TransportOptions): Promise<Row> {
  const load = async (side: Wire, requests: number): Promise<Measured> => {
    const before = process.cpuUsage();
    const r = await o.loadgen.run({ ...side, requests, concurrency: o.concurrency });
    const cpu = process.cpuUsage(before);
    return { ...r, cpuUs: (cpu.user + cpu.system) / r.requests };
  };
  await load(ours, o.warmup);
  await load(ref, o.warmup);
  const rounds = o.rounds ?? 4;
  const per = Math.floor(o.requests / rounds);
  const parts: { ours: Measured[]; ref: Measured[] } = { ours: [], ref: [] };
  for (let i = 0; i < rounds; i++) {
    parts.ref.push(await load(ref, per));
    parts.ours.push(await load(ours, per));
  }
  const merge = (rs: Measured[]): Side => {
    const requests = rs.reduce((a, r) => a + r.requests, 0);
    const seconds = rs.reduce((a, r) => a + r.seconds, 0);
    const avg = (k: "p50" | "p99" | "cpuUs" | "clientCpuUs") => rs.reduce((a, r) => a + r[k], 0) / rs.length;
    return { rps: requests / seconds, p50: avg("p50"), p99: avg("p99"), cpuUs: avg("cpuUs"), clientCpuUs: avg("clientCpuUs") };
  };
  const ratios = parts.ours.map((r, i) => r.rps / parts.ref[i]!.rps).sort((a, b) => a - b);
  const median = ratios.length % 2 ? ratios[(ratios.length - 1) / 2]! : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2;
  const row: Row = { scenario, reference, ours: merge(parts.ours), ref: merge(parts.ref), ratio: median, ratios, cpuRatio: 0 };
  row.cpuRatio = row.ref.cpuUs / row.ours.cpuUs;
  o.log?.(
    `${scenario} vs ${reference}: ours ${row.ours.rps.toFixed(0)} req/s (${row.ours.cpuUs.toFixed(0)} µs CPU), ` +
      `reference ${row.ref.rps.toFixed(0)} req/s (${row.ref.cpuUs.toFixed(0)} µs CPU), ratio ${row.ratio.toFixed(2)} [${ratios.map((r) => r.toFixed(2)).join(", ")}], CPU ratio ${row.cpuRatio.toFixed(2)}`,
  );
  return row;
}

export async function transportBench(servers: BenchServers, o: TransportOptions): Promise<Row[]> {
  const { origin, grpcOrigin } = servers;
  return [
    await compare("Connect JSON, HTTP/1.1", "bare Fastify route, HTTP/1.1", specs.connectJsonH1(origin), specs.bareH1(origin), o),
    await compare("Connect binary, h2c", "bare Fastify route, h2c", specs.connectBinaryH2(origin), specs.bareH2(origin), o),
    await compare("gRPC, h2c", "bare Fastify route, h2c", specs.grpcH2(origin), specs.bareH2(origin), o),
    await compare("gRPC, h2c", "@grpc/grpc-js server", specs.grpcH2(origin), specs.grpcH2(grpcOrigin), o),
    await compare("gRPC-Web binary, HTTP/1.1", "bare Fastify route, HTTP/1.1", specs.grpcWebH1(origin), specs.bareH1(origin), o),
  ];
}

export function transportTable(rows: Row[], o: TransportOptions): string {
  const f = (n: number, d = 0) => n.toFixed(d);
  const rounds = o.rounds ?? 4;
  return [
    `Health.Check, ${o.requests} requests per side after ${o.warmup} warm-up, concurrency ${o.concurrency}` +
      ` (HTTP/1.1: that many keep-alive connections; h2c: 2 connections), in ${rounds} rounds of reference then ours.` +
      " **ratio**: ours / reference req/s, median of the rounds (range in brackets). **CPU ratio**: reference / ours server CPU per request" +
      " (process.cpuUsage of the server process over the same loads) — less sensitive to the client and to other work on the machine.",
    "",
    "| scenario | reference | ours req/s | ours p50 / p99 ms | ours CPU µs/req | reference req/s | reference p50 / p99 ms | reference CPU µs/req | ratio | CPU ratio |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.reference} | ${f(r.ours.rps)} | ${f(r.ours.p50, 2)} / ${f(r.ours.p99, 2)} | ${f(r.ours.cpuUs)} | ` +
        `${f(r.ref.rps)} | ${f(r.ref.p50, 2)} / ${f(r.ref.p99, 2)} | ${f(r.ref.cpuUs)} | **${f(r.ratio, 2)}** [${f(r.ratios[0]!, 2)}–${f(r.ratios[r.ratios.length - 1]!, 2)}] | **${f(r.cpuRatio, 2)}** |`,
    ),
    "",
    `Load generator CPU per request (same client code for both sides): ${rows.map((r) => `${r.scenario} vs ${r.reference}: ${f(r.ours.clientCpuUs)} / ${f(r.ref.clientCpuUs)} µs`).join("; ")} (ours / reference).`,
    "",
  ].join("\n");
}
