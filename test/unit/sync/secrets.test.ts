/**
 * "Secrets never sync" (DESIGN.md §6, issue 4): findSecret() names the field of a connection
 * payload that carries a secret; redactSql() hides secrets in history SQL. Every fake key below is
 * built for this test (AKIAIOSFODNN7EXAMPLE is the documentation example id).
 */
import { describe, expect, it } from "vitest";
import {
  ENTROPY_THRESHOLDS,
  classifyValue,
  findSecret,
  isSecretName,
  isSecretOptionKey,
  looksRandom,
  shannonEntropy,
  type ConnectionFields,
} from "../../../src/sync/secrets.js";
import { redactSql } from "../../../src/sync/redact.js";

const clean: ConnectionFields = {
  name: "Production (read replica)",
  engine: "postgresql",
  host: "db.example.com",
  port: 5432,
  database: "app",
  username: "app_ro",
  sslMode: "verify-full",
  options: { application_name: "SQL Studio", connect_timeout: "10" },
  folder: "Work/Acme",
  color: "#3b82f6",
  tags: ["prod", "team:data"],
};
const conn = (patch: Partial<ConnectionFields>): ConnectionFields => ({ ...clean, ...patch });

// Fake keys of the right shapes, assembled so no scanner mistakes this file for a leak.
const JWT = ["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"].join(".");
const GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
const GITHUB_PAT = "github_pat_" + "11AAAAAAA0aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const GLPAT = "glpat-" + "x1y2z3a4b5c6d7e8f9g0";
const SLACK = "xoxb-" + "123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx";
const GOOGLE = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q";
const OPENAI = "sk-proj-" + "Abc123Def456Ghi789Jkl012Mno345";
const STRIPE = "sk_live_" + "0a1B2c3D4e5F6g7H8i9J0k1L";
const AWS_ID = "AKIAIOSFODNN7EXAMPLE";
const RANDOM_B64 = "q8Zt3LmV0xR7bN2cK5wY9pH4sJ6dF1gA"; // 32 chars, class change almost every character
const RANDOM_HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; // 64 hex chars
const PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx3fake0nly4test\n-----END RSA PRIVATE KEY-----";
const BASIC = `Basic ${Buffer.from("admin:hunter2").toString("base64")}`;

