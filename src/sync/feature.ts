import { SyncService } from "../../gen/sqlstudio/sync/v1/sync_pb.js";
import type { Runtime } from "../common/runtime.js";
import type { ServiceEntry } from "../common/service.js";
import type { Config } from "../config/schema.js";
import type { Db } from "../db/client.js";
import type { Job } from "../jobs/runner.js";
import type { Metrics } from "../observability/metrics.js";
import { syncJobs } from "./jobs.js";
import { syncService } from "./service.js";
import { SyncStore } from "./store.js";
import { Sync, type SyncHooks } from "./sync.js";

export interface SyncFeatureDeps {
  config: Config;
  db: Db;
  runtime: Runtime;
  metrics: Metrics;
  /** Told after a commit that moved a user's head or opened conflicts (realtime pokes their devices). */
  changed: NonNullable<SyncHooks["changed"]>;
  conflictsCreated: NonNullable<SyncHooks["conflictsCreated"]>;
}

/** A synced record as ExportMyData shows it (deleted ones left out). */
export interface ExportedRecord {
  id: string;
  kind: string;
  version: number;
  updatedAt: number;
  payload: unknown;
}

export interface SyncFeature {
  services: ServiceEntry[];
  jobs: Job[];
  sync: Sync;
  /** The user's live records, for ExportMyData. */
  exportRecords(userId: string): Promise<ExportedRecord[]>;
}

/** Sync of the client's library (DESIGN.md §6): SyncService and its cleanup jobs. */
export function syncFeature(deps: SyncFeatureDeps): SyncFeature {
  const { config, metrics } = deps;
  const store = new SyncStore(deps.db);
  const sync = new Sync(store, deps.runtime, config.sync, {
    changed: deps.changed,
    conflictsCreated: deps.conflictsCreated,
    pushed: (results) => {
      for (const r of results) metrics.syncChanges.inc({ result: r.status });
    },
    pulled: (outcome) => metrics.syncPulls.inc({ outcome }),
    limitHit: (limit) => metrics.limitHits.inc({ limit }),
  });
  return {
    services: [[SyncService, syncService(sync)]],
    jobs: syncJobs(store, config.sync),
    sync,
    async exportRecords(userId) {
      const out: ExportedRecord[] = [];
      for (let since = 0; ; ) {
        const page = await store.changedSince(userId, since, 1000);
        for (const r of page) if (!r.deleted && r.payload !== null) out.push({ id: r.id, kind: r.kind, version: r.version, updatedAt: r.updatedAt, payload: JSON.parse(r.payload) });
        if (page.length < 1000) return out;
        since = page[page.length - 1].seq;
      }
    },
  };
}
