/**
 * A small history-API router: the location is a signal, `navigate` pushes a new entry, `<Link>`
 * turns a plain click into a navigation (modified clicks keep the browser's behaviour), and
 * `match` reads `:params` out of a path. The server answers every console path with index.html.
 */
import { signal } from "@preact/signals";
import type { AnchorHTMLAttributes, ComponentChildren } from "preact";

export interface Location {
  path: string;
  query: URLSearchParams;
}

const read = (): Location => ({ path: window.location.pathname, query: new URLSearchParams(window.location.search) });

export const location = signal<Location>(read());

window.addEventListener("popstate", () => {
  location.value = read();
});

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  location.value = read();
  window.scrollTo(0, 0);
}

/** The parameters of `path` under `pattern` ("/connections/:id"), or null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const norm = (s: string) => s.replace(/\/+$/, "") || "/";
  const p = norm(pattern).split("/");
  const a = norm(path).split("/");
  if (p.length !== a.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) {
      if (!a[i]) return null;
      params[p[i].slice(1)] = decodeURIComponent(a[i]);
    } else if (p[i] !== a[i]) return null;
  }
  return params;
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

export function Link({ href, onClick, ...rest }: LinkProps) {
  const current = location.value.path === href;
  return (
    <a
      {...rest}
      href={href}
      aria-current={current ? "page" : undefined}
      onClick={(e) => {
        (onClick as ((e: MouseEvent) => void) | undefined)?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    />
  );
}
