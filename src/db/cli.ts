import { ConfigError, loadConfig } from "../config/load.js";
import { openDb } from "./client.js";
import { migrate, migrationStatus } from "./migrator.js";

/** npm run migrate -- status|up */
async function cli(command: string | undefined): Promise<number> {
  const config = loadConfig();
  const db = await openDb({ url: config.database.url, authToken: config.database.authToken });
  try {
    if (command === "up") {
      const ran = await migrate(db);
      console.log(ran.length === 0 ? "nothing to apply" : ran.map((m) => `applied ${String(m.version).padStart(4, "0")}_${m.name}`).join("\n"));
      return 0;
    }
    if (command === "status" || command === undefined) {
      const rows = await migrationStatus(db);
      for (const r of rows) {
        const when = r.appliedAt ? new Date(r.appliedAt).toISOString() : "";
        console.log(`${String(r.version).padStart(4, "0")}_${r.name.padEnd(40)} ${r.state.padEnd(8)} ${when}`);
      }
      return rows.some((r) => r.state === "changed") ? 1 : 0;
    }
    console.error(`unknown command "${command}": use status or up`);
    return 2;
  } finally {
    db.close();
  }
}

cli(process.argv[2]).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof ConfigError ? err.message : `migrate: ${(err as Error).message}`);
    process.exit(1);
  },
);
