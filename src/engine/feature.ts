import { mkdirSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ConnectionService } from "../../gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService } from "../../gen/sqlstudio/database/v1/query_pb.js";
import { SchemaService } from "../../gen/sqlstudio/database/v1/schema_pb.js";
import { TableService } from "../../gen/sqlstudio/database/v1/table_pb.js";
import type { RequestInfo } from "../common/caller.js";
import type { Runtime } from "../common/runtime.js";
import type { ServiceEntry } from "../common/service.js";
import type { Config } from "../config/schema.js";
import type { Db } from "../db/client.js";
import type { Job } from "../jobs/runner.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { Sync } from "../sync/sync.js";
import { Budget } from "./budget.js";
import { CancelRelay } from "./cancel-relay.js";
import { Catalog } from "./catalog.js";
import { Connections, type ProfileMove } from "./connections.js";
import { builtinEngines } from "./engines.js";
import { engineKey } from "./key.js";
import { wireLimits } from "./limits.js";
import { Pools } from "./pools.js";
import { Queries } from "./queries.js";
import { SecretBox } from "./secret-box.js";
import { connectionService, queryService, schemaService, tableService } from "./service.js";
import { ConnectionStore, RunningQueryStore } from "./store.js";
import { Tables } from "./tables.js";

export interface EngineFeatureDeps {
  config: Config;
  db: Db;
  logger: Logger;
  runtime: Runtime;
  metrics: Metrics;
  /** Queries record their history in the synced library. */
  sync: Sync;
  /** A profile moved to another server: a security event of its owner (auth's). */
  onProfileMoved: (userId: string, move: ProfileMove, from: RequestInfo) => Promise<void>;
}

export interface EngineFeature {
  services: ServiceEntry[];
  jobs: Job[];
  connections: Connections;
  catalog: Catalog;
  /** The query engine's connection pools. */
  pools: Pools;
  /** Closes the pools and finishes the engine's writes (at shutdown, before the database closes). */
  close(): Promise<void>;
  /** What a user holds here, for ExportMyData and DeleteAccount. */
  account: {
    /** Connection profiles, without any secret (hasPassword says whether one is stored). */
    exportConnections(userId: string): Promise<Record<string, unknown>[]>;
    /** Closes this instance's pools of the user's profiles (others close theirs when idle). */
    release(userId: string): Promise<void>;
    /** Removes the user's own SQLite files (<ENGINE_SQLITE_DIR>/<user id>/). */
    remove(userId: string): Promise<void>;
  };
}

/** The database engine (DESIGN.md §7): connection profiles, pools, queries, schema and table browsing. */
export function engineFeature(deps: EngineFeatureDeps): EngineFeature {
  const { config, runtime, logger, metrics } = deps;
  const e = config.engine;
  if (e.sqliteDir) {
    mkdirSync(e.sqliteDir, { recursive: true });
    // Before per-user folders, profiles named files right in this folder: those stay unreachable
    // until an operator moves each into its owner's folder (docs/security.md).
    const loose = readdirSync(e.sqliteDir, { withFileTypes: true }).filter((f) => f.isFile()).length;
    if (loose > 0) logger.warn({ dir: e.sqliteDir, files: loose }, "files directly in ENGINE_SQLITE_DIR are not reachable: SQLite profiles open files in <dir>/<user id>/");
  }
  const limitHit = (limit: string) => metrics.engineLimits.inc({ limit });
  const budget = new Budget(
    { streamsPerUser: e.maxStreamsPerUser, connectionsPerUser: e.maxOpenConnectionsPerUser, connectionsPerHost: e.maxConnectionsPerHost },
    limitHit,
    (open) => metrics.engineConnections.set(open),
  );
  const engines = builtinEngines();
  const pools = new Pools(engines.drivers, { max: e.poolMax, idleMs: e.poolIdleMs, perUser: e.poolsPerUser, wire: wireLimits(e.maxCellBytes), onLimit: limitHit }, {
    now: () => runtime.now(),
    logger,
    onCount: (n) => metrics.enginePools.set(n),
    budget,
  });
  const connectionStore = new ConnectionStore(deps.db);
  const connections = new Connections({
    store: connectionStore,
    box: new SecretBox(engineKey(e, logger)),
    runtime,
    settings: { allowPrivateHosts: e.allowPrivateHosts, allowlist: e.hostAllowlist, sqliteDir: e.sqliteDir, connectTimeoutMs: e.connectTimeoutMs, maxPerUser: e.maxConnectionsPerUser },
    pools,
    onMove: deps.onProfileMoved,
  });
  const runningStore = new RunningQueryStore(deps.db);
  // The relay stops a query of this instance when another instance was asked to cancel it.
  const relay = new CancelRelay({
    store: runningStore,
    instance: runtime.newId(),
    pollMs: config.realtime.pollMs,
    now: () => runtime.now(),
    logger,
    stop: (userId, queryId) => queries.stopLocal(userId, queryId),
  });
  const queries = new Queries({
    connections,
    settings: e,
    sync: deps.sync,
    runtime,
    logger,
    hooks: {
      statement: (engine, result, rows) => {
        metrics.engineStatements.inc({ engine, result });
        if (rows > 0) metrics.engineRows.inc({ engine }, rows);
      },
      forcedStop: () => limitHit("stop_forced"),
      limit: limitHit,
    },
    relay,
    budget,
  });
  const catalog = new Catalog(connections, engines.introspectors);
  return {
    services: [
      [ConnectionService, connectionService(connections, pools)],
      [QueryService, queryService(queries, deps.sync)],
      [SchemaService, schemaService(catalog)],
      [TableService, tableService(new Tables(connections, catalog, budget))],
    ],
    jobs: [
      { name: "engine.pools", intervalMs: e.healthCheckMs, perInstance: true, run: () => pools.check() },
      // Records of queries whose instance died without ending them.
      { name: "engine.queries", intervalMs: 3_600_000, run: async (now) => ({ deleted: await runningStore.deleteBefore(now - 86_400_000) }) },
    ],
    connections,
    catalog,
    pools,
    async close() {
      await pools.closeAll();
      await relay.flush();
    },
    account: {
      async exportConnections(userId) {
        const out: Record<string, unknown>[] = [];
        for (let after: { name: string; id: string } | undefined; ; ) {
          const page = await connectionStore.list(userId, 500, after);
          for (const { passwordSealed, userId: _owner, createdAt, updatedAt, ...c } of page) {
            out.push({ ...c, hasPassword: passwordSealed !== null, createdAt: new Date(createdAt).toISOString(), updatedAt: new Date(updatedAt).toISOString() });
          }
          if (page.length < 500) return out;
          after = { name: page[page.length - 1].name, id: page[page.length - 1].id };
        }
      },
      async release(userId) {
        for (const c of await connectionStore.list(userId, 10_000)) await pools.close(userId, c.id);
      },
      async remove(userId) {
        if (e.sqliteDir && /^[0-9a-f-]{36}$/i.test(userId)) await rm(join(resolve(e.sqliteDir), userId), { recursive: true, force: true });
      },
    },
  };
}
