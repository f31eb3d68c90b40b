/**
 * Migration 0010 on a database that already holds data: each user's sync usage and open conflicts
 * are counted once from what is stored (then kept by every write), existing realtime events get
 * per-user ids in their order, and each user's event head continues after them. The lookups the
 * new limits add use their indexes (EXPLAIN QUERY PLAN).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb, type Db } from "../../../src/db/client.js";
import { migrate, readMigrations } from "../../../src/db/migrator.js";
import { RealtimeStore } from "../../../src/realtime/store.js";
import { SyncStore } from "../../../src/sync/store.js";

const dir = mkdtempSync(join(tmpdir(), "sqlstudio-m0010-"));
let db: Db;
const NOW = 1_700_000_000_000;

beforeAll(async () => {
  db = await openDb({ url: `file:${join(dir, "app.db")}` });
  await migrate(db, () => NOW, readMigrations().filter((m) => m.version < 10));
  for (const u of ["u1", "u2", "u3"]) {
    await db.execute({
      sql: "INSERT INTO users (id, email, username, username_key, password_hash, password_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'x', ?, ?, ?)",
      args: [u, `${u}@example.test`, u, u, NOW, NOW, NOW],
    });
  }
  const rec = (user: string, id: string, seq: number, payload: string | null) =>
    db.execute({
      sql: "INSERT INTO sync_records (user_id, id, kind, version, seq, deleted, payload, created_at, updated_at) VALUES (?, ?, 'saved_query', 1, ?, ?, ?, ?, ?)",
      args: [user, id, seq, payload === null ? 1 : 0, payload, NOW, NOW],
    });
  await rec("u1", "r1", 1, JSON.stringify({ title: "é".repeat(100) })); // 2-byte characters: bytes, not characters, count
  await rec("u1", "r2", 2, null);
  await rec("u2", "r3", 1, JSON.stringify({ title: "x" }));
  const conflict = (user: string, id: string, resolved: number | null) =>
    db.execute({
      sql: `INSERT INTO sync_conflicts (id, user_id, record_id, kind, device_id, base_version, server_version, server_deleted, server_payload,
              server_seq, server_updated_at, client_mutation_id, client_deleted, client_payload, resolved_at, created_at, updated_at)
            VALUES (?, ?, 'r1', 'saved_query', 'd', 0, 1, 0, '{"a":1}', 1, ?, 'm', 0, '{"bb":22}', ?, ?, ?)`,
      args: [id, user, NOW, resolved, NOW, NOW],
    });
  await conflict("u1", "c1", null);
  await conflict("u1", "c2", NOW);
  const mutation = (user: string, id: string, status: string) =>
    db.execute({
      sql: "INSERT INTO sync_mutations (user_id, device_id, mutation_id, record_id, status, created_at, updated_at) VALUES (?, 'd', ?, 'r', ?, ?, ?)",
      args: [user, id, status, NOW, NOW],
    });
  await mutation("u1", "m1", "rejected");
  await mutation("u1", "m2", "applied");
  for (const u of ["u1", "u2"]) {
    await db.execute({ sql: "INSERT INTO sync_heads (user_id, head_seq, created_at, updated_at) VALUES (?, 2, ?, ?)", args: [u, NOW, NOW] });
  }
  // Events of two users, interleaved, and one of a user that no longer exists.
  for (const u of ["u1", "u2", "u1", "gone", "u1"]) {
    await db.execute({ sql: "INSERT INTO realtime_events (user_id, type, data, created_at, updated_at) VALUES (?, 'sync_changed', '{}', ?, ?)", args: [u, NOW, NOW] });
  }
  await migrate(db, () => NOW);
});
afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("migration 0010 on existing data", () => {
  it("counts each user's usage and open conflicts from what is stored", async () => {
    const store = new SyncStore(db);
    const u1 = await store.headOf("u1");
    const r1 = Buffer.byteLength(JSON.stringify({ title: "é".repeat(100) }));
    const conflictBytes = 128 + Buffer.byteLength('{"a":1}') + Buffer.byteLength('{"bb":22}');
    // r1 + the tombstone r2 + two conflicts (open or not, both are stored) + one rejected change.
    expect(u1.usedBytes).toBe(128 + r1 + 128 + 2 * conflictBytes + 128);
    expect(u1.openConflicts).toBe(1);
    expect((await store.headOf("u2")).usedBytes).toBe(128 + Buffer.byteLength(JSON.stringify({ title: "x" })));
    expect((await store.headOf("u3")).usedBytes).toBe(0);
  });

  it("numbers existing events per user in their order; new ones continue after them", async () => {
    const rows = await new RealtimeStore(db).after(0, 100);
    expect(rows.map((r) => [r.userId, r.userSeq])).toEqual([
      ["u1", 1],
      ["u2", 1],
      ["u1", 2],
      ["gone", 1],
      ["u1", 3],
    ]);
    await new RealtimeStore(db).insert("u1", [{ type: "sync_changed", data: "{}" }, { type: "sync_changed", data: "{}" }], NOW);
    await new RealtimeStore(db).insert("u3", [{ type: "sync_changed", data: "{}" }], NOW);
    const next = (await new RealtimeStore(db).after(rows[4].id, 100)).map((r) => [r.userId, r.userSeq]);
    expect(next).toEqual([
      ["u1", 4],
      ["u1", 5],
      ["u3", 1],
    ]);
  });

  it("the lookups of the new limits use their indexes", async () => {
    const plan = async (sql: string, args: (string | number)[]) =>
      (await db.execute({ sql: `EXPLAIN QUERY PLAN ${sql}`, args })).rows.map((r) => String(r.detail)).join("\n");
    // SyncStore.openConflictsByRecord
    const open = await plan(
      "SELECT record_id, COUNT(*) AS n FROM sync_conflicts WHERE user_id = ? AND record_id IN (?, ?) AND resolved_at IS NULL GROUP BY record_id",
      ["u1", "r1", "r2"],
    );
    expect(open).toMatch(/USING (COVERING )?INDEX sync_conflicts_open_record/);
    // The retention job: resolved conflicts, rejected change results per user.
    expect(await plan("SELECT COUNT(*) FROM sync_conflicts WHERE resolved_at IS NOT NULL AND resolved_at < ?", [NOW])).toMatch(/INDEX sync_conflicts_resolved/);
    expect(await plan("SELECT COUNT(*) FROM sync_mutations m WHERE m.user_id = ? AND status = 'rejected' AND created_at < ?", ["u1", NOW])).toMatch(
      /INDEX sync_mutations_rejected/,
    );
  });
});
