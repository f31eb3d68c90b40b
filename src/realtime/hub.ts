import { create, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  ConflictCreatedSchema,
  ServerEventSchema,
  SessionRevokedSchema,
  SyncChangedSchema,
  type ServerEvent,
} from "../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import type { Runtime } from "../common/runtime.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { EventRow, RealtimeStore } from "./store.js";

/** Why a subscription ended: "limit" when the user already holds the most subscriptions allowed. */
export type EndReason = "revoked" | "slow" | "shutdown" | "limit";

/** The limit on a user's subscriptions (authenticated WebSockets plus Subscribe streams, per instance). */
export const SUBSCRIPTION_LIMIT = "REALTIME_MAX_SUBSCRIPTIONS_PER_USER";

export interface HubOptions {
  /** How often the events table is read when nothing was published here (ms). Default 250. */
  pollMs?: number;
  /** Subscriptions one user may hold on this instance. Default unlimited. */
  maxPerUser?: number;
}

/**
 * How long the hub remembers a revoked session. An instance may still accept a revoked session's
 * token for up to SESSION_CACHE_MS (at most 5 s) after the revocation event reached it; a
 * subscription opened in that window is ended as revoked instead of living on.
 */
const REVOKED_MEMORY_MS = 60_000;

/** One open subscription: a WebSocket or a Subscribe stream. */
export interface Subscriber {
  userId: string;
  sessionId: string;
  /** Hands an event over; false when the subscriber cannot keep up (it is then ended as slow). */
  deliver(event: ServerEvent): boolean;
  /** Ends the subscription (the hub has already forgotten it). */
  end(reason: EndReason): void;
}

export type Published =
  | { case: "syncChanged"; headSeq: number; deviceId: string }
  | { case: "conflictCreated"; conflictId: string; recordId: string }
  | { case: "sessionRevoked"; sessionId: string };

function encode(p: Published): { type: EventRow["type"]; data: string } {
  switch (p.case) {
    case "syncChanged":
      return { type: "sync_changed", data: toJsonString(SyncChangedSchema, create(SyncChangedSchema, { headSeq: BigInt(p.headSeq), deviceId: p.deviceId })) };
    case "conflictCreated":
      return { type: "conflict_created", data: toJsonString(ConflictCreatedSchema, create(ConflictCreatedSchema, p)) };
    case "sessionRevoked":
      return { type: "session_revoked", data: toJsonString(SessionRevokedSchema, create(SessionRevokedSchema, p)) };
  }
}

export function toServerEvent(row: EventRow): ServerEvent {
  // Clients see their own sequence, never the global one (which would tell how busy the service is).
  const base = { id: String(row.userSeq), time: timestampFromMs(row.createdAt) };
  switch (row.type) {
    case "sync_changed":
      return create(ServerEventSchema, { ...base, event: { case: "syncChanged", value: fromJsonString(SyncChangedSchema, row.data) } });
    case "conflict_created":
      return create(ServerEventSchema, { ...base, event: { case: "conflictCreated", value: fromJsonString(ConflictCreatedSchema, row.data) } });
    case "session_revoked":
      return create(ServerEventSchema, { ...base, event: { case: "sessionRevoked", value: fromJsonString(SessionRevokedSchema, row.data) } });
  }
}

/**
 * Fans events out to this instance's subscribers. Events are rows of realtime_events: publishing
 * inserts one, and every instance tails the table (at once after a local publish, else every
 * `pollMs`), so subscribers on any instance sharing the database hear them. A session_revoked
 * event also ends that session's subscriptions.
 */
