import { Page } from "../ui/kit.js";

const mod = /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl";

/** Every keyboard shortcut of the console, in one place (opened with ?). */
export const SHORTCUTS: [string, string[], string][] = [
  ["Anywhere", ["?"], "Show this list"],
  ["SQL editor", [mod, "Enter"], "Run the selection, or the whole script"],
  ["SQL editor", [mod, "Shift", "Enter"], "Run the statement under the cursor"],
  ["SQL editor", ["Esc"], "Cancel the running query (when the editor is not completing)"],
  ["SQL editor", [mod, "S"], "Save to the library"],
  ["SQL editor", [mod, "E"], "Explain the statement (plan tree)"],
  ["SQL editor", ["Ctrl", "Space"], "Complete keywords, tables and columns"],
  ["SQL editor", [mod, "/"], "Comment or uncomment lines"],
  ["SQL editor", ["Alt", "T"], "New query tab"],
  ["Results grid", ["↑", "↓", "←", "→"], "Move between cells"],
  ["Results grid", ["PgUp", "PgDn", "Home", "End"], "Move by a page, to the first or last row"],
  ["Results grid", [mod, "C"], "Copy the cell"],
  ["Table view", ["Enter"], "Edit the cell (Enter saves, Esc leaves it)"],
];

export function Shortcuts() {
  return (
    <Page title="Keyboard shortcuts">
      <div class="table-wrap">
        <table class="table">
          <caption class="sr-only">Keyboard shortcuts</caption>
          <thead>
            <tr>
              <th scope="col">Where</th>
              <th scope="col">Keys</th>
              <th scope="col">What it does</th>
            </tr>
          </thead>
          <tbody>
            {SHORTCUTS.map(([where, keys, what]) => (
              <tr>
                <td>{where}</td>
                <td>
                  {keys.map((k, i) => (
                    <>
                      {i > 0 && " + "}
                      <kbd>{k}</kbd>
                    </>
                  ))}
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Page>
  );
}
