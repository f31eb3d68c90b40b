/**
 * The deployment descriptions checked, not just written (issue 15 §2):
 * - configs/cloudrun.service.yaml against the fields of the Knative Serving `Service` that Cloud Run
 *   accepts (its YAML reference: the Cloud Run Admin API v1 `Service`), with Cloud Run's own rules
 *   (one container receives traffic, its port is named http1 or h2c, probes on that port, PORT is
 *   reserved, secrets as secretKeyRef with a version, concurrency ≤ 1000, timeout ≤ 3600 s);
 *   probes on paths the server really answers; every variable it sets is one src/config reads;
 *   production starts with exactly what it sets (the config loader decides, not a list here).
 * - cloudbuild.yaml: steps, substitutions declared and used, `$` that Cloud Build would read as a
 *   substitution, the image it deploys is the image it built and pushed; and its render step, run
 *   here with bash, turns the service file into one with no placeholder left.
 * Cloud Run itself is not reachable from here: `gcloud run services replace` is the one check left
 * to a real deployment (docs/deploy.md).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { ENV_ALIASES, ENV_KEYS } from "../../src/config/schema.js";
import { ROOT, startTestServer, type TestServer } from "../support/server.js";

const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const serviceText = read("configs/cloudrun.service.yaml");
const buildText = read("cloudbuild.yaml");
const build = parseYaml(buildText) as CloudBuild;
const tmp = mkdtempSync(join(tmpdir(), "sqlstudio-cloudrun-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ── Cloud Run's Service, as its YAML reference describes it (unknown fields are errors) ─────────

const dnsLabel = z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
const quantity = z.string().regex(/^\d+(\.\d+)?(m|Mi|Gi)?$/);
const intString = z.string().regex(/^\d+$/);
const httpGet = z.strictObject({
  path: z.string().startsWith("/"),
  port: z.number().int().optional(),
  httpHeaders: z.array(z.strictObject({ name: z.string(), value: z.string() })).optional(),
});
const probe = z
  .strictObject({
    httpGet: httpGet.optional(),
    tcpSocket: z.strictObject({ port: z.number().int().optional() }).optional(),
    grpc: z.strictObject({ port: z.number().int().optional(), service: z.string().optional() }).optional(),
    initialDelaySeconds: z.number().int().min(0).max(240).optional(),
    periodSeconds: z.number().int().min(1).max(240).optional(),
    timeoutSeconds: z.number().int().min(1).max(240).optional(),
    failureThreshold: z.number().int().min(1).optional(),
  })
  .refine((p) => [p.httpGet, p.tcpSocket, p.grpc].filter(Boolean).length === 1, "a probe has exactly one of httpGet, tcpSocket, grpc")
  .refine((p) => (p.timeoutSeconds ?? 1) <= (p.periodSeconds ?? 10), "timeoutSeconds must not exceed periodSeconds");
const envVar = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
    value: z.string().optional(),
    valueFrom: z
      .strictObject({
        // Secret Manager: name = the secret, key = a version number or "latest".
        secretKeyRef: z.strictObject({ name: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/), key: z.string().regex(/^(latest|\d+)$/) }),
      })
      .optional(),
  })
  .refine((e) => (e.value === undefined) !== (e.valueFrom === undefined), "an env var has a value or a valueFrom, not both");
const container = z.strictObject({
  name: dnsLabel.optional(),
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(envVar).optional(),
  ports: z.array(z.strictObject({ name: z.enum(["http1", "h2c"]).optional(), containerPort: z.number().int().min(1).max(65535) })).max(1).optional(),
  resources: z.strictObject({ limits: z.partialRecord(z.enum(["cpu", "memory", "nvidia.com/gpu"]), quantity).optional() }).optional(),
  startupProbe: probe.optional(),
  livenessProbe: probe.optional(),
  volumeMounts: z.array(z.strictObject({ name: z.string(), mountPath: z.string().startsWith("/"), subPath: z.string().optional() })).optional(),
  workingDir: z.string().optional(),
});
const volume = z.strictObject({
  name: z.string(),
  secret: z
    .strictObject({
      secretName: z.string(),
      items: z.array(z.strictObject({ key: z.string().regex(/^(latest|\d+)$/), path: z.string(), mode: z.number().optional() })).optional(),
      defaultMode: z.number().optional(),
    })
    .optional(),
  emptyDir: z.strictObject({ medium: z.enum(["Memory", ""]).optional(), sizeLimit: quantity.optional() }).optional(),
});
/** Annotations Cloud Run reads on a revision template (values are strings). */
const templateAnnotations = z.strictObject({
  "autoscaling.knative.dev/minScale": intString.optional(),
  "autoscaling.knative.dev/maxScale": intString.optional(),
  "run.googleapis.com/cpu-throttling": z.enum(["true", "false"]).optional(),
  "run.googleapis.com/startup-cpu-boost": z.enum(["true", "false"]).optional(),
  "run.googleapis.com/execution-environment": z.enum(["gen1", "gen2"]).optional(),
  "run.googleapis.com/sessionAffinity": z.enum(["true", "false"]).optional(),
  "run.googleapis.com/container-dependencies": z.string().optional(),
  "run.googleapis.com/cloudsql-instances": z.string().optional(),
  "run.googleapis.com/vpc-access-connector": z.string().optional(),
  "run.googleapis.com/vpc-access-egress": z.enum(["all-traffic", "private-ranges-only"]).optional(),
  "run.googleapis.com/network-interfaces": z.string().optional(),
  "run.googleapis.com/encryption-key": z.string().optional(),
});
const serviceSchema = z.strictObject({
  apiVersion: z.literal("serving.knative.dev/v1"),
  kind: z.literal("Service"),
  metadata: z.strictObject({
    // Cloud Run: at most 49 characters, a lower-case letter first, no hyphen last.
    name: z.string().regex(/^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z
      .strictObject({
        "run.googleapis.com/ingress": z.enum(["all", "internal", "internal-and-cloud-load-balancing"]).optional(),
        "run.googleapis.com/launch-stage": z.enum(["ALPHA", "BETA", "GA"]).optional(),
        "run.googleapis.com/description": z.string().optional(),
        "run.googleapis.com/binary-authorization": z.string().optional(),
      })
      .optional(),
  }),
  spec: z.strictObject({
    template: z.strictObject({
      metadata: z.strictObject({ name: z.string().optional(), labels: z.record(z.string(), z.string()).optional(), annotations: templateAnnotations.optional() }).optional(),
      spec: z.strictObject({
        containerConcurrency: z.number().int().min(0).max(1000).optional(),
        timeoutSeconds: z.number().int().min(1).max(3600).optional(),
        serviceAccountName: z.string().optional(),
        containers: z.array(container).min(1).max(10),
        volumes: z.array(volume).optional(),
      }),
    }),
    traffic: z
      .array(
        z.strictObject({ percent: z.number().int().min(0).max(100), latestRevision: z.boolean().optional(), revisionName: z.string().optional(), tag: z.string().optional() }),
      )
      .optional(),
  }),
});
type Service = z.infer<typeof serviceSchema>;
type Container = z.infer<typeof container>;

/** Cloud Run's rules across fields; each problem as a sentence. */
function cloudRunProblems(s: Service): string[] {
  const out: string[] = [];
  const spec = s.spec.template.spec;
  const ingress = spec.containers.filter((c) => c.ports?.length);
  if (ingress.length !== 1) out.push(`exactly one container receives traffic (has ports); found ${ingress.length}`);
  if (spec.containers.length > 1 && spec.containers.some((c) => !c.name)) out.push("with sidecars every container has a name");
  const names = spec.containers.map((c) => c.name);
  if (new Set(names).size !== names.length) out.push("container names are unique");
  for (const c of spec.containers) {
    const port = c.ports?.[0]?.containerPort;
    for (const [kind, p] of [
      ["startupProbe", c.startupProbe],
      ["livenessProbe", c.livenessProbe],
    ] as const) {
      const probePort = p?.httpGet?.port ?? p?.tcpSocket?.port ?? p?.grpc?.port;
      if (p && probePort !== undefined && probePort !== port) out.push(`${c.name}: ${kind} port ${probePort} is not the container port ${port}`);
    }
    if (c.startupProbe && (c.startupProbe.periodSeconds ?? 10) * (c.startupProbe.failureThreshold ?? 3) > 240) out.push(`${c.name}: a startup probe may take at most 240 s`);
    for (const e of c.env ?? []) {
      if (["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"].includes(e.name)) out.push(`${c.name}: ${e.name} is reserved (Cloud Run sets it)`);
    }
    const envNames = (c.env ?? []).map((e) => e.name);
    if (new Set(envNames).size !== envNames.length) out.push(`${c.name}: an env var is set twice`);
    for (const m of c.volumeMounts ?? []) if (!spec.volumes?.some((v) => v.name === m.name)) out.push(`${c.name}: volume ${m.name} is not declared`);
  }
  const annotations = s.spec.template.metadata?.annotations ?? {};
  const deps = annotations["run.googleapis.com/container-dependencies"];
  if (deps) {
    const parsed = JSON.parse(deps) as Record<string, string[]>;
    for (const [k, vs] of Object.entries(parsed)) for (const n of [k, ...vs]) if (!names.includes(n)) out.push(`container-dependencies names an unknown container ${n}`);
  }
  const min = Number(annotations["autoscaling.knative.dev/minScale"] ?? 0);
  const max = Number(annotations["autoscaling.knative.dev/maxScale"] ?? 100);
  if (min > max) out.push("minScale exceeds maxScale");
  const app = ingress[0];
  if ((spec.containerConcurrency ?? 80) > 1 && cpuOf(app) < 1) out.push("a concurrency above 1 needs at least 1 CPU");
  const traffic = s.spec.traffic ?? [];
  if (traffic.length && traffic.reduce((n, t) => n + t.percent, 0) !== 100) out.push("traffic percentages add up to 100");
  return out;
}

const cpuOf = (c?: Container) => {
  const v = c?.resources?.limits?.cpu ?? "1";
  return v.endsWith("m") ? Number(v.slice(0, -1)) / 1000 : Number(v);
};

// ── Cloud Build ─────────────────────────────────────────────────────────────

interface Step {
  id?: string;
  name: string;
  args?: string[];
  entrypoint?: string;
  waitFor?: string[];
  env?: string[];
  dir?: string;
}
interface CloudBuild {
  substitutions?: Record<string, string>;
  options?: Record<string, unknown>;
  steps: Step[];
  images?: string[];
  timeout?: string;
}

/** Cloud Build's own substitutions (cloud.google.com/build/docs/configuring-builds/substitute-variable-values). */
const BUILT_IN = new Set(["PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION", "TRIGGER_NAME", "COMMIT_SHA", "SHORT_SHA", "REVISION_ID", "BRANCH_NAME", "TAG_NAME", "REPO_NAME", "REPO_FULL_NAME", "REF_NAME", "TRIGGER_BUILD_CONFIG_PATH", "SERVICE_ACCOUNT_EMAIL", "SERVICE_ACCOUNT"]);

/** Every `$NAME` / `${NAME}` Cloud Build would substitute (`$$` is a literal dollar). */
function substitutionsIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.replace(/\$\$/g, "").matchAll(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g)) out.push(m[1] ?? m[2]);
  return out;
}

