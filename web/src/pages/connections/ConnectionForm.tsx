import { Engine, SslMode, type ConnectionSpec } from "@gen/sqlstudio/database/v1/connection_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ConnectionSpecSchema } from "@gen/sqlstudio/database/v1/connection_pb.js";
import { useEffect, useId, useState } from "preact/hooks";
import { problemOf, type Problem } from "../../api/errors.js";
import { api } from "../../api/transport.js";
import { navigate } from "../../router.js";
import { useSubmit } from "../../ui/async.js";
import { Alert, Button, Check, Field, Loading, Page, ProblemAlert, Select } from "../../ui/kit.js";
import { DEFAULT_PORT, ENGINES, POLICY_HELP, SSL_MODES } from "./engines.js";

type Spec = Omit<ConnectionSpec, "$typeName" | "$unknown">;

const empty: Spec = { name: "", engine: Engine.POSTGRESQL, host: "", port: 0, database: "", username: "", password: "", sslMode: SslMode.UNSPECIFIED, options: {}, readOnly: false };

const optionsText = (o: Record<string, string>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
const parseOptions = (t: string) => Object.fromEntries(t.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")).trim(), l.slice(l.indexOf("=") + 1).trim()]));

/** New (`id` = "new") or edit: every field of a profile; the password is write-only. */
export function ConnectionForm({ params }: { params: Record<string, string> }) {
  const id = params.id === "new" ? undefined : params.id;
  const [spec, setSpec] = useState<Spec>(empty);
  const [options, setOptions] = useState("");
  const [hasPassword, setHasPassword] = useState(false);
  const [clearPassword, setClearPassword] = useState(false);
  const [loading, setLoading] = useState(!!id);
  const [loadProblem, setLoadProblem] = useState<Problem>();
  const [tested, setTested] = useState<string>();
  const optionsId = useId();
  useEffect(() => {
    if (!id) return;
    api.connections.getConnection({ id }).then(
      ({ connection: c }) => {
        setSpec({ ...empty, name: c!.name, engine: c!.engine, host: c!.host, port: c!.port, database: c!.database, username: c!.username, sslMode: c!.sslMode, readOnly: c!.readOnly });
        setOptions(optionsText(c!.options));
        setHasPassword(c!.hasPassword);
        setLoading(false);
      },
      (e) => {
        setLoadProblem(problemOf(e));
        setLoading(false);
      },
    );
  }, [id]);
  const set = <K extends keyof Spec>(k: K) => (v: Spec[K]) => setSpec((s) => ({ ...s, [k]: v }));
  const full = (): MessageInitShape<typeof ConnectionSpecSchema> => ({ ...spec, options: parseOptions(options) });

  const save = useSubmit(async () => {
    if (id) await api.connections.updateConnection({ id, spec: full(), clearPassword });
    else await api.connections.createConnection({ spec: full() });
    navigate("/connections");
  });
  const test = useSubmit(async () => {
    setTested(undefined);
    // A stored password is only known to the server: an edit without a new one tests the stored profile.
    const r = id && spec.password === "" ? await api.connections.testConnection({ target: { case: "id", value: id } }) : await api.connections.testConnection({ target: { case: "spec", value: full() } });
    const ms = r.latency ? Number(r.latency.seconds) * 1000 + r.latency.nanos / 1e6 : 0;
    setTested(`Connected in ${Math.round(ms)} ms · ${r.serverVersion}`);
  });
  const problem = save.problem ?? test.problem;
  const fieldOf = (p: Problem | undefined) => p?.field.replace(/^spec\./, "");
  const err = (name: string) => (fieldOf(problem) === name || fieldOf(problem)?.startsWith(`${name}.`) ? `${problem!.message.replace(/^spec\./, "")} ${POLICY_HELP[problem!.reason] ?? ""}`.trim() : undefined);
  const known = ["name", "host", "port", "database", "username", "password", "options"];
  const sqlite = spec.engine === Engine.SQLITE;

  if (loading) return <Loading />;
  return (
    <Page title={id ? "Edit connection" : "New connection"}>
      <ProblemAlert problem={loadProblem} />
      <form
        class="narrow"
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        {problem && !known.some((k) => fieldOf(problem)?.startsWith(k)) && (
          <Alert>
            {problem.message} {POLICY_HELP[problem.reason] ?? ""}
          </Alert>
        )}
        {tested && <Alert kind="success">{tested}</Alert>}
        <Field label="Name" value={spec.name} onInput={set("name")} required autofocus error={err("name")} />
        <Select label="Engine" value={spec.engine} options={ENGINES} onChange={set("engine")} />
        <Field label={sqlite ? "File (in your folder on the server)" : "Host"} value={spec.host} onInput={set("host")} required placeholder={sqlite ? "data/app.db" : "db.example.com"} spellcheck={false} error={err("host")} />
        {!sqlite && (
          <>
            <div class="row">
              <Field label="Port" type="number" inputMode="numeric" value={spec.port ? String(spec.port) : ""} onInput={(v) => set("port")(Number(v) || 0)} placeholder={String(DEFAULT_PORT[spec.engine] ?? "")} error={err("port")} />
              <Field label="Database" value={spec.database} onInput={set("database")} spellcheck={false} error={err("database")} />
            </div>
            <div class="row">
              <Field label="User" value={spec.username} onInput={set("username")} autocomplete="off" spellcheck={false} error={err("username")} />
              <Field
                label="Password"
                type="password"
                value={spec.password}
                onInput={set("password")}
                autocomplete="new-password"
                placeholder={hasPassword && !clearPassword ? "Stored — leave empty to keep it" : ""}
                hint="Write-only: stored encrypted on the server, never shown again and never synced."
                error={err("password")}
                disabled={clearPassword}
              />
            </div>
            {hasPassword && <Check label="Remove the stored password" checked={clearPassword} onChange={setClearPassword} />}
            <Select label="TLS" value={spec.sslMode} options={SSL_MODES} onChange={set("sslMode")} />
          </>
        )}
        <div class="field">
          <label for={optionsId}>Driver options</label>
          <textarea id={optionsId} rows={3} value={options} onInput={(e) => setOptions(e.currentTarget.value)} placeholder="application_name=sqlstudio" spellcheck={false} aria-describedby={`${optionsId}-hint`} />
          <div class="hint" id={`${optionsId}-hint`}>
            One key=value per line.
          </div>
          {err("options") && <div class="field-error">{err("options")}</div>}
        </div>
        <Check label="Read-only: every query runs in a read-only transaction" checked={spec.readOnly} onChange={set("readOnly")} />
        <div class="row">
          <Button kind="primary" type="submit" busy={save.busy}>
            {id ? "Save" : "Create connection"}
          </Button>
          <Button busy={test.busy} onClick={() => void test.run()}>
            Test connection
          </Button>
          <Button kind="ghost" onClick={() => navigate("/connections")}>
            Cancel
          </Button>
        </div>
      </form>
    </Page>
  );
}
