/**
 * Retention (DESIGN.md §6): the sync.retention job deletes old tombstones and old history and moves
 * the user's purged_seq past them; a device whose cursor is behind it is told reset_required and
 * converges by pulling from 0. A device that is up to date is not disturbed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyncStore } from "../../../src/sync/store.js";
import { syncJobs } from "../../../src/sync/jobs.js";
import { registerAndLogin, startAuthServer } from "../../support/auth.js";
import type { TestServer } from "../../support/server.js";
import { history, remove, savedQuery, syncClient, uuid } from "../../support/sync.js";

const DAY = 24 * 3_600_000;
let server: TestServer;
beforeAll(async () => {
  server = await startAuthServer({ env: { SYNC_TOMBSTONE_RETENTION_DAYS: "30", SYNC_HISTORY_RETENTION_DAYS: "60" } });
});
afterAll(() => server?.stop());

describe("sync retention", () => {
  it("purges old tombstones and history; stale cursors reset, current ones do not", async () => {
    const { session } = await registerAndLogin(server, "retain");
    const sync = syncClient(server, session.accessToken);
    const kept = uuid();
    const gone = uuid();
    const old = uuid();
    await sync.push("a", [savedQuery(kept, 0, { title: "kept" }), savedQuery(gone, 0, { title: "to delete" }), history(old, { sql: "select 1" })]);
    const early = (await sync.pull("stale")).nextSeq; // a device that stops syncing here
    await sync.push("a", [remove(gone, 1)]);
    const current = (await sync.pullAll("current")).nextSeq;

    const [job] = syncJobs(new SyncStore(server.db), { tombstoneRetentionDays: 30, historyRetentionDays: 60 });
    // 31 days on: the tombstone goes, the history entry (60 days) stays.
    expect(await job.run(Date.now() + 31 * DAY)).toMatchObject({ purged: 1 });
    const afterTombstones = await sync.pullAll("fresh");
    expect(afterTombstones.records.map((r) => r.id).sort()).toEqual([kept, old].sort());

    // The stale device missed the deletion: it must start over; the current one carries on.
    const stale = await sync.pull("stale", early);
    expect(stale.resetRequired).toBe(true);
    const up = await sync.pull("current", current);
    expect(up.resetRequired).toBe(false);
    expect(up.records).toEqual([]);

    // 61 days on: the history entry goes too; pulling from 0 converges on what is left.
    expect(await job.run(Date.now() + 61 * DAY)).toMatchObject({ purged: 1 });
    const fromZero = await sync.pullAll("stale", 0);
    expect(fromZero.records.map((r) => r.id)).toEqual([kept]);
    expect((fromZero.records[0].payload.value as { title: string }).title).toBe("kept");
  });
});
