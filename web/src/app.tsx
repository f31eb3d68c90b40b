/**
 * The console's shell: which page a path opens, the top bar, and the signed-out pages. Every page
 * lives in pages/<area>/; the route table below is the map.
 */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { refresh, session } from "./api/session.js";
import { location, match, navigate } from "./router.js";
import { Shell } from "./shell.js";
import { Loading } from "./ui/kit.js";
import { ForgotPassword, ResetPassword, VerifyEmail } from "./pages/auth/EmailLinks.js";
import { SignIn } from "./pages/auth/SignIn.js";
import { SignUp } from "./pages/auth/SignUp.js";
import { Profile } from "./pages/account/Profile.js";
import { Devices } from "./pages/account/Devices.js";
import { SecurityEvents } from "./pages/account/SecurityEvents.js";
import { NotFound } from "./pages/NotFound.js";
import { ConnectionForm } from "./pages/connections/ConnectionForm.js";
import { Connections } from "./pages/connections/Connections.js";
import { Conflicts } from "./pages/conflicts/Conflicts.js";
import { Library } from "./pages/library/Library.js";
import { SavedQueryEditor } from "./pages/library/SavedQueryEditor.js";
import { TableView } from "./pages/tables/TableView.js";

import { Shortcuts } from "./pages/Shortcuts.js";

type Page = ComponentType<{ params: Record<string, string> }>;

/** A page loaded on first use: CodeMirror (the workspace, the conflict view) stays out of the first download. */
function lazy(load: () => Promise<Record<string, unknown>>, name: string): Page {
  let loaded: Page | undefined;
  let loading: Promise<void> | undefined;
  return function Lazy(props) {
    const [, ready] = useState(0);
    if (loaded) {
      const Loaded = loaded;
      return <Loaded {...props} />;
    }
    loading ??= load().then((m) => void (loaded = m[name] as Page));
    void loading.then(() => ready(1));
    return <Loading />;
  };
}

const Workspace = lazy(() => import("./pages/workspace/Workspace.js"), "Workspace");
const ConflictView = lazy(() => import("./pages/conflicts/ConflictView.js"), "ConflictView");

/** Pages anyone can open (the emailed links work signed in or not). */
const PUBLIC: [string, Page][] = [
  ["/sign-in", SignIn],
  ["/sign-up", SignUp],
  ["/forgot-password", ForgotPassword],
  ["/reset-password", ResetPassword],
  ["/verify-email", VerifyEmail],
];

/** Pages of a signed-in user, inside the shell. */
export const ROUTES: [string, Page][] = [
  ["/", Workspace],
  ["/connections", Connections],
  ["/connections/:id", ConnectionForm],
  ["/tables/:connectionId/:schema/:table", TableView],
  ["/library", Library],
  ["/library/:id", SavedQueryEditor],
  ["/conflicts", Conflicts],
  ["/conflicts/:id", ConflictView],
  ["/account", Profile],
  ["/account/devices", Devices],
  ["/account/security", SecurityEvents],
  ["/shortcuts", Shortcuts],
];

function find(table: [string, Page][], path: string): { Page: Page; params: Record<string, string> } | undefined {
  for (const [pattern, Page] of table) {
    const params = match(pattern, path);
    if (params) return { Page, params };
  }
  return undefined;
}

export function App() {
  useEffect(() => {
    void refresh();
  }, []);
  const { path } = location.value;
  const s = session.value;
  const open = find(PUBLIC, path);
  if (open && (s === null || path === "/verify-email" || path === "/reset-password")) return <open.Page params={open.params} />;
  if (s === undefined) return <Loading label="Opening SQL Studio…" />;
  if (s === null) {
    if (path !== "/sign-in") navigate(`/sign-in${path === "/" ? "" : `?next=${encodeURIComponent(path + window.location.search)}`}`, { replace: true });
    return <SignIn />;
  }
  if (open) {
    navigate("/", { replace: true });
    return null;
  }
  const page = find(ROUTES, path);
  return <Shell>{page ? <page.Page params={page.params} /> : <NotFound />}</Shell>;
}
