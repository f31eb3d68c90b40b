/**
 * The result grid: only the rows in view exist in the DOM, fetched in blocks from a source (the
 * query worker). A million rows at 26 px would pass the browser's height limit for an element, so
 * past 8,000,000 px the scroll range is scaled: the scrollbar maps linearly onto the rows, and rows
 * are drawn at their exact place relative to the viewport.
 * Keyboard: arrows, PageUp/PageDown, Home/End (Ctrl: first/last row), Ctrl/Cmd-C copies the cell.
 */
import { useEffect, useId, useLayoutEffect, useReducer, useRef, useState } from "preact/hooks";
import { Kind } from "@client/rows.js";
import { numeric } from "../query/format.js";
import type { ColumnInfo, } from "../query/protocol.js";
import type { RowWindow } from "../query/runner.js";

export interface GridSource {
  /** Changes when the rows behind it change (a new run): the grid drops what it fetched. */
  key: string | number;
  rowCount: number;
  columns: ColumnInfo[];
  rows(from: number, count: number): Promise<RowWindow>;
  cell(row: number, column: number): Promise<{ text: string; kind: number }>;
}

export interface Active {
  row: number;
  column: number;
}

const ROW_H = 26;
const HEADER_H = 30;
const BLOCK = 256;
const MAX_SCROLL = 8_000_000;
const GUTTER = 64;

function initialWidth(c: ColumnInfo): number {
  const t = c.type.toLowerCase();
  const byType = /int|serial|bool/.test(t) ? 96 : /time|date/.test(t) ? 210 : /num|dec|float|double|real/.test(t) ? 150 : /json|text|char|uuid/.test(t) ? 240 : 160;
  return Math.max(byType, Math.min(320, 28 + c.name.length * 8));
}

