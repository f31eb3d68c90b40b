import type { Drivers } from "./driver.js";
import { mysqlDriver } from "./drivers/mysql.js";
import { postgresDriver } from "./drivers/postgres.js";
import { sqliteDriver } from "./drivers/sqlite.js";
import { mysqlIntrospector } from "./introspect/mysql.js";
import { postgresIntrospector } from "./introspect/postgres.js";
import { sqliteIntrospector } from "./introspect/sqlite.js";
import type { Introspectors } from "./introspect/types.js";

/**
 * The engines this server speaks: a driver and an introspector each. The composition
 * (features.ts) hands them to Pools and Catalog, which know no engine by name.
 */
export function builtinEngines(): { drivers: Drivers; introspectors: Introspectors } {
  return {
    drivers: { postgresql: postgresDriver, mysql: mysqlDriver, sqlite: sqliteDriver },
    introspectors: { postgresql: postgresIntrospector, mysql: mysqlIntrospector, sqlite: sqliteIntrospector },
  };
}
