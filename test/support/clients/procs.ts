/** Running the command-line clients (curl, buf curl, python3) from tests. */
import { spawn, type ChildProcess } from "node:child_process";

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command to completion (killed after timeoutMs), with stdin if given. */
export function run(cmd: string, args: readonly string[], opts: { input?: string | Uint8Array; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/**
 * Starts a long-running command (a server stream) and resolves once `ready(stdoutSoFar)`
 * returns a value; the caller then calls `stop()` to cancel the stream. The command runs in
 * its own process group, so wrappers (a node shim around a native binary) die with it.
 */
export function spawnUntil<T>(
  cmd: string,
  args: readonly string[],
  ready: (stdout: Buffer) => T | undefined,
  opts: { input?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<{ value: T; child: ChildProcess; exited: Promise<number | null>; stop(): Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* already gone */
      }
    };
    const stop = () => {
      killGroup("SIGTERM");
      return exited;
    };
    let out = Buffer.alloc(0);
    let stderr = "";
    let done = false;
    const timer = setTimeout(() => {
      killGroup("SIGKILL");
      reject(new Error(`${cmd}: nothing usable within ${opts.timeoutMs ?? 10_000} ms; stdout=${out.toString("latin1")} stderr=${stderr}`));
    }, opts.timeoutMs ?? 10_000);
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.stdout.on("data", (d: Buffer) => {
      if (done) return;
      out = Buffer.concat([out, d]);
      const value = ready(out);
      if (value !== undefined) {
        done = true;
        clearTimeout(timer);
        resolve({ value, child, exited, stop });
      }
    });
    child.once("error", reject);
    exited.then((code) => {
      if (done) return;
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code} before it produced output; stdout=${out.toString("latin1")} stderr=${stderr}`));
    });
    child.stdin.end(opts.input ?? "");
  });
}
