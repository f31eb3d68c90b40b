/**
 * The SQL workspace: the connection's schema tree on the left; query tabs, the editor and the
 * toolbar; the results (or the plan) below. Runs live per tab for the page's life.
 */
import { signal } from "@preact/signals";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Engine } from "@gen/sqlstudio/database/v1/connection_pb.js";
import { problemOf, type Problem } from "../../api/errors.js";
import { api } from "../../api/transport.js";
import { prepareWorker, QueryRun } from "../../query/runner.js";
import { location, navigate } from "../../router.js";
import { useLoad } from "../../ui/async.js";
import { Alert, Button, Check, ProblemAlert } from "../../ui/kit.js";
import { items, library, write } from "../../sync/library.js";
import { Editor, type EditorActions } from "./Editor.js";
import { PlanTree } from "./PlanTree.js";
import { Results } from "./Results.js";
import { namespaceOf, tablesToDescribe, useSchema } from "./schema.js";
import { SchemaTree } from "./SchemaTree.js";
import { activeTab, activeTabId, closeTab, openTab, tabs, updateTab } from "./tabs.js";

/** Runs and plans by tab, kept while the page lives (leaving the workspace and coming back keeps them). */
const runs = signal(new Map<string, QueryRun>());
const plans = signal(new Map<string, { plan: string; format: string } | Problem>());
const LIMITS: [number, string][] = [
  [1_000, "1,000 rows"],
  [10_000, "10,000 rows"],
  [100_000, "100,000 rows"],
  [1_000_000, "1,000,000 rows"],
  [10_000_000, "10,000,000 rows"],
];
const rowLimit = signal(Number(localStorage.getItem("sqlstudio.rowLimit") ?? 10_000));