/** Replaces the substitutions as Cloud Build does, from the declared defaults and the given built-ins. */
function substitute(text: string, values: Record<string, string>): string {
  return text
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a: string | undefined, b: string | undefined) => values[(a ?? b)!] ?? whole)
    .replace(/\$\$/g, "$");
}

const VALUES = { ...build.substitutions, PROJECT_ID: "sqlstudio-test", BUILD_ID: "0f1e2d3c-build" } as Record<string, string>;
const IMAGE = (tag: string) => `${VALUES._REGION}-docker.pkg.dev/${VALUES.PROJECT_ID}/${VALUES._REPO}/${VALUES._SERVICE}:${tag}`;

/** Runs cloudbuild's render step with bash (Cloud Build's /workspace is a temp folder here). */
function renderService(): string {
  const step = build.steps.find((s) => s.id === "render")!;
  expect(step.entrypoint).toBe("bash");
  const args = step.args!.map((a) => substitute(a, VALUES));
  const workspace = join(tmp, "workspace");
  mkdirSync(join(workspace, "configs"), { recursive: true });
  writeFileSync(join(workspace, "configs/cloudrun.service.yaml"), serviceText);
  const script = args[args.length - 1].replaceAll("/workspace", workspace);
  execFileSync("bash", [...args.slice(0, -1), script], { cwd: workspace, stdio: ["ignore", "pipe", "pipe"] });
  return readFileSync(join(workspace, "service.yaml"), "utf8");
}

