import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { TRY_CSS, TRY_JS } from "./docs-try.js";

/** openapi/openapi.json at the package root: from src/server (tsx) or dist/src/server (the build). */
export const OPENAPI_FILE =
  ["../../openapi/openapi.json", "../../../openapi/openapi.json"]
    .map((p) => fileURLToPath(new URL(p, import.meta.url)))
    .find((p) => existsSync(p)) ?? fileURLToPath(new URL("../../openapi/openapi.json", import.meta.url));

/**
 * The Content-Security-Policy of the docs page: its own script and stylesheet, fetches to
 * this origin (for /openapi.json), nothing else. Every other response keeps `default-src 'none'`.
 */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** GET /openapi.json (the generated contract) and GET /docs (a page that renders it, no network beyond this server). */
export function registerDocs(fastify: FastifyInstance): void {
  const doc = existsSync(OPENAPI_FILE) ? readFileSync(OPENAPI_FILE, "utf8") : undefined;
  fastify.get("/openapi.json", async (_req, reply) => {
    if (!doc) return reply.code(404).send({ error: "openapi document not generated" });
    reply.raw.setHeader("cache-control", "no-cache");
    return reply.type("application/json").send(doc);
  });
  fastify.get("/docs", async (_req, reply) => {
    reply.raw.setHeader("content-security-policy", DOCS_CSP);
    reply.raw.setHeader("cache-control", "no-cache");
    return reply.type("text/html; charset=utf-8").send(DOCS_HTML);
  });
  fastify.get("/docs/app.js", async (_req, reply) => {
    reply.raw.setHeader("cache-control", "no-cache");
    return reply.type("text/javascript; charset=utf-8").send(DOCS_JS);
  });
  fastify.get("/docs/app.css", async (_req, reply) => {
    reply.raw.setHeader("cache-control", "no-cache");
    return reply.type("text/css; charset=utf-8").send(DOCS_CSS + TRY_CSS);
  });
  fastify.get("/docs/try.js", async (_req, reply) => {
    reply.raw.setHeader("cache-control", "no-cache");
    return reply.type("text/javascript; charset=utf-8").send(TRY_JS);
  });
}

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SQL Studio Server API</title>
<link rel="stylesheet" href="/docs/app.css">
<script src="/docs/try.js" defer></script>
<script src="/docs/app.js" defer></script>
</head>
<body>
<header>
<h1>SQL Studio Server API</h1>
<a href="/openapi.json">openapi.json</a>
<input id="filter" type="search" placeholder="Filter RPCs and schemas" aria-label="Filter RPCs and schemas">
</header>
<div class="layout">
<nav id="nav" aria-label="Services"></nav>
<main id="main"><p class="muted">Loading /openapi.json&hellip;</p>
<noscript><p>This page renders <a href="/openapi.json">/openapi.json</a> with a small script.</p></noscript></main>
</div>
</body>
</html>
`;

const DOCS_CSS = `*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;background:#fff}
header{position:sticky;top:0;z-index:1;display:flex;gap:16px;align-items:center;padding:10px 20px;background:#24292f;color:#fff}
header h1{font-size:17px;margin:0;flex:0 0 auto}
header a{color:#9ecbff}
header input{margin-left:auto;width:320px;max-width:50vw;padding:5px 8px;border-radius:6px;border:0}
.layout{display:flex;align-items:flex-start}
nav{position:sticky;top:50px;flex:0 0 270px;max-height:calc(100vh - 50px);overflow:auto;padding:12px 16px;border-right:1px solid #d0d7de;font-size:13px}
nav h4{margin:12px 0 4px;font-size:12px;color:#57606a;word-break:break-all}
nav a{display:block;padding:1px 0;color:#0969da;text-decoration:none}
main{flex:1;min-width:0;padding:8px 28px 60px}
section.service{border-bottom:1px solid #d0d7de;padding-bottom:12px}
.op{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;margin:14px 0}
.op h3{margin:0 0 4px;font-size:15px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.badge{display:inline-block;font:600 11px/1 system-ui,sans-serif;padding:3px 6px;border-radius:10px;margin-right:6px;vertical-align:2px;background:#ddf4ff;color:#0550ae}
.badge.post{background:#dafbe1;color:#116329}.badge.public{background:#fff8c5;color:#7d4e00}
.desc{white-space:pre-wrap}
.muted{color:#57606a}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
code{background:#f6f8fa;padding:0 3px;border-radius:4px}
pre{background:#f6f8fa;padding:10px;border-radius:6px;overflow:auto;margin:4px 0}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{text-align:left;vertical-align:top;border-top:1px solid #eaeef2;padding:4px 8px}
th{font-size:12px;color:#57606a}
th:nth-child(1){width:22%}th:nth-child(2){width:26%}
td.name{font-family:ui-monospace,monospace;white-space:nowrap}
td.type{font-family:ui-monospace,monospace;font-size:12px;color:#6639ba}
td.type a{color:#0969da}
h4.part{margin:10px 0 2px;font-size:13px}
.curl{position:relative}
.curl button{position:absolute;right:6px;top:6px;font-size:12px;padding:2px 8px;cursor:pointer}
.hidden{display:none}
`;

// Plain ES2017 without template literals (this file embeds it in one); all text goes in via textContent.
const DOCS_JS = `"use strict";
(function () {
  var REF = "#/components/schemas/";
  var doc;
  function h(tag, attrs) {
    var el = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "onclick") el.addEventListener("click", attrs[k]);
      else el.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x) el.appendChild(typeof x === "string" ? document.createTextNode(x) : x); });
      else el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }
  // Text with \`code\` spans, as comments in the proto use them.
  function rich(text, cls) {
    var el = h("div", { class: cls || "desc" });
    String(text || "").split("\\u0060").forEach(function (part, i) {
      el.appendChild(i % 2 ? h("code", { text: part }) : document.createTextNode(part));
    });
    return el;
  }
  function lookup(ref) {
    var node = doc;
    ref.slice(2).split("/").forEach(function (p) { node = node && node[p.replace(/~1/g, "/").replace(/~0/g, "~")]; });
    return node;
  }
  function deref(s) { var n = 0; while (s && s.$ref && n++ < 10) s = lookup(s.$ref); return s || {}; }
  function shortName(name) { var parts = name.split("."); return parts[parts.length - 1]; }
  function typeOf(s) {
    if (!s) return ["any"];
    if (s.$ref) {
      var name = s.$ref.indexOf(REF) === 0 ? s.$ref.slice(REF.length) : s.$ref;
      return [h("a", { href: "#schema-" + name, title: name, text: shortName(name) })];
    }
    if (s.oneOf || s.anyOf) {
      var out = [];
      (s.oneOf || s.anyOf).forEach(function (x, i) { if (i) out.push(" | "); out.push.apply(out, typeOf(x)); });
      return out;
    }
    if (s.enum) return [s.enum.map(function (v) { return JSON.stringify(v); }).join(" | ")];
    if (s.const !== undefined) return [JSON.stringify(s.const)];
    if (s.type === "array") return ["array of "].concat(typeOf(s.items));
    if (s.type === "object" && s.additionalProperties && !s.properties) return ["map<string, "].concat(typeOf(s.additionalProperties), [">"]);
    if (Array.isArray(s.type)) return [s.type.join(" | ")];
    if (!s.type) return ["any JSON"];
    return [s.type + (s.format ? " (" + s.format + ")" : "")];
  }
  function fields(schema) {
    var s = deref(schema);
    if (s.type !== "object" || !s.properties) return h("div", null, s.enum ? "string enum" : typeOf(schema), s.description ? rich(s.description) : null);
    var names = Object.keys(s.properties);
    if (!names.length) return h("p", { class: "muted", text: "{} (no fields)" });
    var required = s.required || [];
    return h("table", null,
      h("tr", null, h("th", { text: "field" }), h("th", { text: "type" }), h("th", { text: "description" })),
      names.map(function (n) {
        var p = s.properties[n];
        return h("tr", null,
          h("td", { class: "name", text: n + (required.indexOf(n) >= 0 ? " *" : "") }),
          h("td", { class: "type" }, typeOf(p), p.deprecated ? " (deprecated)" : ""),
          h("td", null, rich(p.description || deref(p).description || "")));
      }));
  }
  // An example body: every field once, only the first member of each oneof, nesting capped.
  function example(schema, depth) {
    var s = schema && schema.$ref ? deref(schema) : schema || {};
    if (depth > 4) return s.type === "array" ? [] : s.type === "object" ? {} : null;
    if (s.examples && s.examples.length) return s.examples[0];
    if (s.const !== undefined) return s.const;
    if (s.enum) return s.enum[0];
    if (s.oneOf) return example(s.oneOf[0], depth);
    if (Array.isArray(s.type)) return null;
    switch (s.type) {
      case "string": return s.format === "int64" || s.format === "uint64" ? "0" : "";
      case "integer": case "number": return 0;
      case "boolean": return false;
      case "array": return [];
      case "object": {
        var out = {}, seen = {};
        Object.keys(s.properties || {}).forEach(function (n) {
          var p = s.properties[n], m = /Member of oneof \\u0060([^\\u0060]+)\\u0060/.exec(p.description || "");
          if (m) { if (seen[m[1]]) return; seen[m[1]] = true; }
          out[n] = example(p, depth + 1);
        });
        return out;
      }
    }
    return null;
  }
  function curl(path, op) {
    var body = JSON.stringify(example(op.requestBody.content["application/json"].schema, 0));
    var lines = ["curl -sS -X POST '" + location.origin + path + "'", "  -H 'Content-Type: application/json'"];
    if (!(op.security && op.security.length === 0)) lines.push("  -H \\"Authorization: Bearer $TOKEN\\"");
    lines.push("  -d '" + body.replace(/'/g, "'\\\\''") + "'");
    return lines.join(" \\\\\\n");
  }
  function copyButton(pre) {
    var btn = h("button", { type: "button", text: "Copy" });
    btn.addEventListener("click", function () {
      var done = function () { btn.textContent = "Copied"; setTimeout(function () { btn.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard) navigator.clipboard.writeText(pre.textContent).then(done, select);
      else select();
      function select() { var r = document.createRange(); r.selectNodeContents(pre); var sel = getSelection(); sel.removeAllRanges(); sel.addRange(r); }
    });
    return btn;
  }
  function operation(path, op) {
    var pre = h("pre", { text: curl(path, op), tabindex: "0" });
    var public_ = op.security && op.security.length === 0;
    var tryIt = { "data-path": path, "data-public": String(!!public_), "data-example": JSON.stringify(example(op.requestBody.content["application/json"].schema, 0)) };
    return h("div", Object.assign({ class: "op", id: "op-" + op.operationId, "data-search": (path + " " + (op.summary || "")).toLowerCase() }, tryIt),
      h("h3", null, h("span", { class: "badge post", text: "POST" }), path),
      h("div", null, public_ ? h("span", { class: "badge public", text: "public" }) : h("span", { class: "badge", text: "bearer token" }),
        op["x-connect-get"] ? h("span", { class: "badge", text: "Connect GET" }) : null,
        op.deprecated ? h("span", { class: "badge", text: "deprecated" }) : null),
      rich(op.description || op.summary),
      h("h4", { class: "part", text: "Request" }), fields(op.requestBody.content["application/json"].schema),
      h("h4", { class: "part", text: "Response (200)" }), fields(op.responses["200"].content["application/json"].schema),
      h("h4", { class: "part" }, "Errors: ", h("a", { href: "#schema-ConnectError", text: "ConnectError" }), " with the HTTP status of its code"),
      h("h4", { class: "part", text: "Example" }), h("div", { class: "curl" }, pre, copyButton(pre)));
  }
  function render() {
    var nav = document.getElementById("nav"), main = document.getElementById("main");
    main.textContent = "";
    document.title = doc.info.title;
    main.appendChild(h("section", null, h("h2", { text: doc.info.title + " (" + doc.info.version + ")" }), rich(doc.info.description)));
    var byTag = {};
    Object.keys(doc.paths).forEach(function (path) {
      var op = doc.paths[path].post;
      if (!op) return;
      var tag = (op.tags || ["other"])[0];
      (byTag[tag] = byTag[tag] || []).push([path, op]);
    });
    (doc.tags || []).forEach(function (tag) {
      var ops = byTag[tag.name] || [];
      nav.appendChild(h("h4", { text: tag.name }));
      ops.forEach(function (e) { nav.appendChild(h("a", { href: "#op-" + e[1].operationId, text: e[0].split("/").pop() })); });
      main.appendChild(h("section", { class: "service", id: "tag-" + tag.name },
        h("h2", { text: tag.name }), rich(tag.description || ""),
        ops.length ? ops.map(function (e) { return operation(e[0], e[1]); }) : h("p", { class: "muted", text: "No unary RPCs." })));
    });
    nav.appendChild(h("h4", { text: "Schemas" }));
    var schemas = doc.components.schemas;
    var list = h("section", { id: "schemas" }, h("h2", { text: "Schemas" }));
    Object.keys(schemas).forEach(function (name) {
      nav.appendChild(h("a", { href: "#schema-" + name, text: shortName(name), title: name }));
      var s = schemas[name];
      list.appendChild(h("div", { class: "op", id: "schema-" + name, "data-search": name.toLowerCase() },
        h("h3", { text: name }), s.type === "object" && s.properties ? rich(s.description || "") : null, fields(s)));
    });
    main.appendChild(list);
    if (location.hash) { var t = document.getElementById(decodeURIComponent(location.hash.slice(1))); if (t) t.scrollIntoView(); }
    document.dispatchEvent(new Event("docs:rendered"));
  }
  function filter(q) {
    q = q.trim().toLowerCase();
    document.querySelectorAll("[data-search]").forEach(function (el) { el.classList.toggle("hidden", q !== "" && el.getAttribute("data-search").indexOf(q) < 0); });
    document.querySelectorAll("section.service").forEach(function (sec) {
      sec.classList.toggle("hidden", q !== "" && !sec.querySelector(".op:not(.hidden)"));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("filter").addEventListener("input", function (e) { filter(e.target.value); });
    fetch("/openapi.json", { headers: { accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("GET /openapi.json: HTTP " + r.status); return r.json(); })
      .then(function (d) { doc = d; render(); })
      .catch(function (e) { document.getElementById("main").textContent = "Could not load the API description: " + e.message; });
  });
})();
`;
