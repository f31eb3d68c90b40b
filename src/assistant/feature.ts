import { AssistantService } from "../../gen/sqlstudio/ai/v1/assistant_pb.js";
import type { Runtime } from "../common/runtime.js";
import type { Config } from "../config/schema.js";
import type { Db } from "../db/client.js";
import type { Catalog } from "../engine/catalog.js";
import type { Connections } from "../engine/connections.js";
import type { Job } from "../jobs/runner.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { ServiceEntry } from "../common/service.js";
import type { Sync } from "../sync/sync.js";
import { AssistantCore } from "./assistant.js";
import { Chat } from "./chat.js";
import { Conversations } from "./conversations.js";
import { dayOf, Limits } from "./limits.js";
import { AssistantMetrics } from "./metrics.js";
import { loadProvider } from "./providers/load.js";
import type { Provider } from "./providers/types.js";
import { SchemaSource } from "./schema-source.js";
import { assistantService } from "./service.js";
import { SqlTasks } from "./sql-tasks.js";
import { AssistantStore } from "./store.js";

export interface AssistantFeatureDeps {
  config: Config;
  db: Db;
  logger: Logger;
  runtime: Runtime;
  metrics: Metrics;
  connections: Connections;
  catalog: Catalog;
  sync: Sync;
}

/** Token usage is kept this long (days) for accounting; rate windows an hour. */
const USAGE_RETENTION_DAYS = 400;

/** The provider the configuration names, or none. */
export function providerFrom(a: Config["assistant"]): Provider | undefined {
  if (!a.provider) return undefined;
  return loadProvider({ kind: a.provider, apiKey: a.apiKey, baseUrl: a.baseUrl, timeoutMs: a.timeoutMs, maxRetries: a.maxRetries });
}

/** The AI assistant (DESIGN.md §8, issue 11): its service and its job. */
export function assistantFeature(deps: AssistantFeatureDeps): { services: ServiceEntry[]; jobs: Job[] } {
  const { config, runtime, logger } = deps;
  const a = config.assistant;
  const store = new AssistantStore(deps.db);
  const core = new AssistantCore({
    settings: a,
    provider: providerFrom(a),
    connections: deps.connections,
    source: new SchemaSource({ catalog: deps.catalog, connections: deps.connections, sync: deps.sync, ttlMs: a.schemaCacheMs, now: () => runtime.now() }),
    limits: new Limits(store, runtime, { requestsPerMinute: a.requestsPerMinute, tokensPerDay: a.tokensPerDay }),
    runtime,
    logger,
    metrics: new AssistantMetrics(deps.metrics.registry),
  });
  if (a.provider) logger.info({ provider: a.provider, model: a.model, models: a.models, customBaseUrl: a.baseUrl !== undefined }, "AI assistant configured");
  return {
    services: [[AssistantService, assistantService(new SqlTasks(core), new Chat(core, store), new Conversations(core, store))]],
    jobs: [
      {
        name: "assistant.cleanup",
        intervalMs: 3_600_000,
        run: async (now) => store.deleteOld(now - 3_600_000, dayOf(now) - USAGE_RETENTION_DAYS),
      },
    ],
  };
}
