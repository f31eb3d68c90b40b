/** One conflict: both versions side by side, field by field, the SQL in a merge view; resolve it. */
import { MergeView } from "@codemirror/merge";
import { sql } from "@codemirror/lang-sql";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { useEffect, useRef, useState } from "preact/hooks";
import { RecordKind } from "@gen/sqlstudio/sync/v1/sync_pb.js";
import { api } from "../../api/transport.js";
import { editorTheme, highlight, shadowOf } from "../../ui/codemirror.js";
import { navigate } from "../../router.js";
import { changePayload, conflicts, loadConflicts, sync } from "../../sync/library.js";
import type { Kind } from "../../sync/store.js";
import { useSubmit } from "../../ui/async.js";
import { Alert, Button, Empty, Page, ProblemAlert } from "../../ui/kit.js";
import { deviceLabel, KIND_LABEL, sides, titleOf } from "./Conflicts.js";

const KINDS: Record<number, Kind> = { [RecordKind.SAVED_QUERY]: "saved_query", [RecordKind.CONNECTION]: "connection", [RecordKind.HISTORY]: "history" };
/** Field names of the payloads (proto JSON) as people read them. */
const LABELS: Record<string, string> = { title: "Title", description: "Description", connectionId: "Connection id", folder: "Folder", tags: "Tags", favorite: "Favourite", name: "Name", engine: "Engine", host: "Host", port: "Port", database: "Database", username: "User", sslMode: "TLS", options: "Options", color: "Colour" };
const show = (v: unknown) => (v === undefined || v === null || v === "" ? "—" : Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v));
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function SqlMerge({ server, device, editable, onChange }: { server: string; device: string; editable: boolean; onChange?: (v: string) => void }) {
  const host = useRef<HTMLDivElement>(null);
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    const common = [sql(), highlight, editorTheme, EditorView.lineWrapping];
    const view = new MergeView({
      a: { doc: server, extensions: [...common, EditorState.readOnly.of(true), EditorView.contentAttributes.of({ "aria-label": "SQL, server's version" })] },
      b: {
        doc: device,
        extensions: [
          ...common,
          EditorState.readOnly.of(!editable),
          EditorView.contentAttributes.of({ "aria-label": editable ? "SQL, your merge (editable)" : "SQL, pushed version" }),
          EditorView.updateListener.of((u) => u.docChanged && latest.current?.(u.state.doc.toString())),
        ],
      },
      parent: shadowOf(host.current!),
      root: shadowOf(host.current!),
      highlightChanges: true,
      gutter: true,
      revertControls: editable ? "a-to-b" : undefined,
    });
    // MergeView lays itself out with styles of its own, adopted into the same shadow root.
    return () => view.destroy();
  }, [server, device, editable]);
  return <div class="merge" ref={host} />;
}

