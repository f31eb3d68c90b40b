/** The frame of every signed-in page: skip link, top bar with the sections, the account menu, banners. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { session, signOut } from "./api/session.js";
import { api } from "./api/transport.js";
import { Link, location, navigate } from "./router.js";
import { conflicts } from "./sync/library.js";
import { Alert, Button } from "./ui/kit.js";

/** The sections of the top bar. */
const NAV = [
  { href: "/", label: "Workspace" },
  { href: "/connections", label: "Connections" },
  { href: "/library", label: "Library" },
  { href: "/conflicts", label: "Conflicts" },
];

export function Shell({ children }: { children: ComponentChildren }) {
  const [menu, setMenu] = useState(false);
  const path = location.value.path;
  useEffect(() => setMenu(false), [path]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === "?" && !e.ctrlKey && !e.metaKey && !t.closest("input, textarea, select, .cm-editor, [contenteditable]")) navigate("/shortcuts");
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const user = session.value!.user;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand">
          <img src="/favicon.svg" alt="" width="22" height="22" /> SQL Studio
        </Link>
        <button class="btn menu-button" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>
          Menu
        </button>
        <nav id="nav" class={menu ? "nav nav-open" : "nav"} aria-label="Sections">
          {NAV.map((item) => (
            <Link href={item.href} class="nav-link" aria-current={(item.href === "/" ? path === "/" : path.startsWith(item.href)) ? "page" : undefined}>
              {item.label}
              {item.href === "/conflicts" && conflicts.value.length > 0 && (
                <>
                  <span class="badge" aria-hidden="true">
                    {conflicts.value.length}
                  </span>
                  <span class="sr-only"> ({conflicts.value.length} open)</span>
                </>
              )}
            </Link>
          ))}
          <Link href="/account" class="nav-link nav-account" aria-current={path.startsWith("/account") ? "page" : undefined}>
            {user.displayName || user.username}
          </Link>
          <button class="nav-link linkish" onClick={() => void signOut().then(() => navigate("/sign-in"))}>
            Sign out
          </button>
        </nav>
      </header>
      {!user.emailVerified && <VerifyBanner email={user.email} />}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

function VerifyBanner({ email }: { email: string }) {
  const [sent, setSent] = useState(false);
  return (
    <div class="banner">
      <Alert kind="warning">
        Verify your email: we sent a link to <strong>{email}</strong>.{" "}
        {sent ? (
          "A new link is on its way."
        ) : (
          <Button kind="ghost" onClick={() => void api.auth.resendVerificationEmail({}).then(() => setSent(true), () => setSent(true))}>
            Send a new link
          </Button>
        )}
      </Alert>
    </div>
  );
}
