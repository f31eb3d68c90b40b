/**
 * A hostile PostgreSQL wire server for tests: it speaks enough of the protocol for the pg driver to
 * connect and run statements, logs every message a client sends (startup, SSL and cancel requests,
 * password and SASL messages included), and lets each test script what it answers: rows without
 * end, huge messages, absurd length prefixes, silence, a cancel connection that streams rows.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import net from "node:net";
import tls from "node:tls";

export interface PgReceived {
  /** Which client connection (1, 2, …) in the order they arrived. */
  conn: number;
  kind: "startup" | "ssl" | "cancel" | "message";
  /** The message type letter (kind "message"). */
  type?: string;
  body: Buffer;
  /** Startup parameters (kind "startup"). */
  params?: Record<string, string>;
}

export type PgAuth = "trust" | "cleartext" | "md5" | { scram: { password: string; iterations?: number } };

/** One client connection, as the script sees it. */
export interface PgPeer {
  id: number;
  socket: net.Socket | tls.TLSSocket;
  /** Set once the socket is gone. */
  closed: boolean;
  send(type: string, body?: Buffer): Promise<void>;
  /** Bytes as they are (backpressure respected). */
  write(bytes: Buffer): Promise<void>;
}

export interface PgScript {
  auth?: PgAuth;
  /** Answer SSLRequest with 'S' and this certificate; otherwise 'N'. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Answers one Execute of `sql` (the text of the last Parse). Return false to let the default
   * answer it: the rows of `results[sql]` (or one "PostgreSQL 16.0 (hostile)" row for version(),
   * else no rows).
   */
  execute?: (peer: PgPeer, sql: string, maxRows: number) => Promise<boolean | void> | boolean | void;
  /** What a cancel connection gets after its request (default: the socket is closed). */
  onCancel?: (peer: PgPeer, pid: number, key: number) => Promise<void> | void;
  /** Replaces everything after the startup message (e.g. an absurd length prefix at once). */
  afterStartup?: (peer: PgPeer) => Promise<boolean | void> | boolean | void;
  results?: Record<string, { columns: string[]; rows: (string | null)[][] }>;
}

export interface HostilePg {
  host: string;
  port: number;
  received: PgReceived[];
  /** Client connections accepted so far. */
  connections: number;
  /** Sockets still open. */
  open(): number;
  /** SQL texts of Parse and Query messages, in order. */
  statements(): string[];
  /** Every byte a client sent on any connection after the startup message. */
  bytesFrom(kind?: PgReceived["kind"]): Buffer;
  setScript(script: PgScript): void;
  close(): Promise<void>;
}

export const PID = 4242;
export const SECRET = 0x5eed;

// ----------------------------------------------------------------- messages

export function msg(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const cstr = (s: string) => Buffer.from(`${s}\0`, "utf8");

export function rowDescription(columns: string[], typeOid = 25): Buffer {
  return msg("T", Buffer.concat([int16(columns.length), ...columns.map((c) => Buffer.concat([cstr(c), int32(0), int16(0), int32(typeOid), int16(-1), int32(-1), int16(0)]))]));
}
export function dataRow(values: (string | Buffer | null)[]): Buffer {
  const parts: Buffer[] = [int16(values.length)];
  for (const v of values) {
    if (v === null) parts.push(int32(-1));
    else {
      const b = typeof v === "string" ? Buffer.from(v, "utf8") : v;
      parts.push(int32(b.length), b);
    }
  }
  return msg("D", Buffer.concat(parts));
}
export const commandComplete = (tag: string) => msg("C", cstr(tag));
export const readyForQuery = () => msg("Z", Buffer.from("I"));
export function errorResponse(message: string, code = "XX000", type: "E" | "N" = "E"): Buffer {
  return msg(type, Buffer.concat([Buffer.from("SERROR\0VERROR\0"), Buffer.from(`C${code}\0`), Buffer.from("M"), Buffer.from(message, "utf8"), Buffer.from("\0\0")]));
}
/** The header of a message whose body is `length` bytes (sent without the body). */
export function header(type: string, length: number): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeUInt32BE(length + 4, 1);
  return head;
}

/** DataRows (one text column, "x…") until the peer is gone; backpressure respected. */
export async function rowsForever(peer: PgPeer, width = 100): Promise<void> {
  const row = dataRow(["x".repeat(width)]);
  const chunk = Buffer.concat(Array.from({ length: 200 }, () => row));
  while (!peer.closed) await peer.write(chunk);
}

/** A message of `size` bytes of body (type + int32 length first), streamed in 1 MB pieces. */
export async function hugeMessage(peer: PgPeer, type: string, size: number, prefix: Buffer = Buffer.alloc(0)): Promise<void> {
  await peer.write(Buffer.concat([header(type, size), prefix]));
  const piece = Buffer.alloc(1024 * 1024, 0x78);
  for (let sent = prefix.length; sent < size && !peer.closed; sent += piece.length) await peer.write(piece.subarray(0, Math.min(piece.length, size - sent)));
}