export function ConflictView({ params }: { params: Record<string, string> }) {
  const c = conflicts.value.find((x) => x.id === params.id);
  const [merging, setMerging] = useState(false);
  const [merged, setMerged] = useState<Record<string, unknown>>({});
  const [done, setDone] = useState("");
  const resolve = useSubmit(async (how: "keepServer" | "keepClient" | "keepBoth" | "merged") => {
    const conflict = c!;
    const resolution =
      how === "merged"
        ? { case: "merged" as const, value: { mutationId: crypto.randomUUID(), recordId: conflict.recordId, baseVersion: conflict.server?.version ?? 0n, payload: changePayload(KINDS[conflict.kind], merged) } }
        : { case: how, value: true };
    await api.sync.resolveConflict({ conflictId: conflict.id, resolution });
    setDone(how === "keepBoth" ? "Resolved: both versions are kept (the pushed one as a copy)." : "Resolved.");
    await Promise.all([loadConflicts(), sync()]);
    navigate("/conflicts");
  });
  if (!c) {
    return (
      <Page title="Conflict">
        {done ? <Alert kind="success">{done}</Alert> : <Empty title="This conflict is resolved (here or on another device).">
          <Button onClick={() => navigate("/conflicts")}>Back to the conflicts</Button>
        </Empty>}
      </Page>
    );
  }
  const { server, device } = sides(c);
  const fields = [...new Set([...Object.keys(server ?? {}), ...Object.keys(device ?? {})])].filter((k) => k !== "sql");
  const startMerge = () => {
    setMerged({ ...(server ?? {}), ...(device ?? {}) });
    setMerging(true);
  };
  return (
    <Page title={`Conflict: ${titleOf(c)}`}>
      <p class="muted">
        {KIND_LABEL[c.kind] ?? "Record"} changed on {deviceLabel(c.deviceId)} from version {String(c.baseVersion)}, while the server already had version {String(c.server?.version ?? "?")}.
      </p>
      <ProblemAlert problem={resolve.problem} />
      <div class="table-wrap">
        <table class="table conflict-table">
          <caption class="sr-only">Fields of both versions; differences are marked</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Server (version {String(c.server?.version ?? "?")})</th>
              <th scope="col">Pushed from {deviceLabel(c.deviceId)}</th>
              {merging && <th scope="col">Merge</th>}
            </tr>
          </thead>
          <tbody>
            {!server || !device ? (
              <tr>
                <td>state</td>
                <td class={!server ? "diff-del" : undefined}>{server ? "kept" : "deleted"}</td>
                <td class={!device ? "diff-del" : undefined}>{device ? "kept" : "deleted"}</td>
              </tr>
            ) : null}
            {fields.map((k) => {
              const differ = !same(server?.[k], device?.[k]);
              return (
                <tr key={k} class={differ ? "differs" : undefined}>
                  <th scope="row">
                    {LABELS[k] ?? k}
                    {differ && <span class="sr-only"> (differs)</span>}
                  </th>
                  <td class={differ ? "diff-del" : undefined}>{show(server?.[k])}</td>
                  <td class={differ ? "diff-add" : undefined}>{show(device?.[k])}</td>
                  {merging && (
                    <td>
                      {typeof (merged[k] ?? device?.[k] ?? server?.[k]) === "boolean" ? (
                        <input type="checkbox" aria-label={`Merge: ${k}`} checked={!!merged[k]} onChange={(e) => setMerged({ ...merged, [k]: e.currentTarget.checked })} />
                      ) : (
                        <input aria-label={`Merge: ${k}`} value={show(merged[k]) === "—" ? "" : show(merged[k])} onInput={(e) => setMerged({ ...merged, [k]: Array.isArray(device?.[k] ?? server?.[k]) ? e.currentTarget.value.split(",").map((s) => s.trim()).filter(Boolean) : e.currentTarget.value })} />
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {(server?.sql !== undefined || device?.sql !== undefined) && (
        <section class="merge-section">
          <h2>SQL {same(server?.sql, device?.sql) ? <span class="muted small">(the same on both sides)</span> : null}</h2>
          <div class="merge-labels" aria-hidden="true">
            <span>Server</span>
            <span>{merging ? "Your merge (editable; arrows copy the server's lines)" : `Pushed from ${deviceLabel(c.deviceId)}`}</span>
          </div>
          <SqlMerge server={String(server?.sql ?? "")} device={String(device?.sql ?? "")} editable={merging} onChange={(v) => setMerged((m) => ({ ...m, sql: v }))} />
        </section>
      )}
      <div class="row resolve-actions">
        {merging ? (
          <>
            <Button kind="primary" busy={resolve.busy} onClick={() => void resolve.run("merged")}>
              Save the merge
            </Button>
            <Button kind="ghost" onClick={() => setMerging(false)}>
              Cancel the merge
            </Button>
          </>
        ) : (
          <>
            <Button kind="primary" busy={resolve.busy} onClick={() => void resolve.run("keepClient")}>
              Keep the pushed version
            </Button>
            <Button busy={resolve.busy} onClick={() => void resolve.run("keepServer")}>
              Keep the server's version
            </Button>
            <Button busy={resolve.busy} onClick={() => void resolve.run("keepBoth")} disabled={!server || !device}>
              Keep both
            </Button>
            <Button onClick={startMerge} disabled={!server || !device}>
              Edit a merge
            </Button>
          </>
        )}
      </div>
    </Page>
  );
}
