/**
 * The browser side of test/contract/clients/browser.test.ts, bundled with esbuild at test time.
 * `window.runContract(job)` makes every call of the job with @connectrpc/connect-web over each
 * transport a web app can use, and returns plain JSON for the test to check.
 */
import { fromJson, toJson, type DescMethodServerStreaming, type DescMethodUnary, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { methodByPath } from "./services.js";

export interface BrowserJob {
  baseUrl: string;
  unary: { path: string; request: JsonObject }[];
  stream: { path: string; request: JsonObject }[];
}

export type BrowserOutcome =
  | { ok: true; response: JsonValue }
  | { ok: false; code: number; message: string; details: { type: string; value: string }[] };

export interface BrowserResult {
  transport: string;
  unary: BrowserOutcome[];
  stream: ({ first: JsonValue; afterAbort: number } | { error: BrowserOutcome })[];
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

function failure(e: unknown): BrowserOutcome {
  const err = ConnectError.from(e);
  return {
    ok: false,
    code: err.code,
    message: err.rawMessage,
    details: err.details.flatMap((d) => ("desc" in d ? [] : [{ type: d.type, value: b64(d.value) }])),
  };
}

async function* once<T>(v: T) {
  yield v;
}

async function runOn(name: string, transport: Transport, job: BrowserJob, unaryOnly: boolean): Promise<BrowserResult> {
  const out: BrowserResult = { transport: name, unary: [], stream: [] };
  for (const call of job.unary) {
    const method = methodByPath(call.path) as DescMethodUnary;
    try {
      const res = await transport.unary(method, undefined, 5000, undefined, fromJson(method.input, call.request));
      out.unary.push({ ok: true, response: toJson(method.output, res.message) });
    } catch (e) {
      out.unary.push(failure(e));
    }
  }
  if (unaryOnly) return out;
  for (const call of job.stream) {
    const method = methodByPath(call.path) as DescMethodServerStreaming;
    const ac = new AbortController();
    try {
      const res = await transport.stream(method, ac.signal, undefined, undefined, once(fromJson(method.input, call.request)));
      const it = res.message[Symbol.asyncIterator]();
      const first = await it.next();
      ac.abort();
      const after = await it.next().then(
        () => 0,
        (e) => ConnectError.from(e).code,
      );
      out.stream.push({ first: first.done ? null : toJson(method.output, first.value), afterAbort: after });
    } catch (e) {
      out.stream.push({ error: failure(e) });
    }
  }
  return out;
}

async function runContract(job: BrowserJob): Promise<BrowserResult[]> {
  const { baseUrl } = job;
  return [
    await runOn("Connect JSON", createConnectTransport({ baseUrl }), job, false),
    await runOn("Connect binary", createConnectTransport({ baseUrl, useBinaryFormat: true }), job, false),
    await runOn("Connect GET", createConnectTransport({ baseUrl, useHttpGet: true }), job, true),
    await runOn("gRPC-Web", createGrpcWebTransport({ baseUrl }), job, false),
    await runOn("gRPC-Web JSON codec", createGrpcWebTransport({ baseUrl, useBinaryFormat: false }), job, false),
  ];
}

(globalThis as unknown as { runContract: typeof runContract }).runContract = runContract;
