import { postgresDialect } from "../dialect.js";
import type { Driver } from "../driver.js";
import { PgPool } from "./pg/pool.js";

export { converter, rawColumn } from "./pg/types.js";

export const postgresDriver: Driver = {
  engine: "postgresql",
  dialect: postgresDialect,
  pool: (target, limits) => new PgPool(target, limits),
};
