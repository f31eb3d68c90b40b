/** A new row: one typed field per column; an empty field takes the column's default. */
import type { TableColumn } from "@gen/sqlstudio/database/v1/schema_pb.js";
import { useState } from "preact/hooks";
import { problemOf, type Problem } from "../../api/errors.js";
import { Alert, Button, Field } from "../../ui/kit.js";
import { parseInput, type ValueInit } from "./values.js";

export function InsertRow({ columns, onInsert, onCancel }: { columns: TableColumn[]; onInsert: (values: Record<string, ValueInit>) => Promise<void>; onCancel: () => void }) {
  const [text, setText] = useState<Record<string, string>>({});
  const [error, setError] = useState<{ column?: string; message: string }>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const values: Record<string, ValueInit> = {};
    for (const c of columns) {
      const t = text[c.name];
      if (t === undefined || t === "") continue;
      try {
        values[c.name] = parseInput(t, c.databaseType);
      } catch (e) {
        return setError({ column: c.name, message: (e as Error).message });
      }
    }
    setBusy(true);
    try {
      await onInsert(values);
    } catch (e) {
      const p: Problem = problemOf(e);
      setError({ column: p.field.split(".").pop(), message: p.message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card insert" aria-labelledby="insert-h">
      <h2 id="insert-h">Add a row</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        {error && !columns.some((c) => c.name === error.column) && <Alert>{error.message}</Alert>}
        <div class="insert-grid">
          {columns.map((c) => (
            <Field
              label={`${c.name} (${c.databaseType})`}
              value={text[c.name] ?? ""}
              onInput={(v) => setText({ ...text, [c.name]: v })}
              placeholder={c.generated ? "generated" : c.defaultExpression ? `default: ${c.defaultExpression}` : c.nullable ? "NULL" : ""}
              error={error?.column === c.name ? error.message : undefined}
            />
          ))}
        </div>
        <div class="row">
          <Button kind="primary" type="submit" busy={busy}>
            Insert
          </Button>
          <Button kind="ghost" onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </section>
  );
}
