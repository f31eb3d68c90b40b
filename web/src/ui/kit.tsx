/** The console's small building blocks: page frame, form fields, alerts, empty states, buttons. */
import type { ButtonHTMLAttributes, ComponentChildren } from "preact";
import { useEffect, useId } from "preact/hooks";
import type { Problem } from "../api/errors.js";

export function Page({ title, actions, children, wide }: { title: string; actions?: ComponentChildren; children: ComponentChildren; wide?: boolean }) {
  useEffect(() => {
    document.title = `${title} · SQL Studio`;
  }, [title]);
  return (
    <div class={wide ? "page page-wide" : "page"}>
      <div class="page-head">
        <h1>{title}</h1>
        {actions && <div class="page-actions">{actions}</div>}
      </div>
      {children}
    </div>
  );
}

interface InputProps {
  label: string;
  type?: "text" | "email" | "password" | "number" | "search" | "url";
  name?: string;
  autocomplete?: string;
  required?: boolean;
  autofocus?: boolean;
  minLength?: number;
  placeholder?: string;
  disabled?: boolean;
  readOnly?: boolean;
  inputMode?: "text" | "numeric" | "decimal" | "email";
  spellcheck?: boolean;
  value: string;
  onInput: (v: string) => void;
  hint?: ComponentChildren;
  error?: string;
}

export function Field({ label, value, onInput, hint, error, type = "text", ...rest }: InputProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={error ? "field field-invalid" : "field"}>
      <label for={id}>{label}</label>
      {/* The element's type union (Preact 11) is checked by InputProps above. */}
      <input id={id} type={type as "text"} value={value} onInput={(e) => onInput(e.currentTarget.value)} aria-invalid={error ? true : undefined} aria-describedby={described} {...rest} />
      {hint && (
        <div class="hint" id={`${id}-hint`}>
          {hint}
        </div>
      )}
      {error && (
        <div class="field-error" id={`${id}-error`}>
          {error}
        </div>
      )}
    </div>
  );
}

export function Select<T extends string | number>({ label, value, options, onChange }: { label: string; value: T; options: [T, string][]; onChange: (v: T) => void }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={String(value)} onChange={(e) => onChange(options.find(([v]) => String(v) === e.currentTarget.value)![0])}>
        {options.map(([v, text]) => (
          <option value={String(v)}>{text}</option>
        ))}
      </select>
    </div>
  );
}

export function Check({ label, checked, onChange, hint }: { label: string; checked: boolean; onChange: (v: boolean) => void; hint?: string }) {
  const id = useId();
  return (
    <div class="check">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.currentTarget.checked)} />
      <label for={id}>{label}</label>
      {hint && <span class="hint"> {hint}</span>}
    </div>
  );
}

export function Alert({ kind = "error", children }: { kind?: "error" | "info" | "success" | "warning"; children: ComponentChildren }) {
  return (
    <div class={`alert alert-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

export function ProblemAlert({ problem }: { problem?: Problem | null }) {
  if (!problem) return null;
  return <Alert>{problem.message}</Alert>;
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <div class="empty-body">{children}</div>}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function Button({ kind = "secondary", busy, children, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { kind?: "primary" | "secondary" | "danger" | "ghost"; busy?: boolean }) {
  return (
    <button type="button" class={`btn btn-${kind}`} aria-busy={busy ? true : undefined} {...rest} disabled={rest.disabled || busy}>
      {busy && <span class="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** A moment, shown relative to now ("3 minutes ago") with the exact time on hover. */
export function When({ at }: { at: Date | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const s = (at.getTime() - Date.now()) / 1000;
  const a = Math.abs(s);
  const text =
    a < 45 ? (s < 0 ? "just now" : "in a moment") : a < 3600 ? relative.format(Math.round(s / 60), "minute") : a < 86400 ? relative.format(Math.round(s / 3600), "hour") : a < 30 * 86400 ? relative.format(Math.round(s / 86400), "day") : dateTime.format(at);
  return (
    <time dateTime={at.toISOString()} title={dateTime.format(at)}>
      {text}
    </time>
  );
}
