import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";

/** The centred card of the signed-out pages. */
export function AuthCard({ title, children, footer }: { title: string; children: ComponentChildren; footer?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · SQL Studio`;
  }, [title]);
  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <div class="brand brand-large" aria-hidden="true">
          <img src="/favicon.svg" alt="" width="28" height="28" /> SQL Studio
        </div>
        <h1>{title}</h1>
        {children}
      </div>
      {footer && <p class="auth-footer">{footer}</p>}
    </main>
  );
}

/** The message for a field from a problem that names it (proto field names). */
export const fieldError = (problem: { field: string; message: string } | undefined, ...names: string[]) =>
  problem && names.includes(problem.field) ? problem.message : undefined;
