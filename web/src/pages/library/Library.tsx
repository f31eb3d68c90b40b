/** The synced library: saved queries (edited here offline-first) and the query history. */
import { useState } from "preact/hooks";
import { api } from "../../api/transport.js";
import { Link, location, navigate } from "../../router.js";
import { items, library, syncState, write, type Item } from "../../sync/library.js";
import { useLoad } from "../../ui/async.js";
import { Alert, Button, Empty, Page, When } from "../../ui/kit.js";
import { openTab } from "../workspace/tabs.js";

export function SyncStatus() {
  const s = syncState.value;
  const pending = library.value?.pending.length ?? 0;
  const text = !s.online ? "Offline: changes are kept here and sent when you are back." : s.syncing ? "Syncing…" : pending ? `${pending} change${pending === 1 ? "" : "s"} waiting to be sent` : s.live ? "In sync" : "Connecting…";
  return (
    <p class="sync-status" role="status">
      <span class={`dot ${!s.online ? "dot-off" : pending || s.syncing ? "dot-busy" : "dot-on"}`} aria-hidden="true" /> {text}
      {s.problem && <span class="warn"> · {s.problem.message}</span>}
    </p>
  );
}

export function openSaved(item: Item) {
  const p = item.payload as { title?: string; sql?: string; connectionId?: string };
  openTab({ title: p.title ?? "Saved query", sql: p.sql ?? "", connectionId: p.connectionId ?? "", savedQueryId: item.id });
  navigate("/");
}

export function Library() {
  const view = location.value.query.get("view") === "history" ? "history" : "saved";
  const connections = useLoad(() => api.connections.listConnections({ pageSize: 200 }), []);
  const nameOf = (id: string) => connections.data?.connections.find((c) => c.id === id)?.name ?? "";
  return (
    <Page
      title="Library"
      actions={
        view === "saved" && (
          <Button kind="primary" onClick={() => navigate("/library/new")}>
            New saved query
          </Button>
        )
      }
    >
      <SyncStatus />
      <nav class="subnav" aria-label="Library">
        <Link href="/library" aria-current={view === "saved" ? "page" : undefined}>
          Saved queries
        </Link>
        <Link href="/library?view=history" aria-current={view === "history" ? "page" : undefined}>
          History
        </Link>
      </nav>
      {view === "saved" ? <Saved nameOf={nameOf} /> : <History nameOf={nameOf} />}
    </Page>
  );
}

function Saved({ nameOf }: { nameOf: (id: string) => string }) {
  const [filter, setFilter] = useState("");
  const rejected = syncState.value.rejected;
  const list = items(library.value, "saved_query")
    .filter((i) => JSON.stringify(i.payload).toLowerCase().includes(filter.toLowerCase()))
    .sort((a, b) => Number(!!b.payload.favorite) - Number(!!a.payload.favorite) || String(a.payload.title).localeCompare(String(b.payload.title)));
  if (!library.value) return null;
  return (
    <>
      {rejected.length > 0 && <Alert>Some changes were refused by the server: {rejected.map((r) => r.reason).join(", ")}.</Alert>}
      <div class="field">
        <label for="lib-filter">Filter</label>
        <input id="lib-filter" type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="Title, SQL, tag…" />
      </div>
      {list.length === 0 ? (
        <Empty title={filter ? "Nothing matches." : "No saved queries yet."}>{!filter && <p>Save a query from the workspace (Ctrl/Cmd-S), or make one here. Your other devices see it too.</p>}</Empty>
      ) : (
        <ul class="saved-list">
          {list.map((i) => {
            const p = i.payload as { title?: string; sql?: string; connectionId?: string; description?: string; favorite?: boolean };
            return (
              <li class="saved" key={i.id} data-saved={p.title}>
                <div class="saved-main">
                  <Link href={`/library/${i.id}`} class="saved-title">
                    {p.favorite ? "★ " : ""}
                    {p.title}
                  </Link>
                  {i.pending && <span class="tag">not synced yet</span>}
                  {p.connectionId && <span class="muted small"> · {nameOf(p.connectionId) || "a connection not on this server"}</span>}
                  {p.description && <div class="small">{p.description}</div>}
                  <pre class="saved-sql">{(p.sql ?? "").split("\n").slice(0, 3).join("\n")}</pre>
                </div>
                <div class="conn-actions">
                  <Button onClick={() => openSaved(i)} aria-label={`Open ${p.title} in the workspace`}>
                    Open
                  </Button>
                  <Button onClick={() => navigate(`/library/${i.id}`)} aria-label={`Edit ${p.title}`}>
                    Edit
                  </Button>
                  <Button kind="danger" onClick={() => window.confirm(`Delete “${p.title}” on every device?`) && write("saved_query", i.id, null)} aria-label={`Delete ${p.title}`}>
                    Delete
                  </Button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}

function History({ nameOf }: { nameOf: (id: string) => string }) {
  const list = items(library.value, "history").sort((a, b) => String(b.payload.executedAt ?? "").localeCompare(String(a.payload.executedAt ?? "")));
  if (list.length === 0) return <Empty title="No history yet.">Every query you run, here or on another device, shows up here (secrets redacted).</Empty>;
  return (
    <div class="table-wrap">
      <table class="table">
        <caption class="sr-only">Query history, newest first</caption>
        <thead>
          <tr>
            <th scope="col">SQL</th>
            <th scope="col">Connection</th>
            <th scope="col">When</th>
            <th scope="col">Rows</th>
            <th scope="col">Time</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.slice(0, 500).map((i) => {
            const p = i.payload as { sql?: string; connectionId?: string; executedAt?: string; durationMs?: string; rowCount?: string; success?: boolean; errorMessage?: string };
            return (
              <tr key={i.id}>
                <td>
                  <code class="history-sql">{(p.sql ?? "").slice(0, 200)}</code>
                  {p.success === false && <div class="warn small">{p.errorMessage}</div>}
                </td>
                <td>{p.connectionId ? nameOf(p.connectionId) : ""}</td>
                <td>
                  <When at={p.executedAt ? new Date(p.executedAt) : undefined} />
                </td>
                <td class="num">{p.rowCount ?? 0}</td>
                <td class="num">{p.durationMs ?? 0} ms</td>
                <td class="actions">
                  <Button onClick={() => (openTab({ sql: p.sql ?? "", connectionId: p.connectionId ?? "" }), navigate("/"))}>Open</Button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
