import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, freshIp, registerAndLogin, startAuthServer } from "../../support/auth.js";
import type { TestServer } from "../../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(() => server?.stop());

const scrape = async () => (await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).text();
const count = (text: string, result: string) => Number(new RegExp(`^auth_logins_total\\{result="${result}"\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);

describe("login metrics", () => {
  it("counts logins by result on the metrics port", async () => {
    const before = await scrape();
    const { user } = await registerAndLogin(server, "metrics");
    await call(server, "Login", { identifier: user.username, password: `${user.password}x` }, { ip: freshIp() });
    await call(server, "Login", { identifier: user.username, password: `${user.password}y` }, { ip: freshIp() });
    const after = await scrape();
    expect(count(after, "ok") - count(before, "ok")).toBe(1);
    expect(count(after, "invalid") - count(before, "invalid")).toBe(2);
  });
});
