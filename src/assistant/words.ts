/**
 * Words of questions and identifiers, normalised so they meet: camelCase, snake_case, kebab and
 * dotted names split ("orderItems" → order, item), plurals and -ing/-ed forms stemmed the same way
 * on both sides ("shipped", "shipping", "ships" → ship), and a small thesaurus of the vocabulary
 * SQL schemas share (customer ~ client ~ buyer). Pure; no I/O.
 */

const IRREGULAR: Record<string, string> = {
  people: "person", persons: "person", children: "child", men: "man", women: "woman", staff: "staff", data: "data",
  indices: "index", indexes: "index", analyses: "analysis", criteria: "criterion", media: "media", statuses: "status",
  addresses: "address", businesses: "business", classes: "class", categories: "category", feet: "foot", mice: "mouse",
};

/** A word reduced to a stem shared by its plural and -ing/-ed forms (both sides get the same treatment). */
export function stem(word: string): string {
  let w = word.toLowerCase();
  if (IRREGULAR[w]) return IRREGULAR[w];
  if (w.length <= 3) return w;
  if (w.endsWith("ies") && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (/(ss|x|ch|sh|zz)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith("uses") || w.endsWith("sses")) w = w.slice(0, -2);
  else if (w.endsWith("s") && !/(ss|us|is|ys)$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith("ing") && w.length > 5) w = undouble(w.slice(0, -3));
  else if (w.endsWith("ed") && w.length > 4 && !w.endsWith("eed")) w = undouble(w.slice(0, -2));
  // "place" and "placed" (→ "plac") meet without their final e.
  if (w.endsWith("e") && w.length >= 4 && !w.endsWith("ee")) w = w.slice(0, -1);
  return w;
}

/** "shipp" → "ship", "plann" → "plan"; "fill", "pass" and "add" keep theirs. */
function undouble(w: string): string {
  return /([bdgmnprt])\1$/.test(w) ? w.slice(0, -1) : w;
}

/** The words of an identifier or a sentence, lower-cased and split (not stemmed). */
export function splitWords(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .replace(/([A-Za-z])([0-9])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9\u00c0-\uffff]+/)
    .filter((w) => w.length > 0);
}

/** Words a question uses that say nothing about which tables it needs. */
const STOPWORDS = new Set(
  (
    "a an the of for in on at by with without to from into onto and or nor but not no yes all any each every per " +
    "me my i we our us you your he she it its they them their this that these those there here " +
    "is are was were be been being am do does did done have has had having will would can could should shall may might must " +
    "what which who whom whose when where why how many much more most less least few lot " +
    "show list give get find fetch return display tell see want need let make write select query sql table tables " +
    "please also just only than then so such as if else about over under between within across after before during since until " +
    "up down out off again once same other another both either neither own very too some " +
    // Time filters: they narrow rows, they do not pick tables ("orders last month").
    "today yesterday tomorrow tonight now current currently recent recently last next previous past ago " +
    "day days week weeks month months year years quarter quarters hour hours minute minutes season"
  ).split(" "),
);

export function isStopword(word: string): boolean {
  return STOPWORDS.has(word);
}

/**
 * Groups of words that mean the same in schemas (stems). Generic business vocabulary only: a
 * question saying "clients" finds a `customers` table, "staff" finds `employees`.
 */
