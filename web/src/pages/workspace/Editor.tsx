/**
 * The SQL editor: CodeMirror 6 with @codemirror/lang-sql in the connection's dialect, completing
 * the connection's tables and columns. Each query tab keeps its own editor state (undo history
 * included). Ctrl/Cmd-Enter runs the selection or the whole script, Ctrl/Cmd-Shift-Enter the
 * statement under the cursor, Esc cancels, Ctrl/Cmd-S saves, Ctrl/Cmd-E explains.
 */
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, completionStatus } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, toggleComment } from "@codemirror/commands";
import { bracketMatching, indentOnInput, syntaxTree } from "@codemirror/language";
import { MySQL, PostgreSQL, SQLite, sql, StandardSQL, type SQLNamespace } from "@codemirror/lang-sql";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, placeholder } from "@codemirror/view";
import { useEffect, useRef } from "preact/hooks";
import { Engine } from "@gen/sqlstudio/database/v1/connection_pb.js";
import { editorTheme, highlight, shadowOf } from "../../ui/codemirror.js";

export interface EditorActions {
  run(sql: string): void;
  cancel(): boolean;
  save(): void;
  explain(sql: string): void;
  newTab(): void;
}

export interface EditorProps {
  tabId: string;
  value: string;
  engine: Engine | undefined;
  schema: SQLNamespace;
  defaultSchema?: string;
  onChange(sql: string): void;
  actions: EditorActions;
}

/** The statement around the cursor (lang-sql's Statement nodes), without its trailing semicolon. */
export function statementAt(state: EditorState): string {
  const pos = state.selection.main.head;
  let best: { from: number; to: number } | undefined;
  syntaxTree(state).topNode.cursor().iterate((n) => {
    if (n.name !== "Statement") return true;
    if (n.from <= pos && (pos <= n.to || !best)) best = { from: n.from, to: n.to };
    else if (n.to <= pos) best = { from: n.from, to: n.to };
    return false;
  });
  const text = best ? state.sliceDoc(best.from, best.to) : state.doc.toString();
  return text.replace(/;\s*$/, "").trim();
}

/** The selection when there is one, else the whole script. */
export function selectionOrAll(state: EditorState): string {
  const sel = state.selection.main;
  return (sel.empty ? state.doc.toString() : state.sliceDoc(sel.from, sel.to)).trim();
}

const dialectOf = (e: Engine | undefined) => (e === Engine.POSTGRESQL ? PostgreSQL : e === Engine.MYSQL ? MySQL : e === Engine.SQLITE ? SQLite : StandardSQL);


export function Editor(props: EditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView>(undefined);
  const states = useRef(new Map<string, EditorState>());
  const language = useRef(new Compartment());
  const latest = useRef(props);
  latest.current = props;

  const languageExt = (): Extension => sql({ dialect: dialectOf(latest.current.engine), schema: latest.current.schema, defaultSchema: latest.current.defaultSchema, upperCaseKeywords: true });

  const extensions = (): Extension[] => [
    lineNumbers(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    autocompletion({ activateOnTyping: true }),
    highlightActiveLine(),
    highlightSelectionMatches(),
    highlight,
    placeholder("SELECT … — Ctrl/Cmd-Enter runs it"),
    keymap.of([
      { key: "Mod-Enter", preventDefault: true, run: (v) => (latest.current.actions.run(selectionOrAll(v.state)), true) },
      { key: "Mod-Shift-Enter", preventDefault: true, run: (v) => (latest.current.actions.run(statementAt(v.state)), true) },
      { key: "Escape", run: (v) => completionStatus(v.state) === null && latest.current.actions.cancel() },
      { key: "Mod-s", preventDefault: true, run: () => (latest.current.actions.save(), true) },
      { key: "Mod-e", preventDefault: true, run: (v) => (latest.current.actions.explain(statementAt(v.state)), true) },
      { key: "Alt-t", preventDefault: true, run: () => (latest.current.actions.newTab(), true) },
      { key: "Mod-/", run: toggleComment },
      ...closeBracketsKeymap,
      ...completionKeymap,
      ...searchKeymap,
      ...historyKeymap,
      // Tab is left to move focus (no indentWithTab): the editor must not trap keyboard users.
      ...defaultKeymap,
    ]),
    language.current.of(languageExt()),
    editorTheme,
    EditorView.contentAttributes.of({ "aria-label": "SQL editor" }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) latest.current.onChange(u.state.doc.toString());
    }),
  ];

  const stateFor = (tabId: string, doc: string) => {
    let s = states.current.get(tabId);
    if (!s || s.doc.toString() !== doc) s = EditorState.create({ doc, extensions: extensions() });
    return s;
  };

  useEffect(() => {
    const root = shadowOf(host.current!);
    view.current = new EditorView({ state: stateFor(props.tabId, props.value), parent: root, root });
    return () => view.current?.destroy();
  }, []);

  // Another tab: keep this one's state (undo included), show the other's.
  const shownTab = useRef(props.tabId);
  useEffect(() => {
    const v = view.current!;
    if (shownTab.current === props.tabId) return;
    states.current.set(shownTab.current, v.state);
    shownTab.current = props.tabId;
    v.setState(stateFor(props.tabId, props.value));
    v.dispatch({ effects: language.current.reconfigure(languageExt()) });
  }, [props.tabId]);

  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(languageExt()) });
  }, [props.engine, props.schema, props.defaultSchema]);

  return <div class="editor" ref={host} />;
}
