/** Helpers for the realtime tests: a /v1/stream client that records what it got, and sync pushes over Connect JSON. */
import { randomUUID } from "node:crypto";
import { fromBinary, fromJsonString, type JsonValue } from "@bufbuild/protobuf";
import WebSocket from "ws";
import { ServerEventSchema, type ServerEvent } from "../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { errorInfoOfJson } from "./auth.js";

export const SYNC = "sqlstudio.sync.v1.SyncService";
export const PROTO = "sqlstudio.v1+proto";

export interface Closed {
  code: number;
  reason: string;
  /** performance.now() when the close arrived. */
  at: number;
}

export interface Received {
  event: ServerEvent;
  /** performance.now() when the frame arrived. */
  at: number;
  binary: boolean;
  /** The raw text of a JSON frame. */
  text?: string;
}

/**
 * A WebSocket client of /v1/stream that decodes every frame (JSON text or protobuf binary) into a
 * ServerEvent and keeps them, so a test can wait for one, or look at all of them afterwards.
 */
export class StreamClient {
  readonly events: Received[] = [];
  readonly closed: Promise<Closed>;
  readonly opened: Promise<void>;
  /** Frames that could not be decoded (must stay empty). */
  readonly garbage: unknown[] = [];
  private waiters: (() => void)[] = [];
  closeInfo?: Closed;

  constructor(
    readonly ws: WebSocket,
    readonly binary: boolean,
  ) {
    this.opened = new Promise((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) =>
      ws.once("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString(), at: performance.now() };
        resolve(this.closeInfo);
        this.notify();
      }),
    );
    ws.on("error", () => undefined);
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const at = performance.now();
      try {
        if (isBinary) this.events.push({ event: fromBinary(ServerEventSchema, new Uint8Array(data)), at, binary: true });
        else {
          const text = data.toString("utf8");
          this.events.push({ event: fromJsonString(ServerEventSchema, text), at, binary: false, text });
        }
      } catch (err) {
        this.garbage.push(err);
      }
      this.notify();
    });
  }

  static open(url: string, opts: { protocol?: string } = {}): StreamClient {
    const ws = opts.protocol ? new WebSocket(url, opts.protocol) : new WebSocket(url);
    return new StreamClient(ws, opts.protocol === PROTO);
  }

  /** Opens, authenticates with the token and waits for `ready`. */
  static async connect(url: string, token: string, opts: { protocol?: string } = {}): Promise<StreamClient> {
    const c = StreamClient.open(url, opts);
    await c.opened;
    c.authenticate(token);
    await c.next("ready", 5_000);
    return c;
  }

  authenticate(token: string): void {
    this.ws.send(JSON.stringify({ authenticate: { accessToken: token } }));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Events of one kind so far. */
  of(kind: NonNullable<ServerEvent["event"]["case"]>): Received[] {
    return this.events.filter((e) => e.event.event.case === kind);
  }

  /** Waits for an event matching `kind` (and `pred`) that was not returned before; rejects on timeout or close. */
  async next(kind: NonNullable<ServerEvent["event"]["case"]>, timeoutMs: number, pred: (e: ServerEvent) => boolean = () => true): Promise<Received> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find((e) => !this.taken.has(e) && e.event.event.case === kind && pred(e.event));
      if (hit) {
        this.taken.add(hit);
        return hit;
      }
      if (this.closeInfo) throw new Error(`socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) before a ${kind} event`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no ${kind} event within ${timeoutMs} ms; got ${this.events.map((e) => e.event.event.case).join(", ")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  private readonly taken = new Set<Received>();

  /** Resolves with the close, or rejects when it does not come within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<Closed> {
    let t: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.closed,
        new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(t);
    }
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

export const streamUrl = (ports: { api: number; ws: number }, which: "api" | "ws" = "api", query = "") =>
  `ws://127.0.0.1:${which === "api" ? ports.api : ports.ws}/v1/stream${query}`;

// ── sync over Connect JSON ───────────────────────────────────────────────────

export interface JsonChange {
  mutationId: string;
  recordId: string;
  baseVersion?: string;
  delete?: boolean;
  savedQuery?: Record<string, unknown>;
}

export const newQuery = (title: string, recordId = randomUUID()): JsonChange => ({
  mutationId: randomUUID(),
  recordId,
  baseVersion: "0",
  savedQuery: { title, sql: `SELECT '${title}'` },
});

export const editQuery = (recordId: string, baseVersion: number, title: string): JsonChange => ({
  mutationId: randomUUID(),
  recordId,
  baseVersion: String(baseVersion),
  savedQuery: { title, sql: `SELECT '${title}'` },
});

export interface PushReply {
  results: { mutationId: string; recordId: string; status: string; version?: string; conflictId?: string; reason?: string; originalStatus?: string }[];
  headSeq?: string;
}

/** SyncService.Push with Connect JSON, as a browser makes it; throws unless it succeeded. */
export async function push(server: { url: string }, token: string, deviceId: string, changes: JsonChange[]): Promise<PushReply> {
  const res = await fetch(`${server.url}/${SYNC}/Push`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ deviceId, clientVersion: "test/1", changes }),
  });
  const body = (await res.json()) as JsonValue as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`Push failed: ${res.status} ${JSON.stringify(body)} ${errorInfoOfJson(body)?.reason ?? ""}`);
  return body as unknown as PushReply;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 5 ms until true, or throws after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
