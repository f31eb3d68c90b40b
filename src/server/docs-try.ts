/**
 * "Try it" for the /docs page (src/server/docs.ts): every unary RPC gets a form that sends a
 * Connect-JSON request from the page, with the signed-in user's token. The token comes from the web
 * console's session: the page asks RefreshToken for one with the console's HttpOnly refresh cookie
 * (same origin, the `x-sqlstudio-refresh` header; see src/auth/refresh-cookie.ts) and keeps it in
 * memory. Without a session, a token can be pasted. Plain ES2017, all text through textContent.
 */
export const TRY_JS = `"use strict";
(function () {
  var token = "";
  var who = null;
  function h(tag, attrs, text) {
    var el = document.createElement(tag);
    for (var k in attrs || {}) el.setAttribute(k, attrs[k]);
    if (text !== undefined) el.textContent = text;
    return el;
  }
  function session() {
    return fetch("/sqlstudio.auth.v1.AuthService/RefreshToken", {
      method: "POST",
      headers: { "content-type": "application/json", "x-sqlstudio-refresh": "cookie" },
      body: "{}",
      credentials: "same-origin",
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      if (j && j.accessToken) { token = j.accessToken; who = j.user; }
    }, function () {});
  }
  function banner() {
    var bar = h("div", { class: "try-session", role: "status" });
    if (who) bar.textContent = "Try it: calls run as " + (who.username || who.email) + ", with your console session.";
    else {
      bar.appendChild(document.createTextNode("Try it: not signed in. Sign in on the console (/) and reload, or paste an access token: "));
      var input = h("input", { type: "password", "aria-label": "Access token", placeholder: "access token", autocomplete: "off" });
      input.addEventListener("input", function () { token = input.value.trim(); });
      bar.appendChild(input);
    }
    var main = document.getElementById("main");
    main.insertBefore(bar, main.firstChild);
  }
  function form(op) {
    var path = op.getAttribute("data-path");
    var details = h("details", { class: "try" });
    details.appendChild(h("summary", null, "Try it"));
    var id = "try-" + op.id;
    details.appendChild(h("label", { for: id }, "Request (JSON)"));
    var body = h("textarea", { id: id, rows: "6", spellcheck: "false" });
    body.value = JSON.stringify(JSON.parse(op.getAttribute("data-example") || "{}"), null, 2);
    details.appendChild(body);
    var send = h("button", { type: "button" }, "Send");
    var out = h("pre", { class: "try-out", "aria-live": "polite", tabindex: "0" });
    send.addEventListener("click", function () {
      var headers = { "content-type": "application/json" };
      if (token && op.getAttribute("data-public") !== "true") headers.authorization = "Bearer " + token;
      out.textContent = "…";
      var started = performance.now();
      fetch(path, { method: "POST", headers: headers, body: body.value }).then(function (r) {
        return r.text().then(function (text) {
          var shown = text;
          try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
          out.textContent = "HTTP " + r.status + " · " + Math.round(performance.now() - started) + " ms\\n" + shown;
        });
      }, function (e) { out.textContent = "The request failed: " + e.message; });
    });
    details.appendChild(send);
    details.appendChild(out);
    op.appendChild(details);
  }
  document.addEventListener("docs:rendered", function () {
    session().then(function () {
      banner();
      document.querySelectorAll(".op[data-path]").forEach(form);
    });
  });
})();
`;

export const TRY_CSS = `.try{margin-top:8px}
.try summary{cursor:pointer;font-weight:600;color:#0969da}
.try label{display:block;font-size:12px;color:#57606a;margin:6px 0 2px}
.try textarea{width:100%;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px;border:1px solid #d0d7de;border-radius:6px;padding:6px}
.try button{margin:6px 0;padding:4px 14px;cursor:pointer}
.try-out:empty{display:none}
.try-session{padding:8px 12px;margin:12px 0;border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa}
.try-session input{width:320px;max-width:100%}
`;
