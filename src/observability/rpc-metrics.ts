import type { Registry } from "prom-client";

/**
 * The per-RPC metrics (`rpc_requests_total`, `rpc_duration_seconds`, `rpc_in_flight`), counted in
 * plain numbers of one object per method and protocol and turned into Prometheus samples only when
 * scraped. prom-client's own Counter, Histogram and Gauge hash the label set on every `inc` and
 * `observe` (their `labels()` children too): four of those per RPC cost about 16–26 µs
 * (docs/benchmarks.md), here a call costs one Map lookup. The samples are the ones prom-client's
 * classes write (same names, labels, buckets, order), registered on the same registry.
 */

export const RPC_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Labels = Record<string, string | number>;

/** One completed-call tally: by Connect code. */
interface Outcome {
  count: number;
  sum: number;
  /** Calls per bucket (not cumulative); the last slot is above the largest bound. */
  buckets: Float64Array;
}

/** The calls of one method over one protocol. */
export class RpcSeries {
  inFlight = 0;
  readonly outcomes = new Map<string, Outcome>();

  constructor(readonly labels: { service: string; method: string; protocol: string }) {}

  begin(): void {
    this.inFlight++;
  }

  /** The call ended with `code` ("ok", "not_found", …) after `seconds`. */
  end(code: string, seconds: number): void {
    this.inFlight--;
    let o = this.outcomes.get(code);
    if (!o) this.outcomes.set(code, (o = { count: 0, sum: 0, buckets: new Float64Array(RPC_DURATION_BUCKETS.length + 1) }));
    o.count++;
    o.sum += seconds;
    let i = 0;
    // A bucket counts values up to and including its bound (Prometheus's `le`).
    while (i < RPC_DURATION_BUCKETS.length && seconds > RPC_DURATION_BUCKETS[i]!) i++;
    o.buckets[i]!++;
  }
}

/** A sample in the shape prom-client's registry formats (`labels` first, then the series' labels). */
interface Sample {
  value: number;
  labels: Labels;
  sharedLabels?: Labels;
  metricName?: string;
}

interface MetricLike {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  aggregator: "sum";
  getForPromString(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }>;
  get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }>;
  reset(): void;
}

/** A method as Connect describes it (DescMethod): its name and its service's. */
interface MethodLike {
  readonly name: string;
  readonly parent: { readonly typeName: string };
}

export class RpcMetrics {
  private readonly series = new Map<string, RpcSeries>();
  /** The series of a method by protocol, found from the method's descriptor (no string built per call). */
  private byMethod = new WeakMap<MethodLike, Map<string, RpcSeries>>();

  /** The series of one method and protocol (made on its first call). */
  of(service: string, method: string, protocol: string): RpcSeries {
    const key = `${service}/${method} ${protocol}`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new RpcSeries({ service, method, protocol })));
    return s;
  }

  /** The same, from the method's descriptor. */
  ofMethod(method: MethodLike, protocol: string): RpcSeries {
    let byProtocol = this.byMethod.get(method);
    if (!byProtocol) this.byMethod.set(method, (byProtocol = new Map()));
    let s = byProtocol.get(protocol);
    if (!s) byProtocol.set(protocol, (s = this.of(method.parent.typeName, method.name, protocol)));
    return s;
  }

  /** Registers the three metrics on `registry`. */
  register(registry: Registry): this {
    const all = () => [...this.series.values()];
    const withCode = (s: RpcSeries, code: string): Labels => ({ ...s.labels, code });
    const metric = (name: string, help: string, type: MetricLike["type"], values: () => Sample[]): MetricLike => {
      const data = async () => ({ name, help, type, values: values(), aggregator: "sum" });
      return {
        name,
        help,
        type,
        aggregator: "sum",
        getForPromString: data,
        // prom-client's get() (JSON, cluster aggregation) has the series' labels merged in.
        get: async () => {
          const d = await data();
          d.values = d.values.map(({ sharedLabels, ...v }) => ({ ...v, labels: { ...v.labels, ...sharedLabels } }));
          return d;
        },
        reset: () => {
          this.series.clear();
          this.byMethod = new WeakMap();
        },
      };
    };
    const metrics = [
      metric("rpc_requests_total", "RPCs completed, by service, method, protocol and Connect code.", "counter", () =>
        all().flatMap((s) => [...s.outcomes].map(([code, o]) => ({ value: o.count, labels: withCode(s, code) }))),
      ),
      metric("rpc_duration_seconds", "RPC latency (for streams: until the stream ends).", "histogram", () =>
        all().flatMap((s) =>
          [...s.outcomes].flatMap(([code, o]) => {
            const shared = withCode(s, code);
            const name = "rpc_duration_seconds";
            let acc = 0;
            const out: Sample[] = RPC_DURATION_BUCKETS.map((le, i) => ({ value: (acc += o.buckets[i]!), labels: { le }, sharedLabels: shared, metricName: `${name}_bucket` }));
            out.push(
              { value: o.count, labels: { le: "+Inf" }, sharedLabels: shared, metricName: `${name}_bucket` },
              { value: o.sum, labels: {}, sharedLabels: shared, metricName: `${name}_sum` },
              { value: o.count, labels: {}, sharedLabels: shared, metricName: `${name}_count` },
            );
            return out;
          }),
        ),
      ),
      metric("rpc_in_flight", "RPCs in progress, by service, method and protocol.", "gauge", () => all().map((s) => ({ value: s.inFlight, labels: { ...s.labels } }))),
    ];
    for (const m of metrics) registry.registerMetric(m as never);
    return this;
  }
}