const SYNONYM_GROUPS: string[][] = [
  ["customer", "client", "buyer", "shopper", "consumer", "purchaser"],
  ["product", "item", "article", "sku", "merchandise"],
  ["order", "purchase"],
  ["employee", "staff", "worker", "personnel", "headcount"],
  ["salary", "pay", "wage", "compensation", "payroll", "earning"],
  ["invoice", "bill"],
  ["payment", "charge"],
  ["shipment", "delivery", "deliver", "parcel", "package", "consignment", "ship"],
  ["vehicle", "truck", "van", "lorry"],
  ["driver", "courier", "chauffeur"],
  ["warehouse", "depot", "distribution", "fulfillment", "fulfilment"],
  ["supplier", "vendor", "seller", "merchant"],
  ["doctor", "physician", "clinician", "practitioner"],
  ["appointment", "visit", "booking", "encounter", "consultation"],
  ["prescription", "medication", "drug", "medicine", "prescribe", "dose"],
  ["diagnosis", "condition", "diagnose"],
  ["hospital", "clinic", "facility"],
  ["department", "dept", "division"],
  ["manager", "supervisor", "boss"],
  ["organization", "organisation", "org", "company", "tenant", "workspace"],
  ["subscription", "membership", "subscriber", "subscribe"],
  ["review", "rating", "feedback"],
  ["coupon", "voucher", "promo", "promotion", "discount"],
  ["cart", "basket"],
  ["refund", "reimbursement", "chargeback"],
  ["return", "rma"],
  ["stock", "inventory"],
  ["address", "location"],
  ["city", "town"],
  ["country", "nation"],
  ["email", "mail"],
  ["phone", "telephone", "mobile"],
  ["price", "cost"],
  ["revenue", "sale", "income", "turnover"],
  ["leave", "vacation", "holiday", "pto", "absence", "timeoff"],
  ["job", "position", "opening", "vacancy", "requisition"],
  ["candidate", "applicant", "application", "apply"],
  ["ticket", "issue"],
  ["login", "signin", "session"],
  ["insurance", "insurer", "payer", "coverage"],
  ["lab", "laboratory"],
  ["route", "itinerary", "lane"],
  ["trip", "journey"],
  ["sensor", "telemetry", "reading"],
  ["carrier", "shipper", "haulier", "transporter"],
  ["user", "account"],
  ["plan", "tier", "pricing"],
  ["feature", "flag"],
  ["bed", "ward", "room"],
  ["admission", "admit", "stay", "hospitalization", "inpatient"],
  ["allergy", "allergic"],
  ["vaccine", "immunization", "vaccination"],
  ["claim", "billing"],
  ["performance", "appraisal", "evaluation"],
  ["training", "course", "certification"],
  ["shift", "roster", "schedule"],
  ["attendance", "timesheet", "clock"],
  ["benefit", "perk"],
  ["expense", "reimbursement", "spend"],
  ["wishlist", "favorite", "favourite"],
  ["category", "taxonomy"],
  ["brand", "manufacturer"],
  ["tax", "vat"],
  ["gift", "giftcard"],
];

const SYNONYMS = new Map<string, Set<string>>();
for (const group of SYNONYM_GROUPS) {
  const stems = group.map(stem);
  for (const s of stems) {
    const set = SYNONYMS.get(s) ?? new Set<string>();
    for (const t of stems) if (t !== s) set.add(t);
    SYNONYMS.set(s, set);
  }
}

/** Other stems that mean the same as this one. */
export function synonymsOf(s: string): ReadonlySet<string> {
  return SYNONYMS.get(s) ?? EMPTY;
}
const EMPTY: ReadonlySet<string> = new Set();

/**
 * Abbreviations schemas use for words people spell out ("systolic_bp" → blood pressure,
 * "cust_id" → customer). Identifiers get the full words beside the abbreviation.
 */
const ABBREVIATIONS: Record<string, string> = {
  bp: "blood pressure", dob: "birth date", qty: "quantity", amt: "amount", addr: "address", desc: "description",
  num: "number", nbr: "number", pct: "percent", dept: "department", emp: "employee", cust: "customer",
  org: "organization", acct: "account", txn: "transaction", trx: "transaction", msg: "message", img: "image",
  pos: "point of sale", uom: "unit of measure", ts: "timestamp", dt: "date", tel: "telephone", cnt: "count",
  avg: "average", min: "minimum", max: "maximum", temp: "temperature", mgr: "manager",
  spo2: "oxygen saturation", er: "emergency", icu: "intensive care", rx: "prescription",
  mrn: "medical record number", npi: "provider identifier", utm: "campaign tracking", mrr: "monthly recurring revenue",
  arr: "annual recurring revenue", nps: "net promoter score", kpi: "indicator", eta: "estimated arrival",
};

/** Stems of an identifier ("OrderItems" → ["order", "item"]), with its abbreviations spelled out. */
export function identifierStems(name: string): string[] {
  const words = splitWords(name);
  const out = words.map(stem);
  for (const w of words) {
    const full = ABBREVIATIONS[w];
    if (full) out.push(...full.split(" ").map(stem));
  }
  return out;
}

/**
 * Whether two stems are forms of one word the stemmer left apart ("interviewer" / "interview",
 * "smoker" / "smok", "diagnosis" / "diagnos"): one starts with the other, which has at least 4
 * letters and 3/4 of the longer one.
 */
export function sameRoot(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 4 && long.startsWith(short) && (long.length - short.length <= 2 || short.length >= 0.75 * long.length);
}

/** Stems of a question or comment, without stopwords and one-letter words. */
export function textStems(text: string): string[] {
  return splitWords(text)
    .filter((w) => w.length > 1 && !isStopword(w))
    .map(stem);
}
