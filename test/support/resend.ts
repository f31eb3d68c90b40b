/**
 * A local stand-in for Resend's HTTP API, speaking its wire format closely enough for the real
 * `resend` SDK: `POST /emails` with `Authorization: Bearer <key>` and a JSON body
 * `{from, to, subject, html, text}` answers `200 {"id": "…"}`. Every accepted message is kept;
 * `failNext(n)` makes the next n sends answer 500 (to prove the outbox retries with backoff).
 *
 * Point a server at it with `RESEND_API_KEY=<apiKey>` and `RESEND_BASE_URL=<url>`.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SentEmail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
  /** performance.now() when it arrived. */
  at: number;
}

/** One POST /emails as received, accepted or not. */
export interface Attempt {
  status: number;
  to: string[];
  at: number;
}

export interface ResendStandIn {
  /** http://127.0.0.1:<port>, for RESEND_BASE_URL. */
  url: string;
  apiKey: string;
  /** The env a server needs to send through this stand-in. */
  env: Record<string, string>;
  /** Messages accepted (200), in arrival order. */
  messages: SentEmail[];
  /** Every POST /emails, including the ones answered with an error. */
  attempts: Attempt[];
  /** The next n sends answer 500. */
  failNext(n: number): void;
  /** Resolves with the first message to `to` (after the first `skip` ones) that matches. */
  waitForEmail(to: string, opts?: { subject?: RegExp; skip?: number; timeoutMs?: number }): Promise<SentEmail>;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

const apiError = (res: ServerResponse, status: number, name: string, message: string) => json(res, status, { statusCode: status, name, message });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** `host`: the address to listen on (a container reaches the stand-in through the host's bridge address). */
export async function startResendStandIn(apiKey = "re_test_x", opts: { host?: string } = {}): Promise<ResendStandIn> {
  const messages: SentEmail[] = [];
  const attempts: Attempt[] = [];
  const waiters = new Set<() => void>();
  let failures = 0;

  const server = createServer(async (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "POST" || path !== "/emails") return apiError(res, 404, "not_found", "The requested endpoint does not exist.");
    if (req.headers.authorization !== `Bearer ${apiKey}`) return apiError(res, 401, "missing_api_key", "Missing or invalid API key in the authorization header.");
    if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) return apiError(res, 415, "validation_error", "Content-Type must be application/json.");
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return apiError(res, 400, "validation_error", "The request body is not valid JSON.");
    }
    const to = typeof body.to === "string" ? [body.to] : Array.isArray(body.to) ? body.to.map(String) : [];
    const at = performance.now();
    for (const field of ["from", "subject", "html", "text"]) {
      if (typeof body[field] !== "string" || body[field] === "") {
        attempts.push({ status: 422, to, at });
        return apiError(res, 422, "validation_error", `The \`${field}\` field is missing.`);
      }
    }
    if (to.length === 0) {
      attempts.push({ status: 422, to, at });
      return apiError(res, 422, "validation_error", "The `to` field is missing.");
    }
    if (failures > 0) {
      failures--;
      attempts.push({ status: 500, to, at });
      return apiError(res, 500, "internal_server_error", "Stand-in failure on purpose.");
    }
    const id = randomUUID();
    attempts.push({ status: 200, to, at });
    messages.push({ id, from: String(body.from), to, subject: String(body.subject), html: String(body.html), text: String(body.text), at });
    for (const w of [...waiters]) w();
    json(res, 200, { id });
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${(server.address() as AddressInfo).port}`;

  return {
    url,
    apiKey,
    env: { RESEND_API_KEY: apiKey, RESEND_BASE_URL: url },
    messages,
    attempts,
    failNext(n) {
      failures = n;
    },
    waitForEmail(to, opts = {}) {
      const want = to.toLowerCase();
      const find = () =>
        messages.filter((m) => m.to.some((t) => t.toLowerCase() === want) && (!opts.subject || opts.subject.test(m.subject)))[opts.skip ?? 0];
      return new Promise<SentEmail>((resolve, reject) => {
        const check = () => {
          const m = find();
          if (!m) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no email to ${to} within ${opts.timeoutMs ?? 10_000} ms (got: ${messages.map((m) => `${m.to.join(",")}: ${m.subject}`).join("; ") || "none"})`));
        }, opts.timeoutMs ?? 10_000);
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * The token of a `${PUBLIC_URL}/<path>?token=…` link in an email; checks the link is in both
 * the plain-text and the HTML body and starts with the public URL.
 */
export function tokenFromEmail(email: SentEmail, publicUrl: string, path: "verify-email" | "reset-password"): string {
  const base = `${publicUrl.replace(/\/$/, "")}/${path}?token=`;
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`${escaped}([A-Za-z0-9_%-]+)`).exec(email.text);
  if (!m) throw new Error(`no ${base}… link in the text body:\n${email.text}`);
  const token = decodeURIComponent(m[1]);
  if (!email.html.includes(m[1])) throw new Error(`the HTML body lacks the link of the text body`);
  return token;
}
