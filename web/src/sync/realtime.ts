/**
 * The realtime WebSocket (/v1/stream, JSON frames): authenticates with the access token (never in
 * the URL), renews it before it expires, and reconnects with backoff. Its events reach the caller:
 * a pull on sync_changed, a conflict list refresh, a sign-out when this session is revoked.
 */
import { accessToken, refresh, session, sessionLost } from "../api/session.js";

export interface RealtimeEvents {
  syncChanged(headSeq: number, deviceId: string): void;
  conflictCreated(): void;
  connected(): void;
  /** The socket is up (authenticated) or down. */
  live(live: boolean): void;
}

const REVOKED = 4403;
const UNAUTHENTICATED = 4401;
const TOO_SLOW = 4408;

export class Realtime {
  private ws: WebSocket | undefined;
  private retry = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private renew: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  connected = false;

  constructor(private readonly events: RealtimeEvents) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.renew);
    this.ws?.close(1000, "bye");
    this.ws = undefined;
  }

  /** Reconnect now (the browser came back online). */
  kick(): void {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.timer);
    this.retry = 0;
    this.open();
  }

  private later(): void {
    if (this.stopped) return;
    const delay = Math.min(30_000, 500 * 2 ** this.retry++) * (0.75 + Math.random() / 2);
    this.timer = setTimeout(() => this.open(), delay);
  }

  private open(): void {
    if (this.stopped || !navigator.onLine) return;
    const url = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}/v1/stream`;
    const ws = new WebSocket(url, ["sqlstudio.v1+json"]);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ authenticate: { accessToken: accessToken() ?? "" } }));
    ws.onmessage = (m) => {
      const e = JSON.parse(String(m.data)) as { ready?: unknown; syncChanged?: { headSeq?: string; deviceId?: string }; conflictCreated?: unknown; sessionRevoked?: { sessionId?: string } };
      if (e.ready) {
        this.retry = 0;
        this.connected = true;
        this.events.connected();
        // A fresh token for the socket every 5 minutes keeps it open past the access token's life.
        clearInterval(this.renew);
        this.renew = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ authenticate: { accessToken: accessToken() ?? "" } })), 5 * 60_000);
      } else if (e.syncChanged) this.events.syncChanged(Number(e.syncChanged.headSeq ?? 0), e.syncChanged.deviceId ?? "");
      else if (e.conflictCreated) this.events.conflictCreated();
      else if (e.sessionRevoked && e.sessionRevoked.sessionId === session.value?.sessionId) sessionLost("This session was signed out from another device.");
    };
    ws.onclose = (c) => {
      clearInterval(this.renew);
      this.connected = false;
      if (this.ws === ws) this.events.live(false);
      if (this.ws !== ws || this.stopped) return;
      if (c.code === REVOKED) return sessionLost("This session was signed out from another device.");
      if (c.code === UNAUTHENTICATED) void refresh().then((ok) => ok && this.later());
      else {
        if (c.code === TOO_SLOW) this.events.connected();
        this.later();
      }
    };
  }
}
