import { classifyValue, isSecretName } from "../sync/secrets.js";
import type { Sample } from "./ddl.js";

export const SAMPLE_ROWS = 3;
/** Tables (the most relevant) whose rows may be sampled for one request. */
export const SAMPLE_TABLES = 10;
const MASK = "***";

/**
 * Sample rows as they may leave the server: through the secrets redactor of sync (the rules that
 * keep credentials out of synced profiles and history). A column whose name names a secret
 * (password, token, api_key, …) is masked whole; any value that looks like a secret (a key shape,
 * a connection string with a password, a private key, a long random string) is masked.
 */
export function redactSample(columns: string[], rows: (string | null)[][]): Sample {
  const secretColumn = columns.map((c) => isSecretName(c));
  return {
    columns,
    rows: rows.slice(0, SAMPLE_ROWS).map((r) => r.map((v, i) => (v === null ? null : secretColumn[i] || classifyValue(v) ? MASK : v))),
  };
}
