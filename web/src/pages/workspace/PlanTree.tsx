/** EXPLAIN shown as a tree (plan.ts reads the engines' formats), or as the database printed it. */
import { useState } from "preact/hooks";
import { Button } from "../../ui/kit.js";
import { parsePlan, type PlanNode } from "./plan.js";

function Node({ node, depth }: { node: PlanNode; depth: number }) {
  return (
    <li>
      <div class="plan-node">
        <strong>{node.label}</strong>
        {node.detail.length > 0 && <div class="plan-detail">{node.detail.join(" · ")}</div>}
      </div>
      {node.children.length > 0 && (
        <ul>
          {node.children.map((c) => (
            <Node node={c} depth={depth + 1} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function PlanTree({ plan, format, onClose }: { plan: string; format: string; onClose: () => void }) {
  const [raw, setRaw] = useState(false);
  let parsed: ReturnType<typeof parsePlan> | undefined;
  try {
    parsed = parsePlan(plan, format);
  } catch {
    parsed = undefined;
  }
  return (
    <section class="plan" aria-label="Query plan">
      <div class="statement-bar">
        <strong>Query plan</strong>
        <span class="statement-actions">
          <Button kind="ghost" onClick={() => setRaw(!raw)}>
            {raw ? "Show tree" : "Show raw"}
          </Button>
          <Button kind="ghost" onClick={onClose}>
            Close plan
          </Button>
        </span>
      </div>
      {raw || !parsed ? (
        <pre class="plan-raw">{plan}</pre>
      ) : (
        <>
          <ul class="plan-tree">
            {parsed.roots.map((r) => (
              <Node node={r} depth={0} />
            ))}
          </ul>
          {parsed.summary.length > 0 && <p class="muted small">{parsed.summary.join(" · ")}</p>}
        </>
      )}
    </section>
  );
}
