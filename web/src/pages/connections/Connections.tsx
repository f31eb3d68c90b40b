import { Engine, type Connection } from "@gen/sqlstudio/database/v1/connection_pb.js";
import { useState } from "preact/hooks";
import { problemOf, type Problem } from "../../api/errors.js";
import { api } from "../../api/transport.js";
import { Link, navigate } from "../../router.js";
import { useLoad } from "../../ui/async.js";
import { Alert, Button, Empty, Loading, Page, ProblemAlert } from "../../ui/kit.js";
import { engineName, POLICY_HELP } from "./engines.js";

export function where(c: Pick<Connection, "engine" | "host" | "port" | "database">): string {
  if (c.engine === Engine.SQLITE) return c.host;
  return `${c.host}${c.port ? `:${c.port}` : ""}${c.database ? `/${c.database}` : ""}`;
}

export function Connections() {
  const list = useLoad(() => api.connections.listConnections({ pageSize: 200 }), []);
  const [status, setStatus] = useState<Record<string, { ok: string } | { problem: Problem } | "testing">>({});
  const [problem, setProblem] = useState<Problem>();
  const test = async (c: Connection) => {
    setStatus((s) => ({ ...s, [c.id]: "testing" }));
    try {
      const r = await api.connections.testConnection({ target: { case: "id", value: c.id } });
      const ms = r.latency ? Number(r.latency.seconds) * 1000 + r.latency.nanos / 1e6 : 0;
      setStatus((s) => ({ ...s, [c.id]: { ok: `Connected in ${Math.round(ms)} ms · ${r.serverVersion}` } }));
    } catch (e) {
      setStatus((s) => ({ ...s, [c.id]: { problem: problemOf(e) } }));
    }
  };
  const remove = async (c: Connection) => {
    if (!window.confirm(`Delete the connection “${c.name}”? Saved queries keep their SQL.`)) return;
    try {
      await api.connections.deleteConnection({ id: c.id });
      await list.reload();
    } catch (e) {
      setProblem(problemOf(e));
    }
  };
  const connections = list.data?.connections ?? [];
  return (
    <Page
      title="Connections"
      actions={
        <Button kind="primary" onClick={() => navigate("/connections/new")}>
          New connection
        </Button>
      }
    >
      <ProblemAlert problem={list.problem ?? problem} />
      {list.loading && !list.data ? (
        <Loading />
      ) : connections.length === 0 ? (
        <Empty title="No connections yet.">
          <p>A connection tells SQL Studio how to reach one of your databases: PostgreSQL, MySQL, MariaDB or SQLite.</p>
          <Button kind="primary" onClick={() => navigate("/connections/new")}>
            Add your first connection
          </Button>
        </Empty>
      ) : (
        <ul class="conn-list">
          {connections.map((c) => {
            const st = status[c.id];
            return (
              <li class="conn" key={c.id} data-connection={c.name}>
                <div class="conn-main">
                  <Link href={`/?connection=${c.id}`} class="conn-name">
                    {c.name}
                  </Link>
                  <span class="tag">{engineName(c.engine)}</span>
                  {c.readOnly && <span class="tag">read-only</span>}
                  <div class="muted small mono">
                    {c.username ? `${c.username}@` : ""}
                    {where(c)}
                  </div>
                  {st === "testing" && <Loading label="Testing…" />}
                  {st && typeof st === "object" && "ok" in st && <Alert kind="success">{st.ok}</Alert>}
                  {st && typeof st === "object" && "problem" in st && (
                    <Alert>
                      {st.problem.message} {POLICY_HELP[st.problem.reason] ?? ""}
                    </Alert>
                  )}
                </div>
                <div class="conn-actions">
                  <Button onClick={() => navigate(`/?connection=${c.id}`)}>Open</Button>
                  <Button onClick={() => void test(c)} aria-label={`Test ${c.name}`}>
                    Test
                  </Button>
                  <Button onClick={() => navigate(`/connections/${c.id}`)} aria-label={`Edit ${c.name}`}>
                    Edit
                  </Button>
                  <Button kind="danger" onClick={() => void remove(c)} aria-label={`Delete ${c.name}`}>
                    Delete
                  </Button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </Page>
  );
}
