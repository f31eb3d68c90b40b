import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { Counter, Histogram, type Registry } from "prom-client";

/** The assistant's metrics, on the server's registry (the metrics port). */
export class AssistantMetrics {
  readonly requests: Counter<"provider" | "model" | "rpc" | "code">;
  readonly tokens: Counter<"provider" | "model" | "kind">;
  readonly duration: Histogram<"provider" | "model" | "rpc">;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: "assistant_requests_total",
      help: "Assistant RPCs by provider, model, RPC and Connect code.",
      labelNames: ["provider", "model", "rpc", "code"] as const,
      registers: [registry],
    });
    this.tokens = new Counter({
      name: "assistant_tokens_total",
      help: "Provider tokens used by the assistant, by provider, model and kind (input, output).",
      labelNames: ["provider", "model", "kind"] as const,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "assistant_request_duration_seconds",
      help: "Assistant RPC latency (Chat: until the stream ends), provider and validation included.",
      labelNames: ["provider", "model", "rpc"] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120],
      registers: [registry],
    });
  }

  /** One finished RPC: its code ("ok" without an error) and duration. */
  finished(labels: { provider: string; model: string; rpc: string }, seconds: number, err?: unknown): void {
    const code = err === undefined ? "ok" : err instanceof ConnectError ? codeToString(err.code) : codeToString(Code.Internal);
    this.requests.inc({ ...labels, code });
    this.duration.observe(labels, seconds);
  }

  used(labels: { provider: string; model: string }, usage: { input: number; output: number }): void {
    if (usage.input > 0) this.tokens.inc({ ...labels, kind: "input" }, usage.input);
    if (usage.output > 0) this.tokens.inc({ ...labels, kind: "output" }, usage.output);
  }
}