export class RealtimeHub {
  private readonly byUser = new Map<string, Set<Subscriber>>();
  /** Session id → when its revocation was heard, oldest first. */
  private readonly revoked = new Map<string, number>();
  /** The last event seen; undefined until the table could be read (e.g. migrations pending). */
  private lastId?: number;
  private failing = false;
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: RealtimeStore,
    private readonly runtime: Runtime,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    opts: HubOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 250;
    this.maxPerUser = opts.maxPerUser ?? Number.POSITIVE_INFINITY;
  }

  private readonly pollMs: number;
  readonly maxPerUser: number;

  /**
   * Starts tailing from the current end of the table (history is not replayed). A database that
   * cannot be read yet (migrations pending with AUTO_MIGRATE=false, database down) does not stop
   * the server: the hub keeps trying and starts from the end of the table once it can.
   */
  async start(): Promise<void> {
    await this.poll().catch((err) => this.failed(err));
    this.schedule();
  }

  private failed(err: unknown): void {
    if (!this.failing) this.logger.error({ err }, "realtime: cannot read events; retrying");
    this.failing = true;
  }

  /** Publishes events of one user, in order, with one write. */
  async publish(userId: string, ...events: Published[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map(encode);
    await this.store.insert(userId, rows, this.runtime.now());
    for (const { type } of rows) this.metrics.realtimeEvents.inc({ type, stage: "published" });
    this.wake();
  }

  /** Publishing must never fail the write that caused it: errors are logged. */
  publishQuietly(userId: string, ...events: Published[]): void {
    this.publish(userId, ...events).catch((err) => this.logger.error({ err, events: events.map((e) => e.case) }, "realtime publish failed"));
  }

  /**
   * Adds a subscription. One whose session was revoked lately (its token passed a session cache
   * that has not caught up) is ended at once as revoked, and not added; one beyond the user's
   * limit is ended at once as "limit".
   */
  add(sub: Subscriber): () => void {
    if (this.revoked.has(sub.sessionId)) {
      sub.end("revoked");
      return () => undefined;
    }
    let set = this.byUser.get(sub.userId);
    if ((set?.size ?? 0) >= this.maxPerUser) {
      this.metrics.limitHits.inc({ limit: SUBSCRIPTION_LIMIT });
      sub.end("limit");
      return () => undefined;
    }
    if (!set) this.byUser.set(sub.userId, (set = new Set()));
    set.add(sub);
    this.metrics.realtimeSubscribers.inc();
    return () => this.remove(sub);
  }

  private remove(sub: Subscriber): boolean {
    const set = this.byUser.get(sub.userId);
    if (!set?.delete(sub)) return false;
    if (set.size === 0) this.byUser.delete(sub.userId);
    this.metrics.realtimeSubscribers.dec();
    return true;
  }

  private end(sub: Subscriber, reason: EndReason): void {
    if (this.remove(sub)) sub.end(reason);
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), this.pollMs).unref();
  }

  /** Polls now (or right after the poll in progress). */
  private wake(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    this.polling = this.poll()
      .catch((err) => this.failed(err))
      .finally(() => {
        this.polling = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        } else this.schedule();
      });
  }

  private async poll(): Promise<void> {
    if (this.lastId === undefined) this.lastId = await this.store.maxId();
    for (;;) {
      const rows = await this.store.after(this.lastId, 500);
      for (const row of rows) {
        this.lastId = row.id;
        this.dispatch(row);
      }
      if (rows.length < 500) break;
    }
    if (this.failing) {
      this.failing = false;
      this.logger.info("realtime: reading events again");
    }
  }

  private rememberRevoked(sessionId: string): void {
    const now = this.runtime.now();
    this.revoked.delete(sessionId); // re-inserted last: the map stays in time order
    this.revoked.set(sessionId, now);
    for (const [id, at] of this.revoked) {
      if (now - at <= REVOKED_MEMORY_MS) break;
      this.revoked.delete(id);
    }
  }

  private dispatch(row: EventRow): void {
    const subs = this.byUser.get(row.userId);
    if (!subs && row.type !== "session_revoked") return;
    const event = toServerEvent(row);
    if (event.event.case === "sessionRevoked") this.rememberRevoked(event.event.value.sessionId);
    if (!subs) return;
    for (const sub of [...subs]) {
      if (event.event.case === "sessionRevoked" && event.event.value.sessionId === sub.sessionId) {
        sub.deliver(event);
        this.end(sub, "revoked");
        continue;
      }
      if (sub.deliver(event)) this.metrics.realtimeEvents.inc({ type: row.type, stage: "delivered" });
      else this.end(sub, "slow");
    }
  }

  /** Shutdown: stop tailing and end every subscription. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    for (const set of [...this.byUser.values()]) for (const sub of [...set]) this.end(sub, "shutdown");
  }

  /** Subscriptions of one user on this instance. */
  subscriptionsOf(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  get subscriberCount(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }
}
