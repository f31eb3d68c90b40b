/**
 * The workspace's query tabs, kept across reloads (localStorage, per user): each has its SQL and its
 * connection, and may be bound to a saved query of the library. Runs are not kept.
 */
import { effect, signal } from "@preact/signals";
import { session } from "../../api/session.js";

export interface QueryTab {
  id: string;
  title: string;
  sql: string;
  connectionId: string;
  /** The saved query this tab edits, when opened from the library. */
  savedQueryId?: string;
  readOnly?: boolean;
}

const key = () => `sqlstudio.tabs.${session.value?.user.id ?? "anonymous"}`;
const newId = () => crypto.randomUUID();

export const tabs = signal<QueryTab[]>([]);
export const activeTabId = signal<string>("");

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(key()) ?? "null") as { tabs: QueryTab[]; active: string } | null;
    if (saved && saved.tabs.length) {
      tabs.value = saved.tabs;
      activeTabId.value = saved.tabs.some((t) => t.id === saved.active) ? saved.active : saved.tabs[0].id;
      return;
    }
  } catch {
    /* a damaged entry starts over */
  }
  const first = { id: newId(), title: "Query 1", sql: "", connectionId: "" };
  tabs.value = [first];
  activeTabId.value = first.id;
}

let loadedFor = "";
effect(() => {
  const user = session.value?.user.id;
  if (!user || user === loadedFor) return;
  loadedFor = user;
  load();
});

let timer: ReturnType<typeof setTimeout> | undefined;
const save = () => {
  clearTimeout(timer);
  if (loadedFor) localStorage.setItem(key(), JSON.stringify({ tabs: tabs.value, active: activeTabId.value }));
};
effect(() => {
  void tabs.value;
  void activeTabId.value;
  clearTimeout(timer);
  timer = setTimeout(save, 200);
});
// A reload or a closed tab right after typing keeps the last keystrokes.
window.addEventListener("pagehide", save);

export const activeTab = (): QueryTab => tabs.value.find((t) => t.id === activeTabId.value) ?? tabs.value[0];

export function updateTab(id: string, change: Partial<QueryTab>): void {
  tabs.value = tabs.value.map((t) => (t.id === id ? { ...t, ...change } : t));
}

export function openTab(init: Partial<QueryTab> = {}): QueryTab {
  const used = new Set(tabs.value.map((t) => t.title));
  let n = tabs.value.length + 1;
  while (used.has(`Query ${n}`)) n++;
  const tab: QueryTab = { id: newId(), title: `Query ${n}`, sql: "", connectionId: activeTab()?.connectionId ?? "", ...init };
  tabs.value = [...tabs.value, tab];
  activeTabId.value = tab.id;
  return tab;
}

export function closeTab(id: string): void {
  const i = tabs.value.findIndex((t) => t.id === id);
  const rest = tabs.value.filter((t) => t.id !== id);
  if (rest.length === 0) rest.push({ id: newId(), title: "Query 1", sql: "", connectionId: tabs.value[i]?.connectionId ?? "" });
  tabs.value = rest;
  if (activeTabId.value === id) activeTabId.value = rest[Math.min(i, rest.length - 1)].id;
}
