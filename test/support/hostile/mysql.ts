/**
 * A hostile MySQL wire server for tests: a handshake mysql2 accepts, every packet a client sends
 * logged (the handshake response and auth packets included), and per-test scripts for what it
 * answers: a column count of 4e9 with column definitions without end, one row of endless 16 MB
 * packets, rows without end, silence, a KILL QUERY never answered, malformed packets, auth switches
 * to plugins that would reveal the password.
 */
import { privateDecrypt, randomBytes, constants } from "node:crypto";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";

export interface MysqlReceived {
  conn: number;
  /** "handshake" (the HandshakeResponse), "ssl" (SSLRequest), "auth" (later auth packets), "command". */
  kind: "handshake" | "ssl" | "auth" | "command";
  payload: Buffer;
}

export interface MysqlPeer {
  id: number;
  closed: boolean;
  /** A packet (header added, sequence id tracked), backpressure respected. */
  packet(payload: Buffer): Promise<void>;
  /** Several packets in one write. */
  packets(payloads: Buffer[]): Promise<void>;
  write(bytes: Buffer): Promise<void>;
  seq: number;
}

export type MysqlAuth =
  | "native"
  /** Switches to mysql_clear_password after the handshake response. */
  | "clear"
  /** Switches to sha256_password; sends this RSA key (PEM) when asked, decrypts what comes back. */
  | { sha256: { publicKey: string; privateKey: string } }
  /** Announces caching_sha2_password and asks for full authentication; same key handling. */
  | { cachingSha2: { publicKey: string; privateKey: string } };

export interface MysqlScript {
  auth?: MysqlAuth;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Replaces the greeting (e.g. a truncated one). Return true when it handled the connection. */
  greeting?: (peer: MysqlPeer) => Promise<boolean | void> | boolean | void;
  /** Answers a COM_QUERY; return false for the default answer. */
  query?: (peer: MysqlPeer, sql: string) => Promise<boolean | void> | boolean | void;
}

export interface HostileMysql {
  host: string;
  port: number;
  received: MysqlReceived[];
  connections: number;
  open(): number;
  /** COM_QUERY texts in order. */
  queries(): string[];
  /** Passwords the server could read (clear text, or RSA-decrypted). */
  revealed: string[];
  setScript(s: MysqlScript): void;
  close(): Promise<void>;
}

const CAPS = 0x1 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000; // LONG_PASSWORD, CONNECT_WITH_DB, PROTOCOL_41, TRANSACTIONS, SECURE_CONNECTION, PLUGIN_AUTH
const SSL = 0x800;

export function lenenc(n: number): Buffer {
  if (n < 251) return Buffer.from([n]);
  if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8]);
  if (n < 0x1000000) return Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]);
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}
const lstr = (s: string | Buffer) => {
  const b = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  return Buffer.concat([lenenc(b.length), b]);
};
export const okPacket = () => Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
export const eofPacket = () => Buffer.from([0xfe, 0x00, 0x00, 0x02, 0x00]);
export function errPacket(message: string, code = 1064, state = "42000"): Buffer {
  const b = Buffer.alloc(3);
  b[0] = 0xff;
  b.writeUInt16LE(code, 1);
  return Buffer.concat([b, Buffer.from(`#${state}`), Buffer.from(message, "utf8")]);
}
/** A VAR_STRING utf8mb4 column definition. */
export function columnDef(name: string): Buffer {
  const tail = Buffer.alloc(13);
  tail[0] = 0x0c;
  tail.writeUInt16LE(45, 1); // utf8mb4_general_ci
  tail.writeUInt32LE(1024, 3);
  tail[7] = 253; // VAR_STRING
  return Buffer.concat([lstr("def"), lstr(""), lstr(""), lstr(""), lstr(name), lstr(name), tail]);
}
export const textRow = (values: (string | null)[]) => Buffer.concat(values.map((v) => (v === null ? Buffer.from([0xfb]) : lstr(v))));

/** A whole result set: column count, definitions, EOF, rows, EOF. */
export async function resultSet(peer: MysqlPeer, columns: string[], rows: (string | null)[][]): Promise<void> {
  await peer.packet(lenenc(columns.length));
  for (const c of columns) await peer.packet(columnDef(c));
  await peer.packet(eofPacket());
  for (const r of rows) await peer.packet(textRow(r));
  await peer.packet(eofPacket());
}

