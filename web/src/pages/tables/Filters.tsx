/** The table view's typed filters: column, operator, values; all of them apply (AND). */
import { FilterOperator } from "@gen/sqlstudio/database/v1/table_pb.js";
import type { TableColumn } from "@gen/sqlstudio/database/v1/schema_pb.js";
import { useState } from "preact/hooks";
import { Button } from "../../ui/kit.js";
import { InputError, parseInput, type ValueInit } from "./values.js";

export interface FilterDraft {
  column: string;
  operator: FilterOperator;
  text: string;
  /** BETWEEN's second value. */
  text2: string;
}

export const OPERATORS: [FilterOperator, string][] = [
  [FilterOperator.EQ, "="],
  [FilterOperator.NE, "≠"],
  [FilterOperator.LT, "<"],
  [FilterOperator.LE, "≤"],
  [FilterOperator.GT, ">"],
  [FilterOperator.GE, "≥"],
  [FilterOperator.LIKE, "like"],
  [FilterOperator.IN, "in (comma-separated)"],
  [FilterOperator.BETWEEN, "between"],
  [FilterOperator.IS_NULL, "is null"],
  [FilterOperator.IS_NOT_NULL, "is not null"],
];

/** Drafts → request filters; throws InputError naming the filter when a value does not fit its column. */
export function toFilters(drafts: FilterDraft[], columns: TableColumn[]) {
  return drafts.map((f, i) => {
    const type = columns.find((c) => c.name === f.column)?.databaseType ?? "text";
    const parse = (t: string) => {
      try {
        return f.operator === FilterOperator.LIKE ? ({ kind: { case: "textValue", value: t } } as ValueInit) : parseInput(t, type);
      } catch (e) {
        throw new InputError(`Filter ${i + 1} (${f.column}): ${(e as Error).message}`);
      }
    };
    const values =
      f.operator === FilterOperator.IS_NULL || f.operator === FilterOperator.IS_NOT_NULL
        ? []
        : f.operator === FilterOperator.IN
          ? f.text.split(",").map((t) => parse(t.trim()))
          : f.operator === FilterOperator.BETWEEN
            ? [parse(f.text), parse(f.text2)]
            : [parse(f.text)];
    return { column: f.column, operator: f.operator, values };
  });
}

export function Filters({ columns, applied, onApply }: { columns: TableColumn[]; applied: FilterDraft[]; onApply: (f: FilterDraft[]) => void }) {
  const [drafts, setDrafts] = useState<FilterDraft[]>(applied);
  const change = (i: number, c: Partial<FilterDraft>) => setDrafts(drafts.map((d, j) => (j === i ? { ...d, ...c } : d)));
  const noValue = (op: FilterOperator) => op === FilterOperator.IS_NULL || op === FilterOperator.IS_NOT_NULL;
  return (
    <form
      class="filters"
      aria-label="Filters"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(drafts);
      }}
    >
      {drafts.map((f, i) => (
        <div class="filter" key={i}>
          <select aria-label={`Filter ${i + 1} column`} value={f.column} onChange={(e) => change(i, { column: e.currentTarget.value })}>
            {columns.map((c) => (
              <option value={c.name}>{c.name}</option>
            ))}
          </select>
          <select aria-label={`Filter ${i + 1} operator`} value={String(f.operator)} onChange={(e) => change(i, { operator: Number(e.currentTarget.value) as FilterOperator })}>
            {OPERATORS.map(([op, label]) => (
              <option value={String(op)}>{label}</option>
            ))}
          </select>
          {!noValue(f.operator) && <input aria-label={`Filter ${i + 1} value`} value={f.text} onInput={(e) => change(i, { text: e.currentTarget.value })} placeholder={columns.find((c) => c.name === f.column)?.databaseType} />}
          {f.operator === FilterOperator.BETWEEN && <input aria-label={`Filter ${i + 1} second value`} value={f.text2} onInput={(e) => change(i, { text2: e.currentTarget.value })} />}
          <Button kind="ghost" aria-label={`Remove filter ${i + 1}`} onClick={() => setDrafts(drafts.filter((_, j) => j !== i))}>
            ×
          </Button>
        </div>
      ))}
      <div class="row">
        <Button onClick={() => setDrafts([...drafts, { column: columns[0]?.name ?? "", operator: FilterOperator.EQ, text: "", text2: "" }])}>Add filter</Button>
        <Button kind="primary" type="submit">
          Apply filters
        </Button>
      </div>
    </form>
  );
}
