/** One saved query's fields, edited here and queued for sync (it works offline). */
import { useId, useState } from "preact/hooks";
import { navigate } from "../../router.js";
import { items, library, write } from "../../sync/library.js";
import { Button, Check, Empty, Field, Page } from "../../ui/kit.js";
import { openSaved, SyncStatus } from "./Library.js";

export function SavedQueryEditor({ params }: { params: Record<string, string> }) {
  const isNew = params.id === "new";
  const item = items(library.value, "saved_query").find((i) => i.id === params.id);
  if (!library.value) return null;
  if (!isNew && !item) {
    return (
      <Page title="Saved query">
        <Empty title="This saved query does not exist (any more).">
          <Button onClick={() => navigate("/library")}>Back to the library</Button>
        </Empty>
      </Page>
    );
  }
  return <Form key={params.id} id={isNew ? undefined : params.id} initial={(item?.payload ?? {}) as Fields} />;
}

interface Fields {
  title?: string;
  sql?: string;
  description?: string;
  folder?: string;
  tags?: string[];
  favorite?: boolean;
  connectionId?: string;
}

function Form({ id, initial }: { id?: string; initial: Fields }) {
  const [f, setF] = useState<Fields>(initial);
  const [error, setError] = useState<string>();
  const sqlId = useId();
  const set = <K extends keyof Fields>(k: K) => (v: Fields[K]) => setF((x) => ({ ...x, [k]: v }));
  const save = () => {
    if (!f.title?.trim()) return setError("A title is required.");
    write("saved_query", id, { ...initial, ...f, title: f.title.trim() });
    navigate("/library");
  };
  return (
    <Page title={id ? "Edit saved query" : "New saved query"}>
      <SyncStatus />
      <form
        class="narrow"
        onSubmit={(e) => {
          e.preventDefault();
          save();
        }}
      >
        <Field label="Title" value={f.title ?? ""} onInput={set("title")} required autofocus error={error} />
        <div class="field">
          <label for={sqlId}>SQL</label>
          <textarea id={sqlId} rows={10} value={f.sql ?? ""} onInput={(e) => set("sql")(e.currentTarget.value)} spellcheck={false} />
        </div>
        <Field label="Description" value={f.description ?? ""} onInput={set("description")} />
        <div class="row">
          <Field label="Folder" value={f.folder ?? ""} onInput={set("folder")} />
          <Field label="Tags (comma-separated)" value={(f.tags ?? []).join(", ")} onInput={(v) => set("tags")(v.split(",").map((t) => t.trim()).filter(Boolean))} />
        </div>
        <Check label="Favourite" checked={!!f.favorite} onChange={set("favorite")} />
        <div class="row">
          <Button kind="primary" type="submit">
            Save
          </Button>
          {id && (
            <Button onClick={() => openSaved({ id, kind: "saved_query", version: 0, payload: { ...initial, ...f }, pending: false })}>Open in the workspace</Button>
          )}
          <Button kind="ghost" onClick={() => navigate("/library")}>
            Cancel
          </Button>
        </div>
      </form>
    </Page>
  );
}