export function Workspace() {
  const tab = activeTab();
  const connections = useLoad(() => api.connections.listConnections({ pageSize: 200 }), []);
  const list = connections.data?.connections ?? [];
  const connection = list.find((c) => c.id === tab?.connectionId);
  const schema = useSchema(connection ? tab.connectionId : "");
  const [problem, setProblem] = useState<Problem>();
  const [sidebar, setSidebar] = useState(false);
  const [saved, setSaved] = useState("");
  const run = tab ? runs.value.get(tab.id) : undefined;
  const plan = tab ? plans.value.get(tab.id) : undefined;
  useEffect(() => {
    document.title = "Workspace · SQL Studio";
    prepareWorker();
  }, []);

  // ?connection=<id> (from the connections page) picks the connection for the current tab.
  useEffect(() => {
    const wanted = location.value.query.get("connection");
    if (wanted && tab) {
      updateTab(tab.id, { connectionId: wanted });
      navigate("/", { replace: true });
    }
  }, [location.value.query.get("connection")]);
  // A new user with one connection: use it.
  useEffect(() => {
    if (tab && !tab.connectionId && list.length === 1) updateTab(tab.id, { connectionId: list[0].id });
  }, [list.length, tab?.id]);
  // Columns of the tables the SQL names, for completion.
  useEffect(() => {
    const t = setTimeout(() => tablesToDescribe(schema.info, tab?.sql ?? "").forEach((name) => void schema.describe(schema.info.defaultSchema, name).catch(() => undefined)), 400);
    return () => clearTimeout(t);
  }, [tab?.sql, schema.info.tables]);
  const namespace = useMemo(() => namespaceOf(schema.info), [schema.info.tables, schema.info.columns]);

  const setRun = (r: QueryRun) => {
    const next = new Map(runs.value);
    next.get(tab.id)?.dispose();
    next.set(tab.id, r);
    runs.value = next;
  };
  const setPlan = (p: { plan: string; format: string } | Problem | undefined) => {
    const next = new Map(plans.value);
    if (p) next.set(tab.id, p);
    else next.delete(tab.id);
    plans.value = next;
  };

  const actions: EditorActions = {
    run(sql) {
      setProblem(undefined);
      if (!tab.connectionId) return setProblem({ code: 3, reason: "", field: "", message: "Choose a connection first." });
      if (!sql.trim()) return;
      if (run?.active) return;
      setPlan(undefined);
      const r = new QueryRun({ connectionId: tab.connectionId, sql, maxRows: BigInt(rowLimit.value), readOnly: !!tab.readOnly });
      setRun(r);
      void r.start();
    },
    cancel() {
      if (!run?.active) return false;
      void run.cancel();
      return true;
    },
    save() {
      const title = tab.title.startsWith("Query ") ? (window.prompt("Save as", firstLine(tab.sql)) ?? "") : tab.title;
      if (!title.trim()) return;
      const existing = items(library.value, "saved_query").find((i) => i.id === tab.savedQueryId);
      const id = write("saved_query", tab.savedQueryId, { ...(existing?.payload ?? {}), title: title.trim(), sql: tab.sql, connectionId: tab.connectionId });
      updateTab(tab.id, { savedQueryId: id, title: title.trim() });
      setSaved(`Saved “${title.trim()}” to the library.`);
      setTimeout(() => setSaved(""), 3000);
    },
    explain(sql) {
      if (!tab.connectionId || !sql.trim()) return;
      api.queries.explainQuery({ connectionId: tab.connectionId, sql }).then(
        (r) => setPlan({ plan: r.plan, format: r.format }),
        (e) => setPlan(problemOf(e)),
      );
    },
    newTab() {
      openTab();
    },
  };

  if (!tab) return null;
  return (
    <div class="workspace">
      <aside class={sidebar ? "sidebar sidebar-open" : "sidebar"} aria-label="Connection and schema">
        <div class="field">
          <label for="ws-connection">Connection</label>
          <select id="ws-connection" value={tab.connectionId} onChange={(e) => updateTab(tab.id, { connectionId: e.currentTarget.value })}>
            <option value="">Choose…</option>
            {list.map((c) => (
              <option value={c.id}>{c.name}</option>
            ))}
          </select>
        </div>
        {connections.data && list.length === 0 && (
          <p class="small">
            No connections yet. <a href="/connections/new" onClick={(e) => (e.preventDefault(), navigate("/connections/new"))}>Add one</a>.
          </p>
        )}
        <SchemaTree connectionId={connection ? tab.connectionId : ""} mysql={connection?.engine === Engine.MYSQL} schema={schema} onQuery={(sql) => openTab({ sql, connectionId: tab.connectionId })} />
      </aside>
      <section class="work" aria-label="Query">
        <div class="query-tabs" role="toolbar" aria-label="Query tabs">
          <Button kind="ghost" class="btn btn-ghost sidebar-toggle" aria-expanded={sidebar} onClick={() => setSidebar(!sidebar)}>
            Schema
          </Button>
          {tabs.value.map((t) => (
            <div class={t.id === tab.id ? "query-tab active" : "query-tab"} key={t.id}>
              <button aria-current={t.id === tab.id ? "true" : undefined} onClick={() => (activeTabId.value = t.id)}>
                {t.title}
                {runs.value.get(t.id)?.active && <span class="spinner" aria-label="running" />}
              </button>
              <button class="query-tab-close" aria-label={`Close ${t.title}`} onClick={() => (runs.value.get(t.id)?.dispose(), closeTab(t.id))}>
                ×
              </button>
            </div>
          ))}
          <button class="query-tab-new" aria-label="New query tab" title="New query tab (Alt-T)" onClick={() => openTab()}>
            +
          </button>
        </div>
        <div class="toolbar">
          {run?.active ? (
            <Button kind="danger" onClick={() => actions.cancel()}>
              Cancel
            </Button>
          ) : (
            <Button kind="primary" onClick={() => actions.run(tab.sql)} title="Ctrl/Cmd-Enter runs the selection or the whole script" disabled={!tab.connectionId}>
              Run
            </Button>
          )}
          <Button onClick={() => actions.explain(tab.sql)} disabled={!tab.connectionId || !tab.sql.trim()} title="Ctrl/Cmd-E explains the statement under the cursor">
            Explain
          </Button>
          <Button onClick={() => actions.save()} disabled={!tab.sql.trim()} title="Ctrl/Cmd-S">
            {tab.savedQueryId ? "Save" : "Save to library"}
          </Button>
          <label class="inline-field">
            Limit{" "}
            <select value={String(rowLimit.value)} onChange={(e) => (rowLimit.value = Number(e.currentTarget.value), localStorage.setItem("sqlstudio.rowLimit", e.currentTarget.value))}>
              {LIMITS.map(([v, t]) => (
                <option value={String(v)}>{t}</option>
              ))}
            </select>
          </label>
          <Check label="Read-only" checked={!!tab.readOnly} onChange={(v) => updateTab(tab.id, { readOnly: v })} />
          {connection?.readOnly && <span class="tag">connection is read-only</span>}
        </div>
        {problem && <ProblemAlert problem={problem} />}
        {saved && <Alert kind="success">{saved}</Alert>}
        <div class="editor-wrap">
          <Editor
            tabId={tab.id}
            value={tab.sql}
            engine={connection?.engine}
            schema={namespace}
            defaultSchema={schema.info.defaultSchema || undefined}
            onChange={(sql) => updateTab(tab.id, { sql })}
            actions={actions}
          />
        </div>
        {plan && "plan" in plan ? <PlanTree plan={plan.plan} format={plan.format} onClose={() => setPlan(undefined)} /> : plan ? <ProblemAlert problem={plan as Problem} /> : <Results run={run} />}
      </section>
    </div>
  );
}

const firstLine = (sql: string) => sql.trim().split("\n")[0].slice(0, 60);
