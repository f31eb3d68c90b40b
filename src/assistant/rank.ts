/**
 * Which tables a request needs, best first (DESIGN.md §8: "context is the product"). Pure.
 *
 * 1. Direct relevance: the request's words (stemmed, stopwords dropped, synonyms at a discount)
 *    against each table's name, column names and comments, weighted by how rare each word is in
 *    the schema (a word in every table, like `id` or `created`, says little). A table whose whole
 *    name the request covers ranks above one that only shares a word ("orders" over
 *    "order_status_history" for "orders last week").
 * 2. Tables named in the SQL being fixed, explained or optimized come first; tables of the
 *    caller's recent history on the connection get a small lift.
 * 3. Joins: tables on the shortest foreign-key path between two good matches (a junction table,
 *    `order_items` between `orders` and `products`), and the foreign-key neighbours of good matches,
 *    get part of their score.
 */
import { identifierStems, sameRoot, synonymsOf, textStems } from "./words.js";

export interface RankColumn {
  name: string;
  comment: string;
}

export interface RankTable {
  /** Unique key, `schema.name`. */
  key: string;
  name: string;
  comment: string;
  columns: RankColumn[];
  /** Keys of the tables this one references. */
  references: string[];
}

export interface RankRequest {
  /** The caller's words (question, error text). */
  text: string;
  /** Keys of tables named in the SQL of the request: always first. */
  sqlTables?: string[];
  /** Keys of tables in the caller's recent history on this connection. */
  historyTables?: string[];
}

export interface Ranked {
  key: string;
  score: number;
  /** The part from the request's own words. */
  direct: number;
}

const WEIGHT = { name: 3, column: 1, comment: 0.8, synonym: 0.7, root: 0.6, history: 1, sql: 1000 };
const SEEDS = 6;
const SEED_SHARE = 0.35;
const PATH_SHARE = 0.6;
const OUT_NEIGHBOUR_SHARE = 0.35;
const IN_NEIGHBOUR_SHARE = 0.25;
const MAX_PATH = 3;

interface Indexed {
  table: RankTable;
  name: Set<string>;
  nameList: string[];
  columns: Set<string>;
  comment: Set<string>;
  joined: string;
}

/** Per schema (the same array object): the stems of every table and the rarity of every stem. */
const cache = new WeakMap<RankTable[], { items: Indexed[]; idf: Map<string, number>; byKey: Map<string, Indexed> }>();

function index(tables: RankTable[]) {
  const hit = cache.get(tables);
  if (hit) return hit;
  const items = tables.map((t): Indexed => {
    const nameList = identifierStems(t.name);
    const columns = new Set(t.columns.flatMap((c) => identifierStems(c.name)));
    const comment = new Set([...textStems(t.comment), ...t.columns.flatMap((c) => textStems(c.comment))]);
    return { table: t, name: new Set(nameList), nameList, columns, comment, joined: nameList.join("") };
  });
  const df = new Map<string, number>();
  for (const it of items) for (const s of new Set([...it.name, ...it.columns, ...it.comment])) df.set(s, (df.get(s) ?? 0) + 1);
  const n = Math.max(1, items.length);
  const idf = new Map([...df].map(([s, d]) => [s, Math.log(1 + n / d)]));
  const out = { items, idf, byKey: new Map(items.map((it) => [it.table.key, it])) };
  cache.set(tables, out);
  return out;
}

const PREFIXES = ["re", "pre", "non", "un", "sub"];

/**
 * The request's stems with their weight (1, or the synonym discount), joined neighbours ("line
 * item" → "lineitem"), and a word the schema lacks without its prefix ("readmissions" → admission).
 */
function terms(text: string, vocabulary: Map<string, number>): Map<string, number> {
  const stems = textStems(text);
  const out = new Map<string, number>();
  for (const s of stems) out.set(s, 1);
  for (const s of stems) {
    if (vocabulary.has(s)) continue;
    const p = PREFIXES.find((x) => s.startsWith(x) && s.length - x.length >= 5 && vocabulary.has(s.slice(x.length)));
    if (p) out.set(s.slice(p.length), WEIGHT.synonym);
  }
  for (let i = 0; i + 1 < stems.length; i++) out.set(stems[i] + stems[i + 1], 1);
  for (const s of stems) for (const syn of synonymsOf(s)) if (!out.has(syn)) out.set(syn, WEIGHT.synonym);
  return out;
}

