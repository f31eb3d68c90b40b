import type { SslMode } from "../driver.js";

/**
 * What a profile's ssl_mode asks of TLS, the same for PostgreSQL and MySQL (docs/engine.md):
 * undefined for no TLS ("disable", and "prefer": neither driver falls back from TLS to plain);
 * `chain` to verify the certificate against the trusted CAs, `identity` to check it names the
 * profile's host as well.
 */
export function tlsChecks(mode: SslMode): { chain: boolean; identity: boolean } | undefined {
  switch (mode) {
    case "disable":
    case "prefer":
      return undefined;
    case "require":
      return { chain: false, identity: false };
    case "verify-ca":
      return { chain: true, identity: false };
    case "verify-full":
      return { chain: true, identity: true };
  }
}

/** The server's certificate is verified: only then may a password go in clear over the connection. */
export const verifiedTls = (mode: SslMode): boolean => tlsChecks(mode)?.chain === true;