export function Grid({ source, label, onActive }: { source: GridSource; label: string; onActive?: (a: Active | null) => void }) {
  const id = useId();
  const scroller = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(400);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const blocks = useRef(new Map<number, RowWindow | "loading">());
  const [widths, setWidths] = useState<number[]>(() => source.columns.map(initialWidth));
  const [active, setActive] = useState<Active | null>(null);

  // A new source (another run or statement): forget its rows, widths and the active cell.
  const shownKey = useRef(source.key);
  if (shownKey.current !== source.key) {
    shownKey.current = source.key;
    blocks.current.clear();
  }
  useEffect(() => {
    setWidths(source.columns.map(initialWidth));
    setActive(null);
    scroller.current?.scrollTo(0, 0);
  }, [source.key, source.columns.length]);

  useLayoutEffect(() => {
    const el = scroller.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  const bodyH = Math.max(ROW_H, height - HEADER_H);
  const total = source.rowCount * ROW_H;
  const range = Math.min(total, MAX_SCROLL);
  const scale = total > MAX_SCROLL ? (total - bodyH) / (range - bodyH) : 1;
  const virtualTop = Math.min(top * scale, Math.max(0, total - bodyH));
  const first = Math.floor(virtualTop / ROW_H);
  const offset = virtualTop - first * ROW_H;
  const visible = Math.min(source.rowCount - first, Math.ceil(bodyH / ROW_H) + 1);
  const widthSum = GUTTER + widths.reduce((a, b) => a + b, 0);

  /** The block holding `row`, fetched when missing or short of the rows that exist now. */
  const blockOf = (row: number): RowWindow | undefined => {
    const b = Math.floor(row / BLOCK);
    const have = blocks.current.get(b);
    const want = Math.min(BLOCK, source.rowCount - b * BLOCK);
    if (have === "loading") return undefined;
    if (have && have.cells.length / Math.max(1, source.columns.length) >= want) return have;
    blocks.current.set(b, "loading");
    const key = source.key;
    void source.rows(b * BLOCK, want).then((w) => {
      if (shownKey.current !== key) return;
      blocks.current.set(b, w);
      if (blocks.current.size > 400) blocks.current.delete(blocks.current.keys().next().value!);
      redraw(0);
    });
    return have;
  };

  const scrollToRow = (row: number) => {
    const el = scroller.current!;
    const rowTop = row * ROW_H;
    if (rowTop < virtualTop) el.scrollTop = rowTop / scale;
    else if (rowTop + ROW_H > virtualTop + bodyH) el.scrollTop = (rowTop + ROW_H - bodyH) / scale;
  };

  const move = (a: Active) => {
    const next = { row: Math.max(0, Math.min(source.rowCount - 1, a.row)), column: Math.max(0, Math.min(source.columns.length - 1, a.column)) };
    setActive(next);
    onActive?.(next);
    scrollToRow(next.row);
  };

  const onKey = (e: KeyboardEvent) => {
    if (source.rowCount === 0) return;
    const a = active ?? { row: first, column: 0 };
    const page = Math.max(1, Math.floor(bodyH / ROW_H) - 1);
    const keys: Record<string, () => Active> = {
      ArrowDown: () => ({ ...a, row: a.row + 1 }),
      ArrowUp: () => ({ ...a, row: a.row - 1 }),
      ArrowRight: () => ({ ...a, column: a.column + 1 }),
      ArrowLeft: () => ({ ...a, column: a.column - 1 }),
      PageDown: () => ({ ...a, row: a.row + page }),
      PageUp: () => ({ ...a, row: a.row - page }),
      Home: () => (e.ctrlKey || e.metaKey ? { ...a, row: 0 } : { ...a, column: 0 }),
      End: () => (e.ctrlKey || e.metaKey ? { ...a, row: source.rowCount - 1 } : { ...a, column: source.columns.length - 1 }),
    };
    if (keys[e.key]) {
      e.preventDefault();
      move(keys[e.key]());
    } else if ((e.ctrlKey || e.metaKey) && e.key === "c" && active && !window.getSelection()?.toString()) {
      e.preventDefault();
      void source.cell(active.row, active.column).then((c) => navigator.clipboard?.writeText(c.text));
    }
  };

  const resize = (col: number, e: PointerEvent) => {
    e.preventDefault();
    const startX = e.clientX;
    const start = widths[col];
    const onMove = (m: PointerEvent) => setWidths((w) => w.map((x, i) => (i === col ? Math.max(48, start + m.clientX - startX) : x)));
    const onUp = () => {
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
    };
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
  };

  const cellId = (r: number, c: number) => `${id}-${r}-${c}`;
  const rows = [];
  for (let i = 0; i < visible; i++) {
    const r = first + i;
    const block = blockOf(r);
    const base = block ? (r - block.from) * source.columns.length : -1;
    rows.push(
      <div class="grid-row" role="row" aria-rowindex={r + 2} key={r} style={{ top: `${i * ROW_H}px` }}>
        <div class="grid-gutter" role="rowheader">
          {(r + 1).toLocaleString()}
        </div>
        {source.columns.map((_, c) => {
          const kind = block ? block.kinds[base + c] : -1;
          const isActive = active?.row === r && active.column === c;
          const cls = `grid-cell${kind === Kind.Null || kind === Kind.Missing ? " null" : ""}${numeric(kind) ? " num" : ""}${isActive ? " active" : ""}`;
          return (
            <div
              class={cls}
              role="gridcell"
              id={cellId(r, c)}
              aria-colindex={c + 2}
              aria-selected={isActive}
              style={{ width: `${widths[c]}px` }}
              onMouseDown={() => {
                setActive({ row: r, column: c });
                onActive?.({ row: r, column: c });
              }}
            >
              {block ? block.cells[base + c] : "…"}
            </div>
          );
        })}
      </div>,
    );
  }

  return (
    <div class="grid">
      <div
        class="grid-scroller"
        ref={scroller}
        onScroll={(e) => setTop(e.currentTarget.scrollTop)}
        role="grid"
        aria-label={label}
        aria-rowcount={source.rowCount + 1}
        aria-colcount={source.columns.length + 1}
        aria-activedescendant={active && active.row >= first && active.row < first + visible ? cellId(active.row, active.column) : undefined}
        tabIndex={0}
        onKeyDown={onKey}
      >
        <div class="grid-layer" style={{ width: `${widthSum}px`, height: `${Math.min(height, HEADER_H + visible * ROW_H + ROW_H)}px` }}>
          <div class="grid-header" role="row" aria-rowindex={1}>
            <div class="grid-gutter" role="columnheader">
              #
            </div>
            {source.columns.map((c, i) => (
              <div class="grid-th" role="columnheader" aria-colindex={i + 2} style={{ width: `${widths[i]}px` }} title={`${c.name} ${c.type}${c.nullable ? "" : " not null"}`}>
                <span class="grid-th-name">{c.name}</span>
                <span class="grid-th-type">{c.type}</span>
                <span class="grid-resize" aria-hidden="true" onPointerDown={(e) => resize(i, e)} />
              </div>
            ))}
          </div>
          <div class="grid-body" style={{ transform: `translateY(${-offset}px)` }}>
            {rows}
          </div>
        </div>
        <div style={{ height: `${Math.max(0, range - bodyH + ROW_H)}px`, width: "1px" }} />
      </div>
    </div>
  );
}
