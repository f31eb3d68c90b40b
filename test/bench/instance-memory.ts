/**
 * Memory of one instance, for sizing Cloud Run's memory limit (docs/deploy.md "Sizing"):
 * `npm run build && npx tsx test/bench/instance-memory.ts`. Starts the compiled server
 * (`node dist/src/main.js`, as the image does) as its own process with production settings on a
 * file database, and reads its resident set (process_resident_memory_bytes on the
 * metrics port) idle, then while it serves, at once: 40 WebSockets, 8 clients making Connect calls
 * in a loop, and 4 ExecuteQuery streams of 250,000 rows each (SQLite) read as fast as they come.
 * Prints the idle and the peak figure.
 */
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../gen/sqlstudio/auth/v1/auth_pb.js";
import { ConnectionService, Engine } from "../../gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService } from "../../gen/sqlstudio/database/v1/query_pb.js";
import { productionEnv } from "../support/cluster.js";
import { startResendStandIn, tokenFromEmail } from "../support/resend.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, spawnServer } from "../support/server.js";
import { StreamClient } from "../support/realtime.js";

const entry = join(ROOT, "dist/src/main.js");
if (!existsSync(entry)) throw new Error(`${entry} missing: npm run build first`);
const resend = await startResendStandIn();
const server = await spawnServer({ args: [entry], env: productionEnv({ ...resend.env, ENGINE_SQLITE_DIR: "./sqlite", PUBLIC_URL: "https://studio.example.test" }) });
const rss = async () => {
  const text = await (await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)![1]) / 2 ** 20;
};
try {
  const t = createConnectTransport({ baseUrl: server.url, httpVersion: "2" });
  const auth = createClient(AuthService, t);
  const tag = `mem${randomBytes(3).toString("hex")}`;
  const password = `Quartz-${randomBytes(6).toString("hex")}-Lantern!`;
  await auth.register({ email: `${tag}@example.test`, username: tag, password, displayName: tag });
  const mail = await resend.waitForEmail(`${tag}@example.test`, { subject: /verify/i });
  await auth.verifyEmail({ token: tokenFromEmail(mail, "https://studio.example.test", "verify-email") });
  const { accessToken } = await auth.login({ identifier: tag, password, deviceName: "mem" });
  const headers = { authorization: `Bearer ${accessToken}` };
  await new Promise((r) => setTimeout(r, 3_000));
  const idle = await rss();

  let peak = idle;
  let busy = true;
  const poll = (async () => {
    while (busy) {
      peak = Math.max(peak, await rss());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const sockets = await Promise.all(Array.from({ length: 40 }, () => StreamClient.connect(`ws://127.0.0.1:${server.ports.ws}/v1/stream`, accessToken)));
  const conn = await createClient(ConnectionService, t).createConnection({ spec: { name: "mem", engine: Engine.SQLITE, host: "mem.db" } }, { headers });
  const queries = createClient(QueryService, t);
  const rows = 250_000;
  const sql = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) SELECT x, printf('%060d', x) AS pad FROM c`;
  const t0 = performance.now();
  let calls = 0;
  const callers = Array.from({ length: 8 }, async () => {
    while (performance.now() - t0 < 15_000) {
      await auth.getCurrentUser({}, { headers });
      calls++;
    }
  });
  const streams = Array.from({ length: 4 }, async () => {
    let n = 0;
    for await (const m of queries.executeQuery({ connectionId: conn.connection!.id, sql, maxRows: BigInt(rows) }, { headers })) if (m.event.case === "rows") n += m.event.value.rows.length;
    return n;
  });
  const streamed = await Promise.all(streams);
  await Promise.all(callers);
  busy = false;
  await poll;
  for (const s of sockets) s.close();
  console.log(`instance memory (RSS): idle ${idle.toFixed(0)} MiB; peak ${peak.toFixed(0)} MiB under 40 WebSockets + 8 callers (${calls} calls) + 4 streams of ${streamed[0]} rows`);
} finally {
  await server.stop();
  await resend.close();
}