function directScore(it: Indexed, q: Map<string, number>, idf: Map<string, number>, maxIdf: number): number {
  let score = 0;
  let covered = 0;
  for (const s of it.nameList) if (q.has(s)) covered++;
  // A whole name the request spells (or spells joined): "order items", "lineitems".
  const coverage = it.nameList.length === 0 ? 0 : covered / it.nameList.length;
  for (const [s, w] of q) {
    const rarity = idf.get(s) ?? maxIdf;
    let best = 0;
    if (it.name.has(s) || s === it.joined) best = WEIGHT.name * (0.5 + 0.5 * (s === it.joined ? 1 : coverage));
    else if (it.columns.has(s)) best = WEIGHT.column;
    else if (it.comment.has(s)) best = WEIGHT.comment;
    else if (w === 1) {
      // Another form of the word ("interviewers" / interviewer_id, "smokers" / smoking_status).
      if (it.nameList.some((x) => sameRoot(x, s))) best = WEIGHT.name * 0.5 * WEIGHT.root;
      else if (some(it.columns, (x) => sameRoot(x, s))) best = WEIGHT.column * WEIGHT.root;
      else if (some(it.comment, (x) => sameRoot(x, s))) best = WEIGHT.comment * WEIGHT.root;
    }
    score += best * rarity * w;
  }
  return score;
}

function some<T>(set: Set<T>, f: (x: T) => boolean): boolean {
  for (const x of set) if (f(x)) return true;
  return false;
}

/** Undirected foreign-key graph. */
function graph(items: Indexed[], byKey: Map<string, Indexed>) {
  const out = new Map<string, Set<string>>();
  const inc = new Map<string, Set<string>>();
  for (const it of items) {
    for (const r of it.table.references) {
      if (!byKey.has(r) || r === it.table.key) continue;
      (out.get(it.table.key) ?? out.set(it.table.key, new Set()).get(it.table.key)!).add(r);
      (inc.get(r) ?? inc.set(r, new Set()).get(r)!).add(it.table.key);
    }
  }
  const neighbours = (k: string) => new Set([...(out.get(k) ?? []), ...(inc.get(k) ?? [])]);
  return { out, inc, neighbours };
}

/** Shortest path between two tables (inclusive), at most MAX_PATH edges; undefined when none. */
function path(from: string, to: string, neighbours: (k: string) => Set<string>): string[] | undefined {
  const prev = new Map<string, string>([[from, from]]);
  let frontier = [from];
  for (let depth = 0; depth < MAX_PATH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const k of frontier) {
      for (const n of neighbours(k)) {
        if (prev.has(n)) continue;
        prev.set(n, k);
        if (n === to) {
          const p = [to];
          for (let c = to; c !== from; c = prev.get(c)!) p.push(prev.get(c)!);
          return p.reverse();
        }
        next.push(n);
      }
    }
    frontier = next;
  }
  return undefined;
}

/** Every table with a positive score, best first (ties by name). */
export function rankTables(tables: RankTable[], req: RankRequest): Ranked[] {
  const { items, idf, byKey } = index(tables);
  const q = terms(req.text, idf);
  const maxIdf = Math.log(1 + Math.max(1, items.length));
  const direct = new Map<string, number>();
  for (const it of items) direct.set(it.table.key, directScore(it, q, idf, maxIdf));
  (req.historyTables ?? []).forEach((k) => byKey.has(k) && direct.set(k, direct.get(k)! + WEIGHT.history));
  for (const k of req.sqlTables ?? []) if (byKey.has(k)) direct.set(k, direct.get(k)! + WEIGHT.sql);

  const g = graph(items, byKey);
  const ordered = [...direct].filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]);
  const top = ordered[0]?.[1] ?? 0;
  const seeds = ordered.filter(([, s]) => s >= SEED_SHARE * Math.min(top, WEIGHT.sql)).slice(0, SEEDS);
  const bonus = new Map<string, number>();
  const lift = (k: string, v: number) => bonus.set(k, Math.max(bonus.get(k) ?? 0, v));
  for (let i = 0; i < seeds.length; i++) {
    const [a, sa] = seeds[i];
    for (const n of g.out.get(a) ?? []) lift(n, OUT_NEIGHBOUR_SHARE * Math.min(sa, top));
    for (const n of g.inc.get(a) ?? []) lift(n, IN_NEIGHBOUR_SHARE * Math.min(sa, top));
    for (let j = i + 1; j < seeds.length; j++) {
      const [b, sb] = seeds[j];
      const p = path(a, b, g.neighbours);
      if (!p) continue;
      for (const k of p.slice(1, -1)) lift(k, PATH_SHARE * Math.min(sa, sb));
    }
  }
  // A second hop outwards: what a lifted table references (its lookups: the employee behind an
  // interviewer, the subscription behind a cancellation), at half the share.
  const seedKeys = new Set(seeds.map(([k]) => k));
  for (const [k, b] of [...bonus]) {
    if (seedKeys.has(k)) continue;
    const total = Math.min(direct.get(k)! + b, top);
    for (const n of g.out.get(k) ?? []) lift(n, 0.5 * OUT_NEIGHBOUR_SHARE * total);
  }
  return items
    .map((it) => {
      const d = direct.get(it.table.key)!;
      return { key: it.table.key, direct: d, score: d + (bonus.get(it.table.key) ?? 0) };
    })
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