describe("findSecret: payloads that carry a secret", () => {
  const cases: Array<[string, Partial<ConnectionFields>, string, string]> = [
    ["options.password", { options: { password: "hunter2" } }, "options.password", "SECRET_IN_OPTIONS"],
    ["options.PASSWORD (upper case)", { options: { sslmode: "require", PASSWORD: "x" } }, "options.PASSWORD", "SECRET_IN_OPTIONS"],
    ["options.Pwd (ODBC)", { options: { Pwd: "x" } }, "options.Pwd", "SECRET_IN_OPTIONS"],
    ["options.passwd", { options: { passwd: "x" } }, "options.passwd", "SECRET_IN_OPTIONS"],
    ["options.pass", { options: { pass: "x" } }, "options.pass", "SECRET_IN_OPTIONS"],
    ["options.db_pass (last word)", { options: { db_pass: "x" } }, "options.db_pass", "SECRET_IN_OPTIONS"],
    ["options.sslpassword (libpq)", { options: { sslpassword: "x" } }, "options.sslpassword", "SECRET_IN_OPTIONS"],
    ["options.sslkey (libpq)", { options: { sslkey: "/home/me/.postgresql/postgresql.key" } }, "options.sslkey", "SECRET_IN_OPTIONS"],
    ["options.ssl_key", { options: { ssl_key: "client.key" } }, "options.ssl_key", "SECRET_IN_OPTIONS"],
    ["options.sslKey (camel case)", { options: { sslKey: "client.key" } }, "options.sslKey", "SECRET_IN_OPTIONS"],
    ["options.private_key", { options: { private_key: "x" } }, "options.private_key", "SECRET_IN_OPTIONS"],
    ["options.api_key", { options: { api_key: "x" } }, "options.api_key", "SECRET_IN_OPTIONS"],
    ["options.apiKey", { options: { apiKey: "x" } }, "options.apiKey", "SECRET_IN_OPTIONS"],
    ["options.x-api-key", { options: { "x-api-key": "x" } }, "options.x-api-key", "SECRET_IN_OPTIONS"],
    ["options.AWS_SECRET_ACCESS_KEY", { options: { AWS_SECRET_ACCESS_KEY: "x" } }, "options.AWS_SECRET_ACCESS_KEY", "SECRET_IN_OPTIONS"],
    ["options.access_key", { options: { access_key: "x" } }, "options.access_key", "SECRET_IN_OPTIONS"],
    ["options.session_token", { options: { session_token: "x" } }, "options.session_token", "SECRET_IN_OPTIONS"],
    ["options.AccessToken", { options: { AccessToken: "x" } }, "options.AccessToken", "SECRET_IN_OPTIONS"],
    ["options.client_secret", { options: { client_secret: "x" } }, "options.client_secret", "SECRET_IN_OPTIONS"],
    ["options.credentials", { options: { credentials: "{}" } }, "options.credentials", "SECRET_IN_OPTIONS"],
    ["options.auth", { options: { auth: "user:pw" } }, "options.auth", "SECRET_IN_OPTIONS"],
    ["options.basicAuth", { options: { basicAuth: "yes" } }, "options.basicAuth", "SECRET_IN_OPTIONS"],
    ["options.Authorization", { options: { Authorization: BASIC } }, "options.Authorization", "SECRET_IN_OPTIONS"],
    ["options.key (SQLCipher)", { options: { key: "x" } }, "options.key", "SECRET_IN_OPTIONS"],
    ["options.AccountKey (Azure)", { options: { AccountKey: "x" } }, "options.AccountKey", "SECRET_IN_OPTIONS"],
    ["user:pass@ in host", { host: "admin:s3cret@db.example.com" }, "host", "CREDENTIALS_IN_HOST"],
    ["user:pass@[::1]:5432 in host", { host: "admin:pw@[::1]:5432" }, "host", "CREDENTIALS_IN_HOST"],
    ["URL with password in host", { host: "postgres://app:pw@db.example.com:5432/app" }, "host", "CREDENTIALS_IN_HOST"],
    ["Oracle user/pass@ in host", { host: "scott/tiger@db.example.com:1521/ORCL" }, "host", "CREDENTIALS_IN_HOST"],
    ["ADO connection string in host", { host: "Server=tcp:db.example.com;Password=x" }, "host", "CREDENTIALS_IN_HOST"],
    ["ADO connection string in database", { database: "Server=tcp:x.database.windows.net;Database=app;User ID=sa;Password=Str0ng!;" }, "database", "CONNECTION_STRING_WITH_PASSWORD"],
    ["mongodb+srv URL in database", { database: "mongodb+srv://u:p%40ss@cluster0.abcde.mongodb.net/app" }, "database", "CONNECTION_STRING_WITH_PASSWORD"],
    ["jdbc URL query password", { options: { url: "jdbc:postgresql://db:5432/app?user=app&password=secret" } }, "options.url", "CONNECTION_STRING_WITH_PASSWORD"],
    ["mysql URL", { options: { dsn: "mysql://root:toor@127.0.0.1:3306/app" } }, "options.dsn", "CONNECTION_STRING_WITH_PASSWORD"],
    ["libpq keyword string", { options: { conninfo: "host=db user=app password=x dbname=app" } }, "options.conninfo", "CONNECTION_STRING_WITH_PASSWORD"],
    ["ODBC braces PWD", { options: { odbc: "Driver={PostgreSQL};Server=db;UID=app;PWD={p;w}" } }, "options.odbc", "CONNECTION_STRING_WITH_PASSWORD"],
    ["jdbc oracle thin", { database: "jdbc:oracle:thin:scott/tiger@db:1521:ORCL" }, "database", "CONNECTION_STRING_WITH_PASSWORD"],
    ["JSON with a password", { options: { extra: '{"user":"app","password":"x"}' } }, "options.extra", "CONNECTION_STRING_WITH_PASSWORD"],
    ["PEM private key in an option", { options: { init: PEM } }, "options.init", "PRIVATE_KEY"],
    ["Bearer token in an option", { options: { headers: "Authorization: Bearer abc123def456ghi789" } }, "options.headers", "BEARER_TOKEN"],
    ["Basic credentials in a tag", { tags: ["prod", BASIC] }, "tags.1", "BEARER_TOKEN"],
    ["JWT as username", { username: JWT }, "username", "KNOWN_TOKEN_FORMAT"],
    ["AWS key id in the name", { name: `reporting ${AWS_ID}` }, "name", "KNOWN_TOKEN_FORMAT"],
    ["GitHub token in tags.2", { tags: ["prod", "team:data", GHP] }, "tags.2", "KNOWN_TOKEN_FORMAT"],
    ["GitHub fine-grained token in folder", { folder: GITHUB_PAT }, "folder", "KNOWN_TOKEN_FORMAT"],
    ["GitLab token in color (!)", { color: GLPAT }, "color", "KNOWN_TOKEN_FORMAT"],
    ["Slack token as an option value", { options: { webhook: SLACK } }, "options.webhook", "KNOWN_TOKEN_FORMAT"],
    ["Google API key in database", { database: GOOGLE }, "database", "KNOWN_TOKEN_FORMAT"],
    ["sk- key in ssl_mode", { sslMode: OPENAI }, "ssl_mode", "KNOWN_TOKEN_FORMAT"],
    ["sk_live_ key in a tag", { tags: [STRIPE] }, "tags.0", "KNOWN_TOKEN_FORMAT"],
    ["random base64 in an option", { options: { note: RANDOM_B64 } }, "options.note", "SECRET_LIKE_VALUE"],
    ["random hex in a tag", { tags: ["a", RANDOM_HEX] }, "tags.1", "SECRET_LIKE_VALUE"],
    ["AWS secret example in a tag", { tags: ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"] }, "tags.0", "SECRET_LIKE_VALUE"],
    ["a secret-shaped option KEY", { options: { [AWS_ID]: "1" } }, `options.${AWS_ID}`, "KNOWN_TOKEN_FORMAT"],
  ];

  it("has at least 25 cases", () => expect(cases.length).toBeGreaterThanOrEqual(25));

  it.each(cases)("%s", (_label, patch, field, reason) => {
    expect(findSecret(conn(patch))).toEqual({ field, reason });
  });

  it("names the first field in payload order (name, engine, host, ..., options, folder, color, tags)", () => {
    const p = conn({ host: "u:p@db", options: { password: "x" }, tags: [GHP] });
    expect(findSecret(p)).toEqual({ field: "host", reason: "CREDENTIALS_IN_HOST" });
    expect(findSecret(conn({ options: { sslmode: "require", token: "x", password: "y" } }))).toEqual({ field: "options.token", reason: "SECRET_IN_OPTIONS" });
    expect(findSecret(conn({ folder: GHP, tags: [GHP] }))).toEqual({ field: "folder", reason: "KNOWN_TOKEN_FORMAT" });
  });

  it("rejects a secret option key even when its value is empty", () => {
    expect(findSecret(conn({ options: { password: "" } }))).toEqual({ field: "options.password", reason: "SECRET_IN_OPTIONS" });
  });
});

describe("findSecret: clean payloads pass", () => {
  const cases: Array<[string, Partial<ConnectionFields>]> = [
    ["the baseline", {}],
    ["localhost", { host: "localhost" }],
    ["host:port", { host: "db.internal:5432" }],
    ["SQLite path", { engine: "sqlite", host: "/home/me/data.sqlite", port: 0, database: "" }],
    ["SQLite path with spaces and a long name", { engine: "sqlite", host: "/Users/jane/Library/Application Support/SQLStudio/ProductionSnapshot2024.sqlite" }],
    ["Windows SQLite path", { engine: "sqlite", host: "C:\\Users\\me\\data\\app.sqlite" }],
    ["IPv6 loopback", { host: "[::1]" }],
    ["IPv6 with port", { host: "[2001:db8::1]:5432" }],
    ["IPv6 with a zone", { host: "fe80::1%eth0" }],
    ["IPv4", { host: "10.0.12.7" }],
    ["user@host without a password", { host: "app@db.example.com" }],
    ["an @ inside a file path", { engine: "sqlite", host: "/srv/@backups/app.db" }],
    ["RDS cluster endpoint", { host: "analytics-prod.cluster-c9akciq32xyz.eu-west-1.rds.amazonaws.com" }],
    ["Azure SQL with encrypt options", { engine: "mysql", host: "myserver-prod-eastus2.database.windows.net", options: { encrypt: "true", trustServerCertificate: "false" } }],
    ["Cloud SQL instance connection name", { host: "my-project-123456:europe-west1:prod-postgres-instance" }],
    ["pooler user and host", { host: "aws-0-eu-central-1.pooler.supabase.com", username: "postgres.abcdefghijklmnopqrst" }],
    ["UUID database name", { database: "3f2504e0-4f89-11d3-9a0c-0305e82c3301" }],
    ["upper-case UUID database name", { database: "3F2504E0-4F89-11D3-9A0C-0305E82C3301" }],
    ["dash-less UUID and MD5-sized hex names", { database: "3f2504e04f8911d39a0c0305e82c3301", tags: ["d41d8cd98f00b204e9800998ecf8427e"] }],
    ["glued-word database names", { database: "CustomerAnalyticsWarehouseReplica2024", tags: ["MyCompanyProductionDatabaseServer01", "ReportingDB_EU_West_1_ReadReplica_02", "ProductionReplicaEastUs2BackupSnapshot"] }],
    ["common libpq options", { options: { sslmode: "verify-full", sslrootcert: "/etc/ssl/certs/ca.pem", sslcert: "client.crt", application_name: "SQL Studio", connect_timeout: "10", target_session_attrs: "read-write", keepalives: "1" } }],
    ["PostgreSQL startup options", { options: { options: "-c search_path=public,analytics -c statement_timeout=30000" } }],
    ["allow-listed auth settings", { options: { authSource: "admin", authMechanism: "SCRAM-SHA-256", auth_plugin: "mysql_native_password", authPlugin: "caching_sha2_password", passfile: "/home/me/.pgpass", password_encryption: "scram-sha-256" } }],
    ["MongoDB and MySQL options", { options: { replicaSet: "rs0", readPreference: "secondaryPreferred", charset: "utf8mb4", keyspace: "analytics" } }],
    ["URLs without a password", { options: { uri: "mongodb://app@cluster0.abcde.mongodb.net/?authSource=admin", url: "postgres://app@db.example.com:5432/app?sslmode=require" } }],
    ["warehouse options", { options: { warehouse: "COMPUTE_WH", role: "ANALYST", authenticator: "externalbrowser" } }],
    ["words about secrets are not secrets", { name: "Password reset service", tags: ["Bearer auth", "Basic configuration", "token-service", "owner:alice@example.com"] }],
    ["folder and color", { folder: "Clients/Acme Corp/Production", color: "#ff8800" }],
    ["empty strings and no options or tags", { name: "x", host: "", database: "", username: "", sslMode: "", options: {}, folder: "", color: "", tags: [] }],
  ];

  it("has at least 15 cases", () => expect(cases.length).toBeGreaterThanOrEqual(15));

  it.each(cases)("%s", (_label, patch) => {
    expect(findSecret(conn(patch))).toBeUndefined();
  });
});

describe("secret names", () => {
  it("option keys: matched case-insensitively with separators ignored", () => {
    for (const k of ["password", "Password", "DB_PASSWORD", "db-password", "passwd", "pwd", "PWD", "pass", "secret", "client.secret", "token", "authToken", "api_key", "apikey", "API-KEY", "access_key", "private_key", "sslkey", "ssl_key", "ssl.key", "sslpassword", "credential", "credentials", "auth", "session_token", "aws_secret_access_key", "passphrase", "cookie", "jwt"]) {
      expect(isSecretOptionKey(k), k).toBe(true);
    }
    for (const k of ["authSource", "auth_source", "authMechanism", "auth_mechanism", "authMechanismProperties", "authPlugin", "auth_plugin", "default_auth", "authenticator", "passfile", "password_encryption", "sslmode", "sslcert", "sslrootcert", "application_name", "connect_timeout", "charset", "keyspace", "keepalives", "bypass", "compass", "user", "username", "host", ""]) {
      expect(isSecretOptionKey(k), k).toBe(false);
    }
  });

  it("names in text and SQL must end with a secret word", () => {
    for (const k of ["password", "db_password", "PWD", "session_token", "aws_secret_access_key", "SecretAccessKey", "password_hash", "password_digest", "credentials", "sig"]) {
      expect(isSecretName(k), k).toBe(true);
    }
    for (const k of ["password_changed_at", "token_count", "secret_santa_id", "key", "auth", "passfile", "password_encryption", "name", "keyid"]) {
      expect(isSecretName(k), k).toBe(false);
    }
  });
});

describe("entropy thresholds", () => {
  it("measures Shannon entropy in bits per character", () => {
    expect(shannonEntropy("")).toBe(0);
    expect(shannonEntropy("aaaa")).toBe(0);
    expect(shannonEntropy("abcd")).toBe(2);
    expect(shannonEntropy("abababab")).toBe(1);
  });

  it("uses the documented thresholds", () => {
    expect(ENTROPY_THRESHOLDS).toEqual({
      mixedMinLength: 32,
      mixedMinBits: 4.0,
      mixedMaxWordShare: 0.5,
      mixedMinSwitchRatio: 0.35,
      hexMinLength: 40,
      hexMinBits: 3.0,
    });
  });

  it("flags random runs and leaves glued words, short runs and low-entropy runs alone", () => {
    expect(looksRandom(RANDOM_B64)).toBe(true);
    expect(looksRandom(RANDOM_HEX)).toBe(true);
    expect(looksRandom(RANDOM_B64.slice(0, 31))).toBe(false); // below 32 characters
    expect(looksRandom(RANDOM_HEX.slice(0, 39))).toBe(false); // hex below 40 characters
    expect(looksRandom("CustomerAnalyticsWarehouseReplica2024")).toBe(false);
    expect(looksRandom("aaaaaaaaaaaaaaaaBBBBBBBBBBBBBBBB1111")).toBe(false); // low entropy
    expect(looksRandom("q8zt3lmv0xr7bn2ck5wy9ph4sj6df1ga")).toBe(false); // no upper case
    expect(classifyValue("0000000000000000000000000000000000000000")).toBeUndefined();
  });
});

describe("redactSql", () => {
  const cases: Array<[string, string]> = [
    // PostgreSQL roles
    ["CREATE ROLE app WITH LOGIN PASSWORD 'hunter2'", "CREATE ROLE app WITH LOGIN PASSWORD '***'"],
    ["ALTER USER app WITH ENCRYPTED PASSWORD 'it''s secret' VALID UNTIL '2030-01-01'", "ALTER USER app WITH ENCRYPTED PASSWORD '***' VALID UNTIL '2030-01-01'"],
    ["ALTER ROLE app PASSWORD = 'x';", "ALTER ROLE app PASSWORD = '***';"],
    ["ALTER ROLE app PASSWORD E'pa\\'ss\\\\'", "ALTER ROLE app PASSWORD E'***'"],
    ["CREATE ROLE app PASSWORD $$s3cr$et$$", "CREATE ROLE app PASSWORD $$***$$"],
    ["create role app password $pw$x$$y$pw$; select 1", "create role app password $pw$***$pw$; select 1"],
    // MySQL
    ["CREATE USER 'bob'@'%' IDENTIFIED BY 'S3cret!';", "CREATE USER 'bob'@'%' IDENTIFIED BY '***';"],
    ["CREATE USER 'bob'@'localhost' IDENTIFIED WITH 'mysql_native_password' BY 'pw';", "CREATE USER 'bob'@'localhost' IDENTIFIED WITH 'mysql_native_password' BY '***';"],
    ["CREATE USER bob IDENTIFIED WITH caching_sha2_password BY \"pw\"", "CREATE USER bob IDENTIFIED WITH caching_sha2_password BY \"***\""],
    ["ALTER USER bob IDENTIFIED WITH caching_sha2_password AS '$A$005$abc'", "ALTER USER bob IDENTIFIED WITH caching_sha2_password AS '***'"],
    ["GRANT ALL ON *.* TO 'bob'@'%' IDENTIFIED BY PASSWORD '*94BDCEBE19083CE2A1F959FD02F964C7AF4CFC29'", "GRANT ALL ON *.* TO 'bob'@'%' IDENTIFIED BY PASSWORD '***'"],
    ["ALTER USER bob IDENTIFIED BY 'new' REPLACE 'old'", "ALTER USER bob IDENTIFIED BY '***' REPLACE '***'"],
    ["SET PASSWORD FOR 'bob'@'%' = 'x'", "SET PASSWORD FOR 'bob'@'%' = '***'"],
    ["SET PASSWORD = PASSWORD('x')", "SET PASSWORD = PASSWORD('***')"],
    ["SET PASSWORD FOR bob = OLD_PASSWORD('x');SELECT 1", "SET PASSWORD FOR bob = OLD_PASSWORD('***');SELECT 1"],
    // Oracle, SQL Server, SQLCipher, DuckDB, Redshift
    ["ALTER USER scott IDENTIFIED BY tiger ACCOUNT UNLOCK", "ALTER USER scott IDENTIFIED BY *** ACCOUNT UNLOCK"],
    ["CREATE LOGIN bob WITH PASSWORD = N'Str0ng!', CHECK_POLICY = OFF", "CREATE LOGIN bob WITH PASSWORD = N'***', CHECK_POLICY = OFF"],
    ["PRAGMA key = 'correct horse'", "PRAGMA key = '***'"],
    ["PRAGMA main.rekey = 'battery staple'", "PRAGMA main.rekey = '***'"],
    ["ATTACH DATABASE 'enc.db' AS enc KEY 'k3y'", "ATTACH DATABASE 'enc.db' AS enc KEY '***'"],
    [`CREATE SECRET s (TYPE S3, KEY_ID '${AWS_ID}', SECRET 'wJalrXUt')`, "CREATE SECRET s (TYPE S3, KEY_ID '***', SECRET '***')"],
    [`COPY t FROM 's3://b/k' CREDENTIALS 'aws_access_key_id=${AWS_ID};aws_secret_access_key=abc'`, "COPY t FROM 's3://b/k' CREDENTIALS '***'"],
    // connection strings inside literals
    ["SELECT * FROM dblink('host=db port=5432 user=u password=secret dbname=x', 'select 1')", "SELECT * FROM dblink('host=db port=5432 user=u password=*** dbname=x', 'select 1')"],
    ["SELECT dblink_connect('c', 'host=db password=''p w'' dbname=x')", "SELECT dblink_connect('c', 'host=db password=''***'' dbname=x')"],
    ["SELECT dblink_connect('postgresql://alice:s3cr3t@db.example.com:5432/app')", "SELECT dblink_connect('postgresql://alice:***@db.example.com:5432/app')"],
    ["SELECT 'mongodb+srv://u:p@cluster0.example.net/x', 'jdbc:mysql://root:toor@h:3306/db'", "SELECT 'mongodb+srv://u:***@cluster0.example.net/x', 'jdbc:mysql://root:***@h:3306/db'"],
    ["SELECT 'jdbc:oracle:thin:scott/tiger@db:1521:ORCL'", "SELECT 'jdbc:oracle:thin:scott/***@db:1521:ORCL'"],
    ["SELECT 'Server=db;User ID=sa;Password=Str0ng!;Database=app'", "SELECT 'Server=db;User ID=sa;Password=***;Database=app'"],
    ["CREATE USER MAPPING FOR bob SERVER foo OPTIONS (user 'bob', password 'x')", "CREATE USER MAPPING FOR bob SERVER foo OPTIONS (user 'bob', password '***')"],
    ["ALTER USER MAPPING FOR bob SERVER foo OPTIONS (SET password 'y')", "ALTER USER MAPPING FOR bob SERVER foo OPTIONS (SET password '***')"],
    ["CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db', dbname 'x', password 'p')", "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db', dbname 'x', password '***')"],
    ["SELECT '{\"password\":\"hunter2\",\"user\":\"bob\"}'::jsonb", "SELECT '{\"password\":\"***\",\"user\":\"bob\"}'::jsonb"],
    // tokens and keys
    ["SELECT http_get('https://api.example.com', 'Authorization: Bearer abcDEF123456ghiJKL')", "SELECT http_get('https://api.example.com', 'Authorization: Bearer ***')"],
    [`SELECT http_get('https://api.example.com', 'Authorization: ${BASIC}')`, "SELECT http_get('https://api.example.com', 'Authorization: Basic ***')"],
    [`SELECT '${AWS_ID}' AS k, '${OPENAI}' AS o`, "SELECT '***' AS k, '***' AS o"],
    [`INSERT INTO tokens VALUES ('${GHP}', '${SLACK}', '${GOOGLE}', '${STRIPE}', '${GLPAT}')`, "INSERT INTO tokens VALUES ('***', '***', '***', '***', '***')"],
    [`UPDATE s SET jwt_copy = '${JWT}' WHERE id = 1`, "UPDATE s SET jwt_copy = '***' WHERE id = 1"],
    [`INSERT INTO keys VALUES ('${PEM.replace(/\n/g, "\n")}')`, "INSERT INTO keys VALUES ('-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----')"],
    ["INSERT INTO keys VALUES (E'-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----')", "INSERT INTO keys VALUES (E'-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----')"],
    // names that end with a secret word, functions, comments, nesting
    ["UPDATE users SET password_changed_at = '2024-01-01', password_hash = 'abc' WHERE id = 1", "UPDATE users SET password_changed_at = '2024-01-01', password_hash = '***' WHERE id = 1"],
    ["UPDATE users SET \"password\" = 'x', `api_token` = 'y' WHERE u.session_token = 'z'", "UPDATE users SET \"password\" = '***', `api_token` = '***' WHERE u.session_token = '***'"],
    ["SELECT crypt('mypass', gen_salt('bf'))", "SELECT crypt('***', gen_salt('bf'))"],
    ["SELECT 1 -- ALTER ROLE app PASSWORD 'old'", "SELECT 1 -- ALTER ROLE app PASSWORD '***'"],
    ["/* postgres://a:b@h/db */ SELECT 1", "/* postgres://a:***@h/db */ SELECT 1"],
    ["SELECT dblink_exec('c', 'ALTER ROLE app PASSWORD ''secret''')", "SELECT dblink_exec('c', 'ALTER ROLE app PASSWORD ''***''')"],
    ["DO $$ BEGIN EXECUTE 'CREATE ROLE r LOGIN PASSWORD ''pw'''; END $$;", "DO $$ BEGIN EXECUTE 'CREATE ROLE r LOGIN PASSWORD ''***'''; END $$;"],
    ["SELECT 'unterminated password=abc", "SELECT 'unterminated password=***"],
    // a mask never opens, closes or ends a comment, nor turns code into a literal
    [`/* key a/${AWS_ID}/b */ SELECT 1`, "/* key a/ *** /b */ SELECT 1"],
    ["/* jdbc:oracle:thin:scott/tiger@db */ SELECT 1", "/* jdbc:oracle:thin:scott/ ***@db */ SELECT 1"],
    [`SELECT 6/${AWS_ID}$x$`, "SELECT 6/ ***"],
    ["SELECT 1 -- -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\nSELECT 2", "SELECT 1 -- -----BEGIN EC PRIVATE KEY-----***-----END EC PRIVATE KEY-----\nSELECT 2"],
  ];

  it("has at least 20 cases", () => expect(cases.length).toBeGreaterThanOrEqual(20));

  it.each(cases)("%s", (input, expected) => {
    expect(redactSql(input)).toBe(expected);
  });

  it.each(cases)("is idempotent: %s", (input) => {
    const once = redactSql(input);
    expect(redactSql(once)).toBe(once);
  });

  it("leaves none of the secrets behind", () => {
    const secrets = ["hunter2", "it''s secret", "S3cret!", "tiger'", "s3cr3t", "Str0ng!", "correct horse", "mypass", "MHcCAQEEIB", AWS_ID, OPENAI, GHP, SLACK, GOOGLE, STRIPE, GLPAT, JWT, "MIIEow", "MIIEvQ", "abcDEF123456ghiJKL"];
    const all = cases.map(([input]) => redactSql(input)).join("\n");
    for (const s of secrets) expect(all, s).not.toContain(s);
  });

  const untouched = [
    "SELECT password FROM users",
    "SELECT id FROM users WHERE password = ? AND name = 'password'",
    "SELECT id FROM users WHERE password = $1",
    "SELECT 'it''s' AS x, E'a\\'b' AS y, $$it's$$ AS z",
    "SELECT REPLACE(name, 'a', 'b') FROM t",
    "SELECT 'password' AS label, 'Bearer token' AS kind, \"Bearer\" FROM x",
    "CREATE TABLE users (id int PRIMARY KEY, password text NOT NULL DEFAULT '', KEY idx_pw (password))",
    "COMMENT ON COLUMN users.password IS 'bcrypt hash'",
    "ALTER ROLE x WITH PASSWORD NULL",
    "CREATE USER bob IDENTIFIED BY RANDOM PASSWORD",
    "CREATE USER ops IDENTIFIED WITH auth_socket",
    "SET password_encryption = 'scram-sha-256'",
    "UPDATE users SET password_changed_at = '2024-01-01', token_count = 3 WHERE id = 1",
    "SELECT md5('abc') = '900150983cd24fb0d6963f7d28e17f72'",
    "SELECT * FROM users WHERE email = 'alice@example.com'",
    "SELECT 'postgres://app@db.example.com/app?sslmode=require'",
    "SELECT 'the suspect was identified by witnesses'",
    "SELECT 1; -- don't touch this\nSELECT 2 /* nested /* comment */ still */",
    "PRAGMA journal_mode = WAL",
    "SELECT 'c3VwZXJsb25nYmFzZTY0ZGF0YWJsb2Jub3RhY3JlZGVudGlhbA=='",
    "SELECT '3f2504e0-4f89-11d3-9a0c-0305e82c3301'::uuid",
    "",
  ];

  it.each(untouched)("does not corrupt ordinary SQL: %s", (sql) => {
    expect(redactSql(sql)).toBe(sql);
  });

  it("stays linear on adversarial 256 KiB inputs (no regex backtracking blow-up)", () => {
    const n = 256 * 1024;
    const inputs = [
      "a".repeat(n),
      `'${"a".repeat(n)}'`,
      `'${"x=".repeat(n / 2)}'`,
      `'${"x='a ".repeat(n / 5)}'`,
      `'${"a:".repeat(n / 2)}'`,
      `'${"http://".repeat(n / 7)}'`,
      `'${"sk-a-".repeat(n / 5)}'`,
      `'${"-----BEGIN PRIVATE KEY-----".repeat(n / 27)}'`,
      `'${"E'\\x".repeat(n / 5)}'`,
      "SET PASSWORD FOR ".repeat(n / 17),
      "-- '\n".repeat(n / 5),
      "/*".repeat(n / 2),
      "INSERT INTO t VALUES " + Array.from({ length: 5000 }, (_, i) => `(${i}, 'name ${i}', 'x@y.com', E'line\\n${i}')`).join(","),
    ];
    for (const input of inputs) {
      const started = performance.now();
      redactSql(input);
      classifyValue(input);
      expect(performance.now() - started, input.slice(0, 20)).toBeLessThan(3000);
    }
  });

  it("is idempotent on generated mixtures (seeded)", () => {
    const parts = [
      ...cases.map(([input]) => input),
      ...untouched,
      "'", "\"", "$$", "--", "/*", "*/", "E'", "\\", "''", "\n", " ", ";", "=", "(", ")",
    ];
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let checked = 0;
    for (let i = 0; i < 400; i++) {
      let sql = "";
      const count = 1 + rnd(5);
      for (let k = 0; k < count; k++) sql += parts[rnd(parts.length)] + (rnd(2) ? " " : "");
      const once = redactSql(sql);
      expect(redactSql(once), JSON.stringify(sql)).toBe(once);
      checked++;
    }
    expect(checked).toBe(400);
  });
});

describe("redactSql: comments and literals written into credential-like columns (issue 17.11)", () => {
  const cases: Array<[string, string]> = [
    ["SELECT 1 /* password: hunter2 */", "SELECT 1 /* password: *** */"],
    ["-- password: hunter2\nSELECT 1", "-- password: ***\nSELECT 1"],
    ["SELECT 1 /* db_password : hunter2, user: bob */", "SELECT 1 /* db_password : ***, user: bob */"],
    ["/* api_token:abc123 */ SELECT 1", "/* api_token:*** */ SELECT 1"],
    ["insert into creds(pw) values ('hunter2')", "insert into creds(pw) values ('***')"],
    ["INSERT INTO users (name, password) VALUES ('alice', 'hunter2'), ('bob', E'pa\\'ss')", "INSERT INTO users (name, password) VALUES ('alice', '***'), ('bob', E'***')"],
    ["INSERT INTO app.users (\"name\", `api_key`, n) VALUES ('alice', 'k-123', 3)", "INSERT INTO app.users (\"name\", `api_key`, n) VALUES ('alice', '***', 3)"],
    ["REPLACE INTO creds (user, passwd) VALUES ('a', concat('x', 'y'))", "REPLACE INTO creds (user, passwd) VALUES ('a', concat('***', '***'))"],
    ["INSERT INTO creds (pw) VALUES (\"hunter2\")", "INSERT INTO creds (pw) VALUES (\"***\")"],
    ["update users set password_hash = '$2b$12$abc'", "update users set password_hash = '***'"],
  ];
  it.each(cases)("%s", (input, expected) => {
    expect(redactSql(input)).toBe(expected);
    expect(redactSql(expected)).toBe(expected);
  });

  it.each([
    "INSERT INTO users (name, email) VALUES ('alice', 'a@example.com')",
    "INSERT INTO t VALUES ('password', 'x')",
    "INSERT INTO logs (message) VALUES ('password: reset requested')",
    "SELECT 1 /* note: the job runs nightly */",
    "-- TODO: fix this\nSELECT 2",
    "SELECT replace(name, 'a', 'b') FROM t",
  ])("leaves ordinary statements alone: %s", (sql) => {
    expect(redactSql(sql)).toBe(sql);
  });
});

describe("findSecret: a password pasted into username, color, tags or a free-text option (issue 17.11)", () => {
  it.each([
    ["username", { username: "P@ssw0rd!" }],
    ["username", { username: "Tr0ub4dor&3" }],
    ["color", { color: "hunter2!X9" }],
    ["tags.1", { tags: ["prod", "S3cr3t#Pass"] }],
    ["options.application_name", { options: { application_name: "zQ8!vL2#pR" } }],
  ] as const)("%s is rejected", (field, patch) => {
    expect(findSecret(conn(patch as Partial<ConnectionFields>))).toEqual({ field, reason: "SECRET_LIKE_VALUE" });
  });

  it.each([
    { username: "postgres" },
    { username: "svc-reporting-01" },
    { username: "John.Smith" },
    { username: "user@example.com" },
    { username: "CORP\\jsmith" },
    { username: "AppUser2024" },
    { username: "o'brien" },
    { color: "#FFF" },
    { color: "#ff000080" },
    { color: "rebeccapurple" },
    { color: "rgb(1, 2, 3)" },
    { color: "hsl(210 50% 40%)" },
    { tags: ["eu-west-1", "v2.0", "k8s:prod-2", "c++", "#1 priority", "50%", "team:data"] },
    { options: { application_name: "reporting (nightly)", search_path: '"$user", public', timezone: "UTC+2", statement_timeout: "5000" } },
  ])("ordinary values pass: %o", (patch) => {
    expect(findSecret(conn(patch as Partial<ConnectionFields>))).toBeUndefined();
  });
});
