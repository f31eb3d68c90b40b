import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let metricsText: string;
const sessions: Http2SessionManager[] = [];

beforeAll(async () => {
  server = await startTestServer();
  const h2 = (url: string) => {
    const m = new Http2SessionManager(url);
    sessions.push(m);
    return m;
  };
  const connect = createClient(Health, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
  const connectH2 = createClient(Health, createConnectTransport({ baseUrl: server.url, httpVersion: "2", sessionManager: h2(server.url) }));
  const grpc = createClient(Health, createGrpcTransport({ baseUrl: server.url, sessionManager: h2(server.url) }));
  const grpcWeb = createClient(Health, createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }));
  await connect.check({});
  await connect.check({});
  await connectH2.check({});
  await grpc.check({});
  await grpcWeb.check({});
  await expect(grpc.check({ service: "no.such.Service" })).rejects.toThrow(/not found/);
  await expect(connect.check({ service: "no.such.Service" })).rejects.toThrow(/not found/);
  metricsText = await (await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).text();
});
afterAll(async () => {
  for (const s of sessions) s.abort();
  await server?.stop();
});

/** The value of one sample line, e.g. sample('rpc_requests_total', {code: "ok", ...}). */
function sample(name: string, labels: Record<string, string>): number | undefined {
  for (const line of metricsText.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const check = (protocol: string, code = "ok") => ({ service: "grpc.health.v1.Health", method: "Check", protocol, code });

describe("metrics port", () => {
  it("counts RPCs by service, method, protocol and code", () => {
    expect(sample("rpc_requests_total", check("connect"))).toBe(3); // two over HTTP/1.1, one over h2c
    expect(sample("rpc_requests_total", check("grpc"))).toBe(1);
    expect(sample("rpc_requests_total", check("grpc-web"))).toBe(1);
    expect(sample("rpc_requests_total", check("grpc", "not_found"))).toBe(1);
    expect(sample("rpc_requests_total", check("connect", "not_found"))).toBe(1);
  });

  it("records latency histograms with the same labels", () => {
    expect(metricsText).toContain("# TYPE rpc_duration_seconds histogram");
    expect(sample("rpc_duration_seconds_count", check("grpc"))).toBe(1);
    expect(sample("rpc_duration_seconds_count", check("connect"))).toBe(3);
    expect(sample("rpc_duration_seconds_bucket", { ...check("connect"), le: "+Inf" })).toBe(3);
    expect(sample("rpc_duration_seconds_sum", check("grpc"))).toBeGreaterThan(0);
  });

  it("shows in-flight RPCs back at zero", () => {
    expect(metricsText).toContain("# TYPE rpc_in_flight gauge");
    expect(sample("rpc_in_flight", { service: "grpc.health.v1.Health", method: "Check", protocol: "grpc" })).toBe(0);
  });

  it("exports the process defaults", () => {
    for (const name of ["process_cpu_user_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]) {
      expect(sample(name, {}), name).toBeGreaterThanOrEqual(0);
    }
  });

  it("serves Prometheus text format, and nothing but /metrics", async () => {
    const res = await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    await res.text();
    expect((await fetch(`http://127.0.0.1:${server.ports.metrics}/`)).status).toBe(404);
  });

  it("is not served on the public API port", async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("rpc_requests_total");
  });
});