/** A secret's stand-in value: 32 random bytes, base64 (fits every secret production checks). */
const secretValue = () => randomBytes(32).toString("base64");

let rendered: Service;
let app: Container;

beforeAll(() => {
  // Read as it is: the first test says whether Cloud Run would accept it; the others look at parts.
  rendered = parseYaml(renderService()) as Service;
  app = rendered.spec.template.spec.containers.find((c) => c.ports?.length) ?? rendered.spec.template.spec.containers[0];
});

describe("configs/cloudrun.service.yaml", () => {
  it("has only fields Cloud Run's Service accepts, with values it accepts (as written, placeholders filled in, and as cloudbuild renders it)", () => {
    const raw = serviceSchema.safeParse(parseYaml(serviceText.replace(/__[A-Z_]+__/g, "placeholder")));
    expect(raw.success ? [] : raw.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([]);
    const checked = serviceSchema.safeParse(rendered);
    expect(checked.success ? [] : checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([]);
    expect(cloudRunProblems(rendered)).toEqual([]);
  });

  it("serves end-to-end HTTP/2: the one traffic port is named h2c, on the server's default PORT", () => {
    expect(app.ports).toEqual([{ name: "h2c", containerPort: 8080 }]);
    expect(loadConfig({}, join(tmp, "none.yaml")).server.port).toBe(8080);
    expect(rendered.spec.template.spec.containerConcurrency).toBeGreaterThan(1);
    expect(rendered.spec.template.spec.timeoutSeconds).toBe(3600);
  });

  it("keeps secrets in Secret Manager: every secret-looking variable is a secretKeyRef, never a value", () => {
    const env = app.env ?? [];
    const secretish = env.filter((e) => /SECRET|TOKEN|KEY|PASSWORD/.test(e.name));
    expect(secretish.map((e) => e.name).sort()).toEqual(["ENGINE_SECRET_KEY", "JWT_SECRET", "RESEND_API_KEY", "TURSO_AUTH_TOKEN"]);
    for (const e of secretish) expect(e.valueFrom?.secretKeyRef, e.name).toEqual({ name: expect.stringMatching(/^sqlstudio-/), key: "latest" });
  });

  it("sets only variables src/config reads", () => {
    const known = new Set([...Object.keys(ENV_KEYS), ...Object.keys(ENV_ALIASES)]);
    expect((app.env ?? []).map((e) => e.name).filter((n) => !known.has(n))).toEqual([]);
  });

  it("sets everything production requires: the config loader accepts its env (secrets filled in), and refuses it without any one of them", () => {
    const env: Record<string, string> = {};
    for (const e of app.env ?? []) env[e.name] = e.value ?? secretValue();
    env.PORT = String(app.ports![0].containerPort); // Cloud Run sets it
    const missing = join(tmp, "none.yaml");
    const c = loadConfig(env, missing);
    expect(c.environment).toBe("production");
    expect(c.database.url).toMatch(/^libsql:\/\//);
    // Each variable production names when nothing is set is in the file.
    let required: string[] = [];
    try {
      loadConfig({ ENVIRONMENT: "production" }, missing);
    } catch (e) {
      required = (e as ConfigError).problems.map((p) => p.split(":")[0]);
    }
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) expect(Object.keys(env), name).toContain(name);
    // And the service would not start without any one of the secrets.
    for (const name of ["JWT_SECRET", "ENGINE_SECRET_KEY", "TURSO_AUTH_TOKEN"]) {
      const { [name]: _gone, ...without } = env;
      expect(() => loadConfig(without, missing), name).toThrow(ConfigError);
    }
  });

  it("runs the metrics sidecar on METRICS_PORT, started after the app, with the scrape config it mounts", () => {
    const spec = rendered.spec.template.spec;
    const collector = spec.containers.find((c) => c.name === "collector")!;
    expect(collector.ports).toBeUndefined();
    expect(JSON.parse(rendered.spec.template.metadata!.annotations!["run.googleapis.com/container-dependencies"]!)).toEqual({ collector: [app.name] });
    expect(collector.volumeMounts).toEqual([{ name: "rungmp-config", mountPath: "/etc/rungmp" }]);
    const vol = spec.volumes!.find((v) => v.name === "rungmp-config")!;
    expect(vol.secret?.items).toEqual([{ key: "latest", path: "config.yaml" }]);
    const scrape = parseYaml(read("configs/rungmp-config.yaml")) as { kind: string; spec: { endpoints: { port: number; path: string }[] } };
    expect(scrape.kind).toBe("RunMonitoring");
    const metricsPort = (app.env ?? []).find((e) => e.name === "METRICS_PORT")?.value;
    expect(scrape.spec.endpoints).toEqual([expect.objectContaining({ port: Number(metricsPort), path: "/metrics" })]);
  });

  describe("probes and scrapes reach paths the server answers", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
    });
    afterAll(() => server?.stop());

    it("startup probe → /ready, liveness → /health on the API port; /metrics only on the metrics port", async () => {
      expect(app.startupProbe?.httpGet?.path).toBe("/ready");
      expect(app.livenessProbe?.httpGet?.path).toBe("/health");
      for (const path of [app.startupProbe!.httpGet!.path, app.livenessProbe!.httpGet!.path]) {
        expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
      }
      expect((await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).status).toBe(200);
      expect((await fetch(`${server.url}/metrics`)).status).not.toBe(200);
    });
  });
});