export async function startHostileMysql(initial: MysqlScript = {}): Promise<HostileMysql> {
  let script = initial;
  const received: MysqlReceived[] = [];
  const revealed: string[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;

  async function serve(raw: net.Socket, id: number): Promise<void> {
    let socket: net.Socket = raw;
    const peer: MysqlPeer = {
      id,
      get closed() {
        return raw.destroyed || socket.destroyed;
      },
      seq: 0,
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
      packet: (payload) => peer.packets([payload]),
      packets: (payloads) => {
        const parts: Buffer[] = [];
        for (const payload of payloads) {
          const head = Buffer.alloc(4);
          head.writeUIntLE(payload.length, 0, 3);
          head[3] = peer.seq++ & 0xff;
          parts.push(head, payload);
        }
        return peer.write(Buffer.concat(parts));
      },
    };
    const reader = new PacketReader(raw);
    if (script.greeting && (await script.greeting(peer)) !== false) return;

    const auth = script.auth ?? "native";
    const plugin = typeof auth === "object" && "cachingSha2" in auth ? "caching_sha2_password" : "mysql_native_password";
    const scramble = Buffer.from(randomBytes(20).map((b) => (b % 94) + 33));
    const caps = CAPS | (script.tls ? SSL : 0);
    const status = Buffer.alloc(2);
    status.writeUInt16LE(2);
    const greeting = Buffer.concat([
      Buffer.from([10]),
      Buffer.from("10.11.0-hostile\0"),
      (() => {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(1000 + id);
        return b;
      })(),
      scramble.subarray(0, 8),
      Buffer.from([0]),
      Buffer.from([caps & 0xff, (caps >> 8) & 0xff]),
      Buffer.from([45]),
      status,
      Buffer.from([(caps >> 16) & 0xff, (caps >> 24) & 0xff]),
      Buffer.from([21]),
      Buffer.alloc(10),
      scramble.subarray(8),
      Buffer.from([0]),
      Buffer.from(`${plugin}\0`),
    ]);
    await peer.packet(greeting);

    let response = await reader.next();
    if (response.length === 32 && script.tls) {
      received.push({ conn: id, kind: "ssl", payload: response });
      // The client starts TLS right after its SSLRequest: bytes already read are its ClientHello,
      // so TLS runs over a stream that replays them before the socket's next bytes.
      const rest = reader.detach();
      const plain = new Duplex({
        read() {},
        write(chunk, _enc, cb) {
          raw.write(chunk, cb);
        },
        final(cb) {
          raw.end();
          cb();
        },
        destroy(err, cb) {
          raw.destroy();
          cb(err);
        },
      });
      if (rest.length > 0) plain.push(rest);
      raw.on("data", (d) => plain.push(d));
      raw.on("end", () => plain.push(null));
      raw.on("close", () => plain.destroy());
      const secure = new tls.TLSSocket(plain as unknown as net.Socket, { isServer: true, cert: script.tls.cert, key: script.tls.key });
      secure.on("error", () => undefined);
      socket = secure;
      reader.attach(secure);
      response = await reader.next();
    }
    received.push({ conn: id, kind: "handshake", payload: response });
    peer.seq = reader.seq + 1;

    const authPacket = async () => {
      const p = await reader.next();
      peer.seq = reader.seq + 1;
      received.push({ conn: id, kind: "auth", payload: p });
      return p;
    };
    const keyExchange = async (keys: { publicKey: string; privateKey: string }, requestByte: number) => {
      const req = await authPacket();
      if (req.length === 1 && req[0] === requestByte) {
        await peer.packet(Buffer.concat([Buffer.from([0x01]), Buffer.from(keys.publicKey)]));
        const enc = await authPacket();
        try {
          const plain = privateDecrypt({ key: keys.privateKey, oaepHash: "sha1", padding: constants.RSA_PKCS1_OAEP_PADDING }, enc);
          const clear = Buffer.from(plain.map((b, i) => b ^ scramble[i % scramble.length]));
          revealed.push(clear.toString("utf8").replace(/\0$/, ""));
        } catch {
          /* not RSA */
        }
      } else revealed.push(req.toString("utf8").replace(/\0$/, ""));
    };
    if (auth === "clear") {
      await peer.packet(Buffer.concat([Buffer.from([0xfe]), Buffer.from("mysql_clear_password\0"), scramble, Buffer.from([0])]));
      revealed.push((await authPacket()).toString("utf8").replace(/\0$/, ""));
    } else if (typeof auth === "object" && "sha256" in auth) {
      await peer.packet(Buffer.concat([Buffer.from([0xfe]), Buffer.from("sha256_password\0"), scramble, Buffer.from([0])]));
      await keyExchange(auth.sha256, 0x01);
    } else if (typeof auth === "object" && "cachingSha2" in auth) {
      // A client that started with another plugin is switched to caching_sha2_password first.
      const started = response.includes(Buffer.from("caching_sha2_password\0"));
      if (!started) {
        await peer.packet(Buffer.concat([Buffer.from([0xfe]), Buffer.from("caching_sha2_password\0"), scramble, Buffer.from([0])]));
        await authPacket();
      }
      await peer.packet(Buffer.from([0x01, 0x04])); // perform full authentication
      await keyExchange(auth.cachingSha2, 0x02);
    }
    await peer.packet(okPacket());

    for (;;) {
      const p = await reader.next();
      peer.seq = 1;
      received.push({ conn: id, kind: "command", payload: p });
      const cmd = p[0];
      if (cmd === 0x01) {
        socket.end();
        return;
      }
      if (cmd !== 0x03) {
        await peer.packet(okPacket()); // ping, reset connection, …
        continue;
      }
      const sql = p.subarray(1).toString("utf8");
      if (script.query && (await script.query(peer, sql)) !== false) continue;
      if (/^select version\(\)/i.test(sql)) await resultSet(peer, ["VERSION()"], [["10.11.0-hostile"]]);
      else if (/^select/i.test(sql)) await resultSet(peer, ["1"], [["1"]]);
      else await peer.packet(okPacket());
    }
  }

  const server = net.createServer((raw) => {
    const id = ++connections;
    sockets.add(raw);
    raw.on("close", () => sockets.delete(raw));
    raw.on("error", () => undefined);
    void serve(raw, id).catch(() => raw.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: "127.0.0.1",
    port: (server.address() as net.AddressInfo).port,
    received,
    revealed,
    get connections() {
      return connections;
    },
    open: () => sockets.size,
    queries: () => received.filter((r) => r.kind === "command" && r.payload[0] === 0x03).map((r) => r.payload.subarray(1).toString("utf8")),
    setScript: (s) => (script = s),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes packets of 16 MB - 1 (each "to be continued") until the peer is gone; the first starts with `prefix`. */
export async function endlessPacket(peer: MysqlPeer, prefix: Buffer = Buffer.alloc(0)): Promise<void> {
  const payload = Buffer.alloc(0xffffff, 0x78);
  const head = Buffer.alloc(4);
  for (let first = true; !peer.closed; first = false) {
    head.writeUIntLE(0xffffff, 0, 3);
    head[3] = peer.seq++ & 0xff;
    await peer.write(head);
    await peer.write(first ? Buffer.concat([prefix, payload.subarray(prefix.length)]) : payload);
  }
}

/** A length-encoded prefix announcing a value of `n` bytes (0xFE + 8 bytes). */
export function bigLength(n: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

/** Reads whole packets (payloads of up to 16 MB - 1; enough for what clients send). */
class PacketReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private source: net.Socket | undefined;
  private ended = false;
  seq = 0;
  private readonly onData = (d: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
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
  /** Stops reading; returns what was read and not yet taken. */
  detach(): Buffer {
    this.source?.off("data", this.onData);
    this.source?.off("close", this.onEnd);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
  next(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.pump();
    });
  }
  private pump() {
    const w = this.waiting;
    if (!w) return;
    if (this.buf.length >= 4) {
      const len = this.buf.readUIntLE(0, 3);
      if (this.buf.length >= 4 + len) {
        this.seq = this.buf[3];
        const p = this.buf.subarray(4, 4 + len);
        this.buf = this.buf.subarray(4 + len);
        this.waiting = undefined;
        w.resolve(p);
        return;
      }
    }
    if (this.ended) {
      this.waiting = undefined;
      w.reject(new Error("closed"));
    }
  }
}
