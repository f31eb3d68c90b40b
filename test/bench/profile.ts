/**
 * Where a request's CPU time goes on the server: V8's sampling CPU profiler (what
 * `node --cpu-prof` records) started and stopped around one bounded load, on the server's
 * thread only (the load generator is another process). Self time is grouped by where the code
 * lives: Connect core, the connect-node adapter, Fastify, our code, protobuf-es, Node's http.
 * The raw profile is written as a .cpuprofile (open it in Chrome DevTools → Performance).
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import type { LoadGenerator, LoadSpec } from "./loadgen.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** First match wins. */
const GROUPS: [RegExp, string][] = [
  [/\/src\/server\/interceptors\.ts/, "ours: observe interceptor (log line, metrics)"],
  [/\/src\/server\/(app|http-policy)\.ts/, "ours: onRequest hook (request id, headers, deadline)"],
  [/\/src\/server\/lifecycle\.ts/, "ours: in-flight call tracking (shutdown)"],
  [/\/src\/server\/listener\.ts/, "ours: one-port listener"],
  [/\/src\/auth\//, "ours: auth interceptor"],
  [/\/src\/health\//, "ours: Health.Check handler"],
  [/\/src\//, "ours: other"],
  [/\/@connectrpc\/connect-fastify\//, "connect-fastify plugin"],
  [/\/@connectrpc\/connect-node\//, "connect-node adapter"],
  [/\/@connectrpc\/connect\//, "Connect core"],
  [/\/@bufbuild\/protobuf\//, "protobuf-es (JSON / binary)"],
  [/\/node_modules\/(pino|sonic-boom|fast-redact|@pinojs|quick-format-unescaped|safe-stable-stringify|fast-safe-stringify)\//, "pino (our per-RPC log line)"],
  [/\/node_modules\/(prom-client|tdigest|bintrees)\//, "prom-client (our per-RPC metrics)"],
  [/\/node_modules\/(fastify|find-my-way|avvio|light-my-request|@fastify\/[^/]+|fast-json-stringify|secure-json-parse|fast-querystring|fast-decode-uri-component|toad-cache|abstract-logging|rfdc|ret|safe-regex2)\//, "Fastify"],
  [/\/node_modules\//, "other packages"],
  [/^node:internal\/(abort_controller|event_target|per_context\/domexception)|^node:internal\/errors/, "Node: AbortController / EventTarget / DOMException / errors"],
  [/^node:(_http_|http|internal\/http)/, "Node: http / http2"],
  [/^node:(internal\/streams|stream|internal\/webstreams)/, "Node: streams"],
  [/^node:(net|internal\/stream_base_commons|internal\/net)/, "Node: net / sockets"],
  [/^node:internal\/process\/task_queues/, "Node: nextTick / microtask queue (async hops)"],
  [/^node:(fs|internal\/fs)/, "Node: fs (log line writes)"],
  [/^node:/, "Node: other internals"],
];

function groupOf(frame: ProfileNode["callFrame"]): string {
  if (frame.functionName === "(garbage collector)") return "V8: garbage collection";
  if (frame.functionName === "(program)") return "V8: native / not attributed";
  // esbuild's keepNames helper, which tsx adds to every function our TypeScript creates; the
  // production build (tsc → dist/) has none.
  if (frame.functionName === "__name") return "tsx: __name helper on our closures (not in production)";
  for (const [re, name] of GROUPS) if (re.test(frame.url)) return name;
  return frame.url === "" ? "V8 builtins called from the event loop" : "other";
}

export interface ProfileSummary {
  label: string;
  requests: number;
  /** Server CPU time per request, µs (idle excluded). */
  cpuUsPerRequest: number;
  groups: { group: string; usPerRequest: number; share: number }[];
  top: { fn: string; where: string; group: string; usPerRequest: number }[];
}

export function summarize(label: string, profile: Profile, requests: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Builtins and native bindings (JSON.stringify, writev, …) have no script: their time goes to
  // the group of the nearest caller that has one, so that "who caused it" stays visible.
  const owner = (id: number): ProfileNode["callFrame"] => {
    let node = byId.get(id)!;
    const special = node.callFrame.functionName.startsWith("(");
    while (!special && node.callFrame.url === "" && parent.has(node.id)) {
      const up = byId.get(parent.get(node.id)!)!;
      if (up.callFrame.functionName === "(root)") break;
      node = up;
    }
    return node.callFrame.url === "" ? byId.get(id)!.callFrame : node.callFrame;
  };
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + dt);
  }
  const groups = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; group: string; us: number }>();
  let total = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id)!;
    if (callFrame.functionName === "(idle)" || callFrame.functionName === "(root)") continue;
    total += us;
    const ownerGroup = groupOf(owner(id));
    groups.set(ownerGroup, (groups.get(ownerGroup) ?? 0) + us);
    const group = callFrame.url === "" && !callFrame.functionName.startsWith("(") ? `${ownerGroup} (builtin)` : groupOf(callFrame);
    const where = callFrame.url ? `${callFrame.url.replace(/^.*\/node_modules\//, "").replace(/^file:\/\/.*?\/(src|test)\//, "$1/")}:${callFrame.lineNumber + 1}` : "";
    const key = `${callFrame.functionName}@${where}`;
    const f = fns.get(key) ?? { fn: callFrame.functionName || "(anonymous)", where, group, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  return {
    label,
    requests,
    cpuUsPerRequest: total / requests,
    groups: [...groups].map(([group, us]) => ({ group, usPerRequest: us / requests, share: us / total })).sort((a, b) => b.usPerRequest - a.usPerRequest),
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 25)
      .map((f) => ({ fn: f.fn, where: f.where, group: f.group, usPerRequest: f.us / requests })),
  };
}

/** Profiles this process while the load generator runs `spec`. */
export async function profileLoad(label: string, loadgen: LoadGenerator, spec: LoadSpec, file?: string): Promise<ProfileSummary> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  await loadgen.run(spec);
  const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile };
  await session.post("Profiler.disable");
  session.disconnect();
  if (file) writeFileSync(file, JSON.stringify(profile));
  return summarize(label, profile, spec.requests);
}

export function profileTables(ours: ProfileSummary, ref: ProfileSummary): string {
  const f = (n: number) => n.toFixed(1);
  const refGroups = new Map(ref.groups.map((g) => [g.group, g.usPerRequest]));
  const names = [...new Set([...ours.groups.map((g) => g.group), ...ref.groups.map((g) => g.group)])];
  const oursGroups = new Map(ours.groups.map((g) => [g.group, g]));
  return [
    `Server CPU per request (sampling profiler, idle excluded): **${ours.label}: ${f(ours.cpuUsPerRequest)} µs**, ` +
      `${ref.label}: ${f(ref.cpuUsPerRequest)} µs (ratio ${(ref.cpuUsPerRequest / ours.cpuUsPerRequest).toFixed(2)}).`,
    "",
    "Self time grouped by where the code lives; time in builtins and native bindings (JSON, writev, Promise jobs) counts for the group of the JavaScript that called them.",
    "",
    `| group | ${ours.label} µs/req | share | ${ref.label} µs/req |`,
    "|---|---:|---:|---:|",
    ...names
      .sort((a, b) => (oursGroups.get(b)?.usPerRequest ?? 0) - (oursGroups.get(a)?.usPerRequest ?? 0))
      .map((n) => {
        const g = oursGroups.get(n);
        return `| ${n} | ${f(g?.usPerRequest ?? 0)} | ${((g?.share ?? 0) * 100).toFixed(1)}% | ${f(refGroups.get(n) ?? 0)} |`;
      }),
    "",
    `Top functions by self time, ${ours.label}:`,
    "",
    "| function | where | group | µs/req |",
    "|---|---|---|---:|",
    ...ours.top.map((t) => `| \`${t.fn}\` | ${t.where} | ${t.group} | ${f(t.usPerRequest)} |`),
    "",
  ].join("\n");
}
