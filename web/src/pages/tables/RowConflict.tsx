/**
 * A row edit the database refused with Aborted (someone changed the row since it was read): the
 * row as the console saw it with the change, beside the row as it is now, differences marked.
 */
import type { Column, Row } from "@gen/sqlstudio/database/v1/values_pb.js";
import { Alert, Button } from "../../ui/kit.js";
import { textOf, type ValueInit } from "./values.js";

export interface RowConflictState {
  columns: Column[];
  /** The row as read, before the edit. */
  before: Row;
  /** Column → the value typed (absent for a delete). */
  change: Record<string, ValueInit> | null;
  /** The row now (undefined: it was deleted meanwhile). */
  now: Row | undefined;
}

const initText = (v: ValueInit) => (v.kind?.case === "nullValue" ? "NULL" : v.kind?.case === "bytesValue" ? "(bytes)" : String(v.kind?.value ?? "NULL"));

export function RowConflict({ state, onRetry, onDiscard }: { state: RowConflictState; onRetry: () => void; onDiscard: () => void }) {
  const { columns, before, change, now } = state;
  return (
    <section class="row-conflict" aria-labelledby="row-conflict-h">
      <Alert kind="warning">
        <strong id="row-conflict-h">This row changed in the database since you read it.</strong> Your {change ? "edit" : "delete"} was not applied. Compare both versions, then apply yours on top of the current row or keep the database's.
      </Alert>
      <div class="table-wrap">
        <table class="table conflict-table">
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">When you read it</th>
              <th scope="col">{change ? "Your version" : "You deleted it"}</th>
              <th scope="col">Now in the database</th>
            </tr>
          </thead>
          <tbody>
            {columns.map((c, i) => {
              const was = textOf(before.values[i]);
              const mine = change ? (change[c.name] ? initText(change[c.name]) : was) : "—";
              const current = now ? textOf(now.values[i]) : "(row deleted)";
              const changedThere = current !== was;
              return (
                <tr key={c.name} class={changedThere || (change && change[c.name]) ? "differs" : undefined}>
                  <th scope="row">{c.name}</th>
                  <td>{was}</td>
                  <td class={change && change[c.name] ? "diff-add" : undefined}>{mine}</td>
                  <td class={changedThere ? "diff-del" : undefined}>
                    {current}
                    {changedThere && <span class="sr-only"> (changed)</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div class="row">
        {now && (
          <Button kind="primary" onClick={onRetry}>
            {change ? "Apply my change to the current row" : "Delete the current row"}
          </Button>
        )}
        <Button onClick={onDiscard}>Keep the database's version</Button>
      </div>
    </section>
  );
}
