import net from "node:net";
import tls from "node:tls";

/**
 * PostgreSQL's cancel request: a connection of its own that sends 16 bytes (after an SSLRequest and
 * the TLS handshake when the profile uses TLS) and reads nothing else; whatever the server sends
 * back is not read, and the whole exchange is bounded by `timeoutMs`. Resolves when the request
 * went out (or the time is up: a cancel is best effort, the caller destroys the session anyway).
 */
export function sendCancel(
  to: { host: string; port: number; tls: tls.ConnectionOptions | false },
  key: { pid: number; secret: number },
  timeoutMs: number,
): Promise<boolean> {
  const request = Buffer.alloc(16);
  request.writeInt32BE(16, 0);
  request.writeInt32BE(80877102, 4);
  request.writeInt32BE(key.pid, 8);
  request.writeInt32BE(key.secret, 12);
  return new Promise<boolean>((resolve) => {
    const raw = net.connect(to.port, to.host);
    let sock: net.Socket = raw;
    let settled = false;
    const done = (sent: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw.destroy();
      sock.destroy();
      resolve(sent);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    raw.on("error", () => done(false));
    const send = (s: net.Socket) => {
      sock = s;
      // Anything the server sends on a cancel connection ends it: nothing is read.
      s.on("data", () => done(true));
      s.write(request, () => s.end());
      s.on("close", () => done(true));
    };
    raw.once("connect", () => {
      if (!to.tls) return send(raw);
      raw.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
      raw.once("data", (b) => {
        if (b.length !== 1 || (b[0] !== 0x53 && b[0] !== 0x4e)) return done(false);
        if (b[0] === 0x4e) return send(raw);
        const secure = tls.connect({ ...(to.tls as tls.ConnectionOptions), socket: raw });
        secure.on("error", () => done(false));
        secure.once("secureConnect", () => send(secure));
      });
    });
  });
}
