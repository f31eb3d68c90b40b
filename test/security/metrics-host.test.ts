/**
 * Issue 17.11: outside development the metrics port listened on every interface without
 * authentication. It now listens on METRICS_HOST, loopback by default in every environment, even
 * when the API listens on every interface; an operator opens it on purpose.
 */
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultsFor, environments } from "../../src/config/schema.js";
import { spawnServer, type ChildServer } from "../support/server.js";

/** This machine's first IPv4 address that is not loopback (the test needs one). */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;

async function answers(url: string): Promise<number | string> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3_000) })).status;
  } catch (e) {
    return String((e as { cause?: { code?: string } }).cause?.code ?? e);
  }
}

it("METRICS_HOST defaults to loopback in every environment", () => {
  for (const env of environments) expect((defaultsFor(env).server as { metricsHost: string }).metricsHost).toBe("127.0.0.1");
});

describe.skipIf(!external)(`the metrics port with the API on every interface${external ? "" : " (skipped: no non-loopback IPv4 address)"}`, () => {
  let open: ChildServer;
  let opened: ChildServer;
  beforeAll(async () => {
    [open, opened] = await Promise.all([spawnServer({ env: { HOST: "0.0.0.0" } }), spawnServer({ env: { HOST: "0.0.0.0", METRICS_HOST: "0.0.0.0" } })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([open?.stop(), opened?.stop()]);
  });

  it("answers on loopback only; the API answers on the other address", async () => {
    expect(await answers(`http://${external}:${open.ports.api}/health`)).toBe(200);
    expect(await answers(`http://127.0.0.1:${open.ports.metrics}/metrics`)).toBe(200);
    expect(await answers(`http://${external}:${open.ports.metrics}/metrics`)).toBe("ECONNREFUSED");
  });

  it("METRICS_HOST=0.0.0.0 opens it, on the operator's word", async () => {
    expect(await answers(`http://${external}:${opened.ports.metrics}/metrics`)).toBe(200);
  });
});
