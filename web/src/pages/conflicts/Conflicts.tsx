/**
 * Sync conflicts: a change pushed on an old version keeps both sides on the server until someone
 * decides. The list shows every open conflict of the user; a conflict shows the server's version
 * and the pushed one side by side, field by field with the differences marked, the SQL in a merge
 * view, and the four ways out: keep the server's, keep the pushed one, keep both, or edit a merge.
 * Resolutions reach every open console through the realtime poke (sync/library.ts).
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { toJson } from "@bufbuild/protobuf";
import { RecordKind, SavedQuerySchema, ConnectionProfileSchema, HistoryEntrySchema, type Conflict } from "@gen/sqlstudio/sync/v1/sync_pb.js";
import { conflicts, library } from "../../sync/library.js";
import { Link } from "../../router.js";
import { Empty, Page, When } from "../../ui/kit.js";

export const KIND_LABEL: Record<number, string> = { [RecordKind.SAVED_QUERY]: "Saved query", [RecordKind.CONNECTION]: "Connection profile", [RecordKind.HISTORY]: "History entry" };

/** The two sides of a conflict as proto JSON objects (null for a deletion). */
export function sides(c: Conflict): { server: Record<string, unknown> | null; device: Record<string, unknown> | null } {
  const json = (p: { case: string | undefined; value?: unknown }) =>
    p.case === "savedQuery"
      ? (toJson(SavedQuerySchema, p.value as never) as Record<string, unknown>)
      : p.case === "connection"
        ? (toJson(ConnectionProfileSchema, p.value as never) as Record<string, unknown>)
        : p.case === "history"
          ? (toJson(HistoryEntrySchema, p.value as never) as Record<string, unknown>)
          : null;
  return {
    server: c.server && !c.server.deleted ? json(c.server.payload) : null,
    device: c.client && !c.client.delete ? json(c.client.payload) : null,
  };
}

export const titleOf = (c: Conflict) => {
  const { server, device } = sides(c);
  return String(server?.title ?? server?.name ?? device?.title ?? device?.name ?? c.recordId);
};

export const deviceLabel = (id: string) => (id === library.value?.deviceId ? "this browser" : id.startsWith("web-") ? "another browser" : `device ${id}`);

export function Conflicts() {
  const list = conflicts.value;
  return (
    <Page title="Conflicts">
      <p class="muted">
        When two devices change the same item before they sync, the server keeps both versions here until you choose. Nothing is lost meanwhile.
      </p>
      {list.length === 0 ? (
        <Empty title="No conflicts.">Everything is in sync.</Empty>
      ) : (
        <ul class="saved-list">
          {list.map((c) => (
            <li class="saved" key={c.id} data-conflict={titleOf(c)}>
              <div class="saved-main">
                <Link href={`/conflicts/${c.id}`} class="saved-title">
                  {titleOf(c)}
                </Link>
                <div class="small muted">
                  {KIND_LABEL[c.kind] ?? "Record"} · changed on {deviceLabel(c.deviceId)} from version {String(c.baseVersion)} while the server had version {String(c.server?.version ?? "?")} ·{" "}
                  <When at={c.createdAt ? timestampDate(c.createdAt) : undefined} />
                </div>
              </div>
              <div class="conn-actions">
                <Link href={`/conflicts/${c.id}`} class="btn btn-primary">
                  Resolve
                </Link>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
