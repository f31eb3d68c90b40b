import type { IncomingMessage } from "node:http";
import { RealtimeService } from "../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import type { Runtime } from "../common/runtime.js";
import type { ServiceEntry } from "../common/service.js";
import type { Config } from "../config/schema.js";
import type { Db } from "../db/client.js";
import type { Job } from "../jobs/runner.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { SUBSCRIBE_PATH, SubscribeGate, type StreamErrorWriter } from "./gate.js";
import { RealtimeHub, SUBSCRIPTION_LIMIT } from "./hub.js";
import { realtimeJobs } from "./jobs.js";
import { realtimeService } from "./service.js";
import { RealtimeStore } from "./store.js";
import { PROTOCOL_JSON, PROTOCOL_PROTO, realtimeSocketHandler, type Authenticator } from "./ws.js";

type Request = Parameters<SubscribeGate["admit"]>[0];
type Response = Parameters<SubscribeGate["admit"]>[1];

export interface RealtimeFeatureDeps {
  config: Config;
  db: Db;
  logger: Logger;
  runtime: Runtime;
  metrics: Metrics;
  /** Checks a socket's access token (auth's sessions). */
  authenticator: Authenticator;
  /** The transport's, handed in by the composition root: answers a refused Subscribe in its own protocol. */
  writeStreamError: StreamErrorWriter;
  /** The transport's: the client address of an upgrade request (the socket's, or the trusted proxy's view). */
  addressOf: (req: IncomingMessage) => string;
}

export interface RealtimeFeature {
  services: ServiceEntry[];
  jobs: Job[];
  hub: RealtimeHub;
  gate: SubscribeGate;
  /** Over-limit Subscribe calls refused before Connect's pipeline. */
  admission: (req: Request, res: Response, path: string) => boolean;
  /** Attaches to /v1/stream (both listeners), and the subprotocols it speaks. */
  socketHandler: ReturnType<typeof realtimeSocketHandler>;
  socketProtocols: string[];
  /** What other features tell a user's live subscriptions. */
  publish: {
    sessionsRevoked(userId: string, sessionIds: string[]): void;
    syncChanged(userId: string, headSeq: number, deviceId: string): void;
    conflictsCreated(userId: string, conflicts: { id: string; recordId: string }[]): void;
  };
}

/** The realtime event stream : the hub, RealtimeService, the /v1/stream socket and the Subscribe gate. */
export function realtimeFeature(deps: RealtimeFeatureDeps): RealtimeFeature {
  const { config, runtime, metrics } = deps;
  const r = config.realtime;
  const store = new RealtimeStore(deps.db);
  const hub = new RealtimeHub(store, runtime, deps.logger, metrics, { pollMs: r.pollMs, maxPerUser: r.maxSubscriptionsPerUser });
  const gate = new SubscribeGate(hub, () => metrics.limitHits.inc({ limit: SUBSCRIPTION_LIMIT }), deps.writeStreamError);
  return {
    services: [[RealtimeService, realtimeService(hub, { maxQueued: r.maxQueued, now: () => runtime.now() })]],
    jobs: realtimeJobs(store),
    hub,
    gate,
    admission: (req, res, path) => path === SUBSCRIBE_PATH && gate.admit(req, res),
    socketHandler: realtimeSocketHandler(hub, deps.authenticator, {
      authTimeoutMs: r.authTimeoutMs,
      maxBufferedBytes: r.maxBufferedBytes,
      now: () => runtime.now(),
      maxUnauthenticatedPerAddress: config.ws.maxUnauthenticatedPerAddress,
      authMessagesPerMinute: config.ws.authMessagesPerMinute,
      addressOf: deps.addressOf,
      onLimit: (limit) => metrics.limitHits.inc({ limit }),
    }),
    socketProtocols: [PROTOCOL_PROTO, PROTOCOL_JSON],
    publish: {
      sessionsRevoked: (userId, ids) => hub.publishQuietly(userId, ...ids.map((sessionId) => ({ case: "sessionRevoked" as const, sessionId }))),
      syncChanged: (userId, headSeq, deviceId) => hub.publishQuietly(userId, { case: "syncChanged", headSeq, deviceId }),
      conflictsCreated: (userId, conflicts) =>
        hub.publishQuietly(userId, ...conflicts.map((c) => ({ case: "conflictCreated" as const, conflictId: c.id, recordId: c.recordId }))),
    },
  };
}