describe("cloudbuild.yaml", () => {
  it("has steps Cloud Build can run: a builder image and args each, unique ids, waitFor naming earlier steps", () => {
    expect(build.steps.map((s) => s.id)).toEqual(["build", "push", "render", "deploy"]);
    const seen: string[] = [];
    for (const s of build.steps) {
      expect(Object.keys(s).filter((k) => !["id", "name", "args", "entrypoint", "waitFor", "env", "dir", "secretEnv", "timeout"].includes(k))).toEqual([]);
      expect(s.name).toMatch(/^[a-z0-9.-]+(\/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?$/);
      expect(Array.isArray(s.args) && s.args.every((a) => typeof a === "string")).toBe(true);
      for (const w of s.waitFor ?? []) expect(seen.concat("-")).toContain(w);
      seen.push(s.id!);
    }
    expect(build.timeout).toMatch(/^\d+s$/);
  });

  it("declares every user substitution it uses (and uses every one it declares); no stray $ for a shell variable", () => {
    const used = substitutionsIn(buildText.replace(/^\s*#.*$/gm, ""));
    const declared = Object.keys(build.substitutions ?? {});
    for (const k of declared) expect(k).toMatch(/^_[A-Z0-9_]+$/);
    expect([...new Set(used.filter((u) => !BUILT_IN.has(u)))].sort()).toEqual([...declared].sort());
  });

  it("deploys the image it built and pushed: the BUILD_ID tag, in the same repository", () => {
    const [buildStep, pushStep, renderStep, deployStep] = build.steps;
    const tags = buildStep.args!.filter((a) => a.startsWith("--tag=")).map((a) => substitute(a.slice("--tag=".length), VALUES));
    expect(tags).toContain(IMAGE(VALUES.BUILD_ID));
    expect(pushStep.args!.map((a) => substitute(a, VALUES))).toEqual(["push", "--all-tags", IMAGE("x").replace(/:x$/, "")]);
    expect((build.images ?? []).map((i) => substitute(i, VALUES))).toEqual(tags);
    expect(renderStep.args!.join(" ")).toContain("__IMAGE__");
    expect(app.image).toBe(IMAGE(VALUES.BUILD_ID));
    expect(deployStep.args).toEqual(["run", "services", "replace", "/workspace/service.yaml", "--region=${_REGION}"]);
    expect(rendered.metadata.name).toBe(VALUES._SERVICE);
  });

  it("renders the service file with no placeholder left, the substitutions in their places", () => {
    const text = renderService();
    expect(text.split("\n").filter((l) => !/^\s*#/.test(l) && /__[A-Z_]+__/.test(l))).toEqual([]);
    const env = Object.fromEntries((app.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toEqual(expect.objectContaining({ DATABASE_URL: VALUES._DATABASE_URL, PUBLIC_URL: VALUES._PUBLIC_URL, CORS_ORIGINS: VALUES._CORS_ORIGINS }));
    expect(rendered.spec.template.spec.serviceAccountName).toBe(`sqlstudio-server@${VALUES.PROJECT_ID}.iam.gserviceaccount.com`);
  });
});
