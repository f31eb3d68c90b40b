import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it, vi } from "vitest";
import { isoTime, logDestination } from "../../../src/observability/logger.js";

const dir = mkdtempSync(join(tmpdir(), "logdest-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const turn = () => new Promise((r) => setImmediate(r));

describe("logDestination", () => {
  it("writes the lines of one event-loop turn together when the turn ends", async () => {
    const file = join(dir, "turn.log");
    const dest = logDestination(file);
    await turn(); // the file is opened synchronously; nothing written yet
    dest.write('{"msg":"a"}\n');
    dest.write('{"msg":"b"}\n');
    expect(readFileSync(file, "utf8")).toBe("");
    await turn();
    expect(readFileSync(file, "utf8")).toBe('{"msg":"a"}\n{"msg":"b"}\n');
    dest.write('{"msg":"c"}\n');
    dest.flush();
    expect(readFileSync(file, "utf8")).toBe('{"msg":"a"}\n{"msg":"b"}\n{"msg":"c"}\n');
  });

  it("writes at once when 8 KB are waiting", () => {
    const file = join(dir, "big.log");
    const dest = logDestination(file);
    const line = `${JSON.stringify({ msg: "x".repeat(1000) })}\n`;
    for (let i = 0; i < 9; i++) dest.write(line);
    expect(readFileSync(file, "utf8").length).toBeGreaterThanOrEqual(8 * 1024);
  });

  it("writes what is left when the process exits in the same turn", () => {
    const file = join(dir, "exit.log");
    const src = `import { logDestination } from ${JSON.stringify(join(process.cwd(), "src/observability/logger.ts"))};
const d = logDestination(${JSON.stringify(file)}); d.write("last line\\n"); process.exit(3);`;
    expect(() => execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", src], { stdio: "pipe" })).toThrow();
    expect(readFileSync(file, "utf8")).toBe("last line\n");
  });
});

describe("isoTime", () => {
  it("is pino's isoTime, made again when the millisecond changes", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      for (const ms of [Date.UTC(2026, 11, 6, 23, 20, 1, 123), Date.UTC(2026, 11, 6, 23, 20, 1, 124), Date.UTC(2027, 0, 1)]) {
        vi.setSystemTime(ms);
        expect(isoTime()).toBe(pino.stdTimeFunctions.isoTime());
        expect(isoTime()).toBe(`,"time":"${new Date(ms).toISOString()}"`);
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
