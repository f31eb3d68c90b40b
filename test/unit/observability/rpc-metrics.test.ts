import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { RPC_DURATION_BUCKETS, RpcMetrics } from "../../../src/observability/rpc-metrics.js";

/** What prom-client's own classes export for the same calls: the reference the samples must equal. */
function promClient() {
  const registry = new Registry();
  const labelNames = ["service", "method", "protocol", "code"] as const;
  const total = new Counter({ name: "rpc_requests_total", help: "RPCs completed, by service, method, protocol and Connect code.", labelNames, registers: [registry] });
  const duration = new Histogram({ name: "rpc_duration_seconds", help: "RPC latency (for streams: until the stream ends).", labelNames, buckets: RPC_DURATION_BUCKETS, registers: [registry] });
  const inFlight = new Gauge({ name: "rpc_in_flight", help: "RPCs in progress, by service, method and protocol.", labelNames: ["service", "method", "protocol"] as const, registers: [registry] });
  return {
    registry,
    begin: (l: { service: string; method: string; protocol: string }) => inFlight.inc(l),
    end: (l: { service: string; method: string; protocol: string }, code: string, s: number) => {
      inFlight.dec(l);
      total.inc({ ...l, code });
      duration.observe({ ...l, code }, s);
    },
  };
}

describe("RpcMetrics", () => {
  it("exports exactly what prom-client's Counter, Histogram and Gauge export for the same calls", async () => {
    const ref = promClient();
    const registry = new Registry();
    const ours = new RpcMetrics().register(registry);
    const calls: [string, string, string, string, number][] = [
      ["grpc.health.v1.Health", "Check", "connect", "ok", 0.0002],
      ["grpc.health.v1.Health", "Check", "connect", "ok", 0.0005], // on a bound: counted in it (le)
      ["grpc.health.v1.Health", "Check", "grpc", "not_found", 0.003],
      ["sqlstudio.auth.v1.AuthService", "Login", "grpc-web", "unauthenticated", 0.7],
      ["sqlstudio.auth.v1.AuthService", "Login", "grpc-web", "ok", 45], // above the largest bound
      ["grpc.health.v1.Health", "Check", "connect", "ok", 0.012],
    ];
    for (const [service, method, protocol, code, s] of calls) {
      const l = { service, method, protocol };
      ref.begin(l);
      const series = ours.of(service, method, protocol);
      series.begin();
      ref.end(l, code, s);
      series.end(code, s);
    }
    // One call still in flight.
    ref.begin({ service: "sqlstudio.sync.v1.SyncService", method: "Pull", protocol: "connect" });
    ours.of("sqlstudio.sync.v1.SyncService", "Pull", "connect").begin();

    const text = await registry.metrics();
    expect(text).toBe(await ref.registry.metrics());
    expect(text).toContain('rpc_duration_seconds_bucket{le="0.0005",service="grpc.health.v1.Health",method="Check",protocol="connect",code="ok"} 2');
    expect(text).toContain('rpc_in_flight{service="sqlstudio.sync.v1.SyncService",method="Pull",protocol="connect"} 1');
    // The JSON form too, but for prom-client's empty exemplar slots (`exemplar: null`).
    const plain = (j: unknown) => JSON.parse(JSON.stringify(j, (k, v: unknown) => (k === "exemplar" && v == null ? undefined : v)));
    expect(plain(await registry.getMetricsAsJSON())).toEqual(plain(await ref.registry.getMetricsAsJSON()));
  });

  it("finds one series per method and protocol, by names or by descriptor", () => {
    const m = new RpcMetrics();
    const desc = { name: "M", parent: { typeName: "a.S" } };
    expect(m.of("a.S", "M", "grpc")).toBe(m.of("a.S", "M", "grpc"));
    expect(m.of("a.S", "M", "grpc")).not.toBe(m.of("a.S", "M", "connect"));
    expect(m.ofMethod(desc, "grpc")).toBe(m.of("a.S", "M", "grpc"));
    expect(m.ofMethod(desc, "connect")).toBe(m.ofMethod(desc, "connect"));
    expect(m.ofMethod(desc, "connect")).not.toBe(m.ofMethod(desc, "grpc"));
  });
});
