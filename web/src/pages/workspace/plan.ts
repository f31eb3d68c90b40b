/**
 * Query plans as trees: PostgreSQL's JSON plan (node type, relation, cost, rows, actual time),
 * MySQL / MariaDB's JSON (its blocks and tables), SQLite's EXPLAIN QUERY PLAN lines (by parent id).
 */
export interface PlanNode {
  label: string;
  detail: string[];
  children: PlanNode[];
}

function postgres(plan: Record<string, unknown>): PlanNode {
  const num = (k: string) => (plan[k] === undefined ? undefined : Number(plan[k]));
  const on = [plan["Relation Name"] && `on ${plan["Schema"] ? `${plan["Schema"]}.` : ""}${plan["Relation Name"]}${plan["Alias"] && plan["Alias"] !== plan["Relation Name"] ? ` ${plan["Alias"]}` : ""}`, plan["Index Name"] && `using ${plan["Index Name"]}`]
    .filter(Boolean)
    .join(" ");
  const detail = [
    `cost ${num("Startup Cost")}..${num("Total Cost")}`,
    `rows ${num("Plan Rows")}`,
    num("Actual Total Time") !== undefined ? `actual ${num("Actual Total Time")} ms, ${num("Actual Rows")} rows × ${num("Actual Loops")}` : "",
    ...["Filter", "Index Cond", "Hash Cond", "Join Filter", "Sort Key", "Group Key"].filter((k) => plan[k]).map((k) => `${k}: ${Array.isArray(plan[k]) ? (plan[k] as string[]).join(", ") : plan[k]}`),
  ].filter(Boolean);
  return { label: `${plan["Node Type"]}${on ? ` ${on}` : ""}`, detail, children: ((plan.Plans as Record<string, unknown>[]) ?? []).map(postgres) };
}

/** MySQL / MariaDB: every object key is a node; scalar fields are its details. */
function generic(label: string, value: unknown): PlanNode {
  const node: PlanNode = { label, detail: [], children: [] };
  if (Array.isArray(value)) value.forEach((v, i) => node.children.push(generic(`${label}[${i + 1}]`, v)));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (v && typeof v === "object") node.children.push(generic(k, v));
      else node.detail.push(`${k}: ${v}`);
    }
    const o = value as Record<string, unknown>;
    if (o.table_name) node.label = `${label} ${o.table_name}${o.access_type ? ` (${o.access_type})` : ""}`;
  }
  return node;
}

function sqlite(text: string): PlanNode[] {
  const byId = new Map<string, PlanNode>();
  const roots: PlanNode[] = [];
  for (const line of text.split("\n").filter(Boolean)) {
    const [id, parent, ...rest] = line.split("|");
    const node: PlanNode = { label: rest.join("|"), detail: [], children: [] };
    byId.set(id, node);
    (byId.get(parent)?.children ?? roots).push(node);
  }
  return roots;
}

export function parsePlan(plan: string, format: string): { roots: PlanNode[]; summary: string[] } {
  if (format !== "json") return { roots: sqlite(plan), summary: [] };
  const doc = JSON.parse(plan) as unknown;
  if (Array.isArray(doc) && doc[0] && typeof doc[0] === "object" && "Plan" in doc[0]) {
    const top = doc[0] as Record<string, unknown>;
    const summary = ["Planning Time", "Execution Time"].filter((k) => top[k] !== undefined).map((k) => `${k}: ${top[k]} ms`);
    return { roots: [postgres(top.Plan as Record<string, unknown>)], summary };
  }
  return { roots: generic("plan", doc).children, summary: [] };
}
