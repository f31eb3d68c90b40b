import { describe, expect, it } from "vitest";
import { buildContext, prepareSchema, rankedKeys } from "../../../src/assistant/context.js";
import { rankTables, type RankTable } from "../../../src/assistant/rank.js";
import { identifierStems, sameRoot, stem, synonymsOf, textStems } from "../../../src/assistant/words.js";
import { parseSchema } from "../../bench/assistant/dsl.js";

describe("words", () => {
  it("splits camelCase, snake_case and digits, and stems plurals and -ing/-ed forms alike", () => {
    expect(identifierStems("orderItems")).toEqual(["order", "item"]);
    expect(identifierStems("ORDER_ITEMS")).toEqual(["order", "item"]);
    expect(identifierStems("HTTPRequestLog2")).toEqual(["http", "request", "log", "2"]);
    expect(["categories", "category"].map(stem)).toEqual(["category", "category"]);
    expect(["addresses", "address", "statuses", "status"].map(stem)).toEqual(["address", "address", "status", "status"]);
    expect(["shipped", "shipping", "ships"].map(stem)).toEqual(["ship", "ship", "ship"]);
    expect(stem("people")).toBe("person");
  });

  it("drops stopwords and time filters from questions", () => {
    expect(textStems("Show me all the orders placed last month by customers")).toEqual(["order", stem("place"), "customer"]);
  });

  it("knows the shared vocabulary of schemas, and abbreviations in identifiers", () => {
    expect(synonymsOf("client").has("customer")).toBe(true);
    expect(synonymsOf("staff").has("employee")).toBe(true);
    expect(identifierStems("systolic_bp")).toEqual(expect.arrayContaining(["blood", stem("pressure")]));
    expect(sameRoot("interviewer", "interview")).toBe(true);
    expect(sameRoot("part", "partner")).toBe(false);
  });
});

const t = (key: string, columns: string[], references: string[] = [], comment = ""): RankTable => ({
  key,
  name: key,
  comment,
  columns: columns.map((name) => ({ name, comment: "" })),
  references,
});

describe("rankTables", () => {
  const tables = [
    t("orders", ["id", "customer_id", "placed_at", "total"], ["customers"], "Orders placed in the shop"),
    t("order_status_history", ["id", "order_id", "status", "changed_at"], ["orders"]),
    t("customers", ["id", "full_name", "email"]),
    t("products", ["id", "title", "price"]),
    t("order_items", ["id", "order_id", "product_id", "quantity"], ["orders", "products"]),
    t("feature_flags", ["id", "key", "enabled"]),
  ];

  it("puts the table the request names above tables that only share a word, and leaves unrelated ones out", () => {
    const r = rankTables(tables, { text: "orders last week" });
    expect(r[0].key).toBe("orders");
    expect(r.map((x) => x.key)).not.toContain("feature_flags");
  });

  it("finds a table through a synonym and a junction table between two matches", () => {
    const r = rankTables(tables, { text: "which clients bought which products" }).map((x) => x.key);
    expect(r.slice(0, 4)).toEqual(expect.arrayContaining(["customers", "products", "order_items"]));
    expect(r).not.toContain("feature_flags");
  });

  it("ranks tables named in the SQL being fixed first, and lifts tables of recent history", () => {
    expect(rankTables(tables, { text: "why does this fail", sqlTables: ["feature_flags"] })[0].key).toBe("feature_flags");
    const withHistory = rankTables(tables, { text: "anything", historyTables: ["products"] }).map((x) => x.key);
    expect(withHistory[0]).toBe("products");
  });
});

describe("buildContext", () => {
  const schema = prepareSchema(
    "postgresql",
    "public",
    parseSchema(
      "public",
      `customers: People who buy | id, full_name, email
orders: Orders of customers | id, customer_id>customers, status(pending, paid), placed_at
wide: A very wide table | id, ${Array.from({ length: 80 }, (_, i) => `c${i}x`).join(", ")}, customer_id>customers`,
    ),
  );

  it("renders ranked tables as compact DDL within the budget", () => {
    const keys = rankedKeys(schema, { text: "paid orders of each customer" });
    const c = buildContext(schema, keys, { budget: 4000, text: "paid orders of each customer" });
    expect(c.names.slice(0, 2).sort()).toEqual(["customers", "orders"]);
    expect(c.text).toContain("customer_id bigint NOT NULL REFERENCES customers(id)");
    expect(c.text).toContain("status text, -- pending, paid");
    expect(c.tokens).toBeLessThanOrEqual(4000);
  });

  it("shows a table too big for what is left with its keys and the columns the request names, and says so", () => {
    const c = buildContext(schema, ["public.customers", "public.wide"], { budget: 120, text: "c7x of customers" });
    expect(c.truncated).toBe(true);
    expect(c.names).toEqual(["customers", "wide"]);
    expect(c.text).toContain("c7x text");
    expect(c.text).not.toContain("c50x");
    expect(c.text).toMatch(/… \d+ more columns not shown/);
    expect(c.tokens).toBeLessThanOrEqual(120);
  });
});