// ----------------------------------------------------------------- server

export async function startHostilePg(initial: PgScript = {}): Promise<HostilePg> {
  let script = initial;
  const received: PgReceived[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;

  const server = net.createServer((raw) => {
    const id = ++connections;
    sockets.add(raw);
    raw.on("close", () => sockets.delete(raw));
    raw.on("error", () => undefined);
    void serve(raw, id).catch(() => raw.destroy());
  });

  async function serve(raw: net.Socket, id: number): Promise<void> {
    let socket: net.Socket | tls.TLSSocket = raw;
    const peer: PgPeer = {
      id,
      get socket() {
        return socket;
      },
      get closed() {
        return raw.destroyed || socket.destroyed;
      },
      send: (type, body) => peer.write(msg(type, body)),
      write: (bytes) =>
        new Promise<void>((resolve) => {
          if (peer.closed) return void setImmediate(resolve);
          // Yield to the event loop after each write: a loop of writes the kernel absorbs at once
          // would otherwise starve everything else in this process (the test, its clients).
          if (socket.write(bytes)) return void setImmediate(resolve);
          const done = () => {
            socket.off("drain", done);
            socket.off("close", done);
            resolve();
          };
          socket.once("drain", done);
          socket.once("close", done);
        }),
    };
    const reader = new Reader(raw);
    // Startup phase: SSLRequest / CancelRequest / StartupMessage (no type byte).
    for (;;) {
      const len = (await reader.take(4)).readInt32BE(0);
      const body = await reader.take(len - 4);
      const code = body.readInt32BE(0);
      if (code === 80877103) {
        received.push({ conn: id, kind: "ssl", body });
        if (!script.tls) {
          await peer.write(Buffer.from("N"));
          continue;
        }
        await peer.write(Buffer.from("S"));
        reader.detach();
        const secure = new tls.TLSSocket(raw, { isServer: true, cert: script.tls.cert, key: script.tls.key });
        secure.on("error", () => undefined);
        socket = secure;
        reader.attach(secure);
        continue;
      }
      if (code === 80877102) {
        received.push({ conn: id, kind: "cancel", body });
        if (script.onCancel) await script.onCancel(peer, body.readInt32BE(4), body.readInt32BE(8));
        socket.destroy();
        return;
      }
      const params: Record<string, string> = {};
      const parts = body.subarray(4).toString("utf8").split("\0");
      for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) params[parts[i]] = parts[i + 1];
      received.push({ conn: id, kind: "startup", body, params });
      break;
    }
    if (script.afterStartup && (await script.afterStartup(peer)) !== false) return;
    if (!(await authenticate(peer, reader, id))) return;
    await peer.write(Buffer.concat([msg("S", Buffer.concat([cstr("server_version"), cstr("16.0")])), msg("K", Buffer.concat([int32(PID), int32(SECRET)])), readyForQuery()]));

    let sql = "";
    for (;;) {
      const type = String.fromCharCode((await reader.take(1))[0]);
      const len = (await reader.take(4)).readInt32BE(0);
      const body = await reader.take(len - 4);
      received.push({ conn: id, kind: "message", type, body });
      switch (type) {
        case "P":
          sql = body.subarray(body.indexOf(0) + 1, body.indexOf(0, body.indexOf(0) + 1)).toString("utf8");
          await peer.write(msg("1"));
          break;
        case "B":
          await peer.write(msg("2"));
          break;
        case "D": {
          const r = resultOf(sql);
          await peer.write(r && r.columns.length > 0 ? rowDescription(r.columns) : msg("n"));
          break;
        }
        case "E": {
          const maxRows = body.readInt32BE(body.indexOf(0) + 1);
          if (script.execute && (await script.execute(peer, sql, maxRows)) !== false) break;
          const r = resultOf(sql);
          const rows = r?.rows ?? [];
          await peer.write(Buffer.concat([...rows.map(dataRow), commandComplete(r ? `SELECT ${rows.length}` : sql.trim().split(/\s+/).slice(0, 2).join(" ").toUpperCase())]));
          break;
        }
        case "Q": {
          sql = body.subarray(0, body.indexOf(0)).toString("utf8");
          if (script.execute && (await script.execute(peer, sql, 0)) !== false) break;
          const r = resultOf(sql);
          const out = r ? [...(r.columns.length ? [rowDescription(r.columns)] : []), ...r.rows.map(dataRow), commandComplete(`SELECT ${r.rows.length}`)] : [commandComplete("SELECT 0")];
          await peer.write(Buffer.concat([...out, readyForQuery()]));
          break;
        }
        case "C":
          await peer.write(msg("3"));
          break;
        case "S":
          await peer.write(readyForQuery());
          break;
        case "X":
          socket.end();
          return;
        default:
          break; // H (flush) and the rest need no answer
      }
    }
  }

  function resultOf(sql: string): { columns: string[]; rows: (string | null)[][] } | undefined {
    const r = script.results?.[sql];
    if (r) return r;
    if (/^select version\(\)/i.test(sql.trim())) return { columns: ["version"], rows: [["PostgreSQL 16.0 (hostile)"]] };
    if (/^select/i.test(sql.trim())) return { columns: ["?column?"], rows: [["1"]] };
    return undefined;
  }

  async function authenticate(peer: PgPeer, reader: Reader, id: number): Promise<boolean> {
    const auth = script.auth ?? "trust";
    const next = async (): Promise<Buffer | undefined> => {
      const type = String.fromCharCode((await reader.take(1))[0]);
      const len = (await reader.take(4)).readInt32BE(0);
      const body = await reader.take(len - 4);
      received.push({ conn: id, kind: "message", type, body });
      return type === "p" ? body : undefined;
    };
    if (auth === "cleartext") {
      await peer.send("R", int32(3));
      if (!(await next())) return false;
    } else if (auth === "md5") {
      await peer.send("R", Buffer.concat([int32(5), randomBytes(4)]));
      if (!(await next())) return false;
    } else if (typeof auth === "object") {
      await peer.send("R", Buffer.concat([int32(10), cstr("SCRAM-SHA-256"), Buffer.from([0])]));
      const first = await next();
      if (!first) return false;
      // SASLInitialResponse: mechanism\0, int32 length, client-first-message ("n,,n=,r=<nonce>").
      const clientFirst = first.subarray(first.indexOf(0) + 5).toString("utf8");
      const clientFirstBare = clientFirst.slice(clientFirst.indexOf("n=", 3));
      const clientNonce = /r=([^,]+)/.exec(clientFirstBare)![1];
      const salt = randomBytes(16);
      const iterations = auth.scram.iterations ?? 4096;
      const serverFirst = `r=${clientNonce}${randomBytes(18).toString("base64")},s=${salt.toString("base64")},i=${iterations}`;
      await peer.send("R", Buffer.concat([int32(11), Buffer.from(serverFirst)]));
      const final = await next();
      if (!final) return false;
      const clientFinal = final.toString("utf8");
      const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(",p="));
      const salted = pbkdf2Sync(auth.scram.password.normalize("NFKC"), salt, iterations, 32, "sha256");
      const serverKey = createHmac("sha256", salted).update("Server Key").digest();
      const signature = createHmac("sha256", serverKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest();
      await peer.send("R", Buffer.concat([int32(12), Buffer.from(`v=${signature.toString("base64")}`)]));
    }
    await peer.send("R", int32(0));
    return true;
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: "127.0.0.1",
    port,
    received,
    get connections() {
      return connections;
    },
    open: () => sockets.size,
    statements: () => received.filter((r) => r.kind === "message" && (r.type === "P" || r.type === "Q")).map((r) => (r.type === "P" ? r.body.subarray(r.body.indexOf(0) + 1) : r.body).toString("utf8").split("\0")[0]),
    bytesFrom: (kind) => Buffer.concat(received.filter((r) => !kind || r.kind === kind).map((r) => r.body)),
    setScript: (s) => (script = s),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** md5 of what a client answering an md5 request would send for this password (for assertions). */
export const md5Inner = (password: string, user: string) => createHash("md5").update(password + user).digest("hex");

/** Reads exact byte counts from a socket (re-attachable after a TLS upgrade). */
class Reader {
  private chunks: Buffer[] = [];
  private size = 0;
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private source: net.Socket | undefined;
  private ended = false;
  private readonly onData = (d: Buffer) => {
    this.chunks.push(d);
    this.size += d.length;
    this.pump();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.pump();
  };
  constructor(s: net.Socket) {
    this.attach(s);
  }
  attach(s: net.Socket) {
    this.source = s;
    s.on("data", this.onData);
    s.on("close", this.onEnd);
  }
  detach() {
    this.source?.off("data", this.onData);
    this.source?.off("close", this.onEnd);
  }
  take(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.want = { n, resolve, reject };
      this.pump();
    });
  }
  private pump() {
    const w = this.want;
    if (!w) return;
    if (this.size >= w.n) {
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = all.length > w.n ? [all.subarray(w.n)] : [];
      this.size = all.length - w.n;
      this.want = undefined;
      w.resolve(all.subarray(0, w.n));
    } else if (this.ended) {
      this.want = undefined;
      w.reject(new Error("closed"));
    }
  }
}
