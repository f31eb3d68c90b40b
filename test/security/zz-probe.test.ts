import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "vitest";
import { call, freshIp, newUser, register, TEST_JWT_SECRET } from "../support/auth.js";
import { spawnServer } from "../support/server.js";

it("probe", async () => {
  for (let round = 0; round < 3; round++) {
  const dir = mkdtempSync(join(tmpdir(), "probe-"));
  const env = { JWT_SECRET: TEST_JWT_SECRET, BCRYPT_COST: "10", TRUST_PROXY: "1", LOG_LEVEL: "debug" };
  const a = await spawnServer({ dir, env });
  const b = await spawnServer({ dir, env });
  const u = newUser("p");
  await register(a, u);
  const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i % 2 ? a : b, "Login", { identifier: u.username, password: "Wrong-password-x-long", deviceName: "x" }, { ip: freshIp() })));
  console.log(round, rs.map((r) => r.info?.reason).join(","));
  for (const [n, s] of [["a", a], ["b", b]] as const) {
    const lines = s.lines.filter((l) => /"level":50/.test(l));
    if (lines.length) console.log(n, lines.length, lines[0].slice(0, 3000));
  }
  await a.stop(); await b.stop();
  }
}, 200000);
