import { Engine, SslMode } from "@gen/sqlstudio/database/v1/connection_pb.js";

export const ENGINES: [Engine, string][] = [
  [Engine.POSTGRESQL, "PostgreSQL"],
  [Engine.MYSQL, "MySQL / MariaDB"],
  [Engine.SQLITE, "SQLite"],
];
export const engineName = (e: Engine) => ENGINES.find(([v]) => v === e)?.[1] ?? "Unknown";
export const DEFAULT_PORT: Partial<Record<Engine, number>> = { [Engine.POSTGRESQL]: 5432, [Engine.MYSQL]: 3306 };

export const SSL_MODES: [SslMode, string][] = [
  [SslMode.UNSPECIFIED, "Prefer (default)"],
  [SslMode.DISABLE, "Disable"],
  [SslMode.PREFER, "Prefer"],
  [SslMode.REQUIRE, "Require"],
  [SslMode.VERIFY_CA, "Verify CA"],
  [SslMode.VERIFY_FULL, "Verify full"],
];

/** What the server's network policy means, in the person's terms. */
export const POLICY_HELP: Record<string, string> = {
  HOST_REFUSED:
    "This server does not connect to private, loopback, link-local or cloud metadata addresses unless its administrator allows them. Use the database's public address, or ask the administrator to add this host to the allow-list.",
  SQLITE_PATH_REFUSED: "SQLite files must live in your own folder on the server: give a relative path such as data/app.db.",
};
