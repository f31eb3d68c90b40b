import type { Interceptor } from "@connectrpc/connect";
import { assistantFeature } from "./assistant/feature.js";
import type { Accounts } from "./auth/accounts.js";
import { authFeature } from "./auth/feature.js";
import type { Runtime } from "./common/runtime.js";
import type { ServiceEntry } from "./common/service.js";
import type { Config } from "./config/schema.js";
import type { Db } from "./db/client.js";
import type { Outbox } from "./email/mailer.js";
import { engineFeature } from "./engine/feature.js";
import type { Pools } from "./engine/pools.js";
import type { Job } from "./jobs/runner.js";
import type { Logger } from "./observability/logger.js";
import type { Metrics } from "./observability/metrics.js";
import { rateLimitFeature } from "./ratelimit/feature.js";
import type { ChunkedLimiter } from "./ratelimit/limiter.js";
import { realtimeFeature, type RealtimeFeature } from "./realtime/feature.js";
import type { SubscribeGate } from "./realtime/gate.js";
import type { RealtimeHub } from "./realtime/hub.js";
import { syncFeature } from "./sync/feature.js";
import { writeStreamError } from "./server/early-error.js";
import { clientAddress } from "./server/ws.js";

export interface Features {
  services: ServiceEntry[];
  interceptors: Interceptor[];
  jobs: Job[];
  outbox: Outbox;
  accounts: Accounts;
  hub: RealtimeHub;
  /** The query engine's connection pools. */
  pools: Pools;
  /** Closes the engine's pools and finishes its writes (at shutdown, before the database closes). */
  closeEngine: () => Promise<void>;
  /** Attaches to /v1/stream (both listeners). */
  socketHandler: RealtimeFeature["socketHandler"];
  /** Subprotocols /v1/stream speaks. */
  socketProtocols: string[];
  /** Tells the features the API's real port (email links follow it when PUBLIC_URL is unset). */
  listening(apiPort: number): void;
  /** Refusals before Connect's pipeline (AppDeps.admission). */
  admission: RealtimeFeature["admission"];
  /** Over-limit Subscribe calls refused before Connect's pipeline. */
  gate: SubscribeGate;
  /** The RPC rate limits' in-process buckets (its stats count database round trips). */
  rateLimiter: ChunkedLimiter;
}

/** What each feature hands the server (a feature function returns these and whatever others need of it). */
interface FeatureParts {
  services?: ServiceEntry[];
  interceptors?: Interceptor[];
  jobs?: Job[];
}

/**
 * The composition root of the features: each is one function of its folder (`<feature>/feature.ts`)
 * that builds its store, logic and service. Here they get what they need of each other, as
 * callbacks. main.ts hands this to the server, which calls it on its database, metrics and clock.
 */
export function buildFeatures(deps: { config: Config; db: Db; logger: Logger; runtime: Runtime; metrics: Metrics }): Features {
  const { config } = deps;
  const links = emailLinks(config);

  // Realtime and the engine call auth only while serving, once everything below is built.
  const realtime = realtimeFeature({
    ...deps,
    authenticator: { authenticate: (authorization) => auth.accounts.sessions.authenticate(authorization) },
    writeStreamError,
    addressOf: (req) => clientAddress(req, config.auth.trustProxy),
  });
  const sync = syncFeature({ ...deps, changed: realtime.publish.syncChanged, conflictsCreated: realtime.publish.conflictsCreated });
  const engine = engineFeature({
    ...deps,
    sync: sync.sync,
    // A profile moved to another server is a security event of its owner.
    onProfileMoved: (userId, move, from) =>
      auth.recordEvent({
        userId,
        type: "connection_moved",
        info: from,
        details: { connection_id: move.connectionId, from: move.from, to: move.to, password: move.password },
      }),
  });
  const auth = authFeature({
    ...deps,
    publicUrl: links.publicUrl,
    onSessionsRevoked: realtime.publish.sessionsRevoked,
    accountData: {
      connections: engine.account.exportConnections,
      records: sync.exportRecords,
      release: engine.account.release,
      remove: engine.account.remove,
    },
  });
  const assistant = assistantFeature({ ...deps, connections: engine.connections, catalog: engine.catalog, sync: sync.sync });
  const rateLimit = rateLimitFeature(deps);

  // In this order: services as listed, interceptors auth then rate limits, jobs as listed.
  const all: FeatureParts[] = [auth, sync, realtime, engine, assistant, rateLimit];
  return {
    services: all.flatMap((f) => f.services ?? []),
    interceptors: all.flatMap((f) => f.interceptors ?? []),
    jobs: all.flatMap((f) => f.jobs ?? []),
    outbox: auth.outbox,
    accounts: auth.accounts,
    hub: realtime.hub,
    pools: engine.pools,
    closeEngine: () => engine.close(),
    socketHandler: realtime.socketHandler,
    socketProtocols: realtime.socketProtocols,
    admission: realtime.admission,
    gate: realtime.gate,
    rateLimiter: rateLimit.limiter,
    listening: links.listening,
  };
}

/** Email links: PUBLIC_URL, else (outside production) the address the API really listens on. */
function emailLinks(config: Config): { publicUrl: () => string; listening(apiPort: number): void } {
  let listening = "";
  return {
    publicUrl: () => config.server.publicUrl ?? listening,
    listening(apiPort) {
      const host = config.server.host;
      const local = ["127.0.0.1", "::1", "0.0.0.0", "::", "localhost"].includes(host);
      const shown = local ? "localhost" : host.includes(":") ? `[${host}]` : host;
      listening = `${config.server.tlsCertFile ? "https" : "http"}://${shown}:${apiPort}`;
    },
  };
}
