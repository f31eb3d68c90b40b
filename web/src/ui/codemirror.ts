/**
 * CodeMirror under the console's strict CSP: CodeMirror writes its styles at run time, and a
 * <style> element would need 'unsafe-inline'. Inside a shadow root it adopts constructed
 * stylesheets instead, which style-src does not govern; so every editor lives in one.
 * Colours come from the page's CSS variables (they inherit into the shadow root), so the editors
 * follow the light and dark themes.
 */
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { EditorView } from "@codemirror/view";
import { tags as t } from "@lezer/highlight";

/** The shadow root to mount an editor in (made once per host element). */
export const shadowOf = (host: HTMLElement): ShadowRoot => host.shadowRoot ?? host.attachShadow({ mode: "open" });

export const highlight = syntaxHighlighting(
  HighlightStyle.define([
    { tag: [t.keyword, t.operatorKeyword, t.modifier], color: "var(--tok-keyword)", fontWeight: "600" },
    { tag: [t.string, t.special(t.string)], color: "var(--tok-string)" },
    { tag: [t.number, t.bool, t.null], color: "var(--tok-number)" },
    { tag: [t.comment, t.lineComment, t.blockComment], color: "var(--tok-comment)", fontStyle: "italic" },
    { tag: [t.typeName, t.standard(t.name)], color: "var(--tok-type)" },
    { tag: t.special(t.name), color: "var(--tok-type)" },
  ]),
);

export const editorTheme = EditorView.theme({
  "&": { height: "100%", fontSize: "13px", backgroundColor: "var(--bg)", color: "var(--fg)" },
  ".cm-scroller": { fontFamily: "var(--mono)" },
  ".cm-content": { caretColor: "var(--fg)" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--fg)" },
  ".cm-gutters": { backgroundColor: "var(--bg-soft)", color: "var(--fg-muted)", borderRight: "1px solid var(--border)" },
  ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: "var(--bg-hover)" },
  "&.cm-focused": { outline: "2px solid var(--focus)", outlineOffset: "-2px" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection": { backgroundColor: "var(--bg-selected) !important" },
  ".cm-tooltip": { backgroundColor: "var(--bg-raised)", color: "var(--fg)", border: "1px solid var(--border)" },
  ".cm-tooltip-autocomplete ul li[aria-selected]": { backgroundColor: "var(--accent)", color: "var(--accent-fg)" },
  ".cm-placeholder": { color: "var(--fg-muted)" },
  ".cm-panels": { backgroundColor: "var(--bg-soft)", color: "var(--fg)" },
  ".cm-changedLine": { backgroundColor: "var(--diff-add) !important" },
  "&.cm-merge-a .cm-changedLine, .cm-deletedChunk": { backgroundColor: "var(--diff-del) !important" },
  // Changed words underlined, not shaded: text keeps its contrast on the line's colour.
  ".cm-changedText, del.cm-deletedText": { background: "none !important", textDecoration: "underline 2px var(--diff-mark)", textUnderlineOffset: "3px" },
});
