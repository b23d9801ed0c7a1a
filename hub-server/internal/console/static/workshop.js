// Quartierhub console, workshop pages: live updates over the page's
// socket, timers that count down, drag and drop on the cluster board and
// forms sent without a reload. Every page works without this file.
(function () {
  "use strict";
  var root = document.querySelector(".ws-live");
  if (!root) { return; }
  var conn = document.getElementById("ws-conn");
  var pending = {}; // fragment id → html waiting until its form loses focus

  function say(text) { if (conn) { conn.textContent = text || ""; } }

  // put replaces a fragment, unless someone is typing in it: then it
  // waits for the focus to leave.
  var last = {}; // fragment id → the html it shows
  function put(id, html) {
    var el = document.getElementById(id);
    if (!el || last[id] === html) { delete pending[id]; return; }
    if (busy(el)) {
      pending[id] = html;
      return;
    }
    var open = [];
    el.querySelectorAll("details[open]").forEach(function (d) { var f = d.querySelector("[name=idea],[name=theme]"); if (f) { open.push(f.value); } });
    el.innerHTML = html;
    last[id] = html;
    delete pending[id];
    if (open.length) {
      el.querySelectorAll("details").forEach(function (d) { var f = d.querySelector("[name=idea],[name=theme]"); if (f && open.indexOf(f.value) >= 0) { d.open = true; } });
    }
    tick();
  }
  // busy: someone is typing or about to press a button in el; its
  // replacement waits.
  function busy(el) {
    var a = document.activeElement;
    return !!a && a !== document.body && el.contains(a) && /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(a.tagName);
  }
  function flush() { Object.keys(pending).forEach(function (id) { put(id, pending[id]); }); }
  document.addEventListener("focusout", function () { setTimeout(flush, 0); });

  // Timers: "12:34 left", computed from the end the server names.
  function tick() {
    document.querySelectorAll(".ws-timer[data-ends]").forEach(function (t) {
      var left = Math.max(0, Math.round((Number(t.getAttribute("data-ends")) - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      t.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      t.classList.toggle("over", left === 0);
    });
  }
  setInterval(tick, 1000);
  tick();

  // The live socket: on every message the server sends the page's
  // fragments; on a loss it reconnects, backing off up to 10 s.
  var url = root.getAttribute("data-live");
  var delay = 500;
  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + url);
    ws.onopen = function () { delay = 500; say(""); root.setAttribute("data-connected", "true"); };
    ws.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (m.type !== "view" || !m.html) { return; }
      Object.keys(m.html).forEach(function (id) { put(id, m.html[id]); });
      root.setAttribute("data-cursor", String(m.cursor));
    };
    ws.onclose = function (e) {
      root.setAttribute("data-connected", "false");
      if (e.code === 1008) { say(root.getAttribute("data-session-ended") || ""); return; }
      say(root.getAttribute("data-reconnecting") || "…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  if (url && window.WebSocket) { connect(); }

  // Forms of the action endpoint go without a reload; the socket brings
  // the change. A refusal is shown where the form is.
  var act = root.getAttribute("data-act");
  function send(body, near) {
    return fetch(act, { method: "POST", body: body, headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (res) { return res.json(); })
      .then(function (r) { if (!r.ok) { problem(near, r.error); } })
      .catch(function () { problem(near, "…"); });
  }
  function problem(near, text) {
    var p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    (near && near.parentNode ? near.parentNode : root).insertBefore(p, near && near.parentNode ? near.nextSibling : root.firstChild);
    setTimeout(function () { p.remove(); }, 8000);
  }
  if (act && window.fetch) {
    document.addEventListener("submit", function (e) {
      var f = e.target;
      if (f.getAttribute("action") !== act) { return; }
      e.preventDefault();
      var body = new URLSearchParams(new FormData(f));
      if (e.submitter && e.submitter.name) { body.set(e.submitter.name, e.submitter.value); }
      // Once sent, the form is done with: let the update replace it.
      send(body, f).then(function () {
        if (f.contains(document.activeElement)) { document.activeElement.blur(); }
        flush();
      });
    });
  }

  // Drag and drop on the cluster board: an idea card onto a column.
  var csrf = root.getAttribute("data-csrf");
  document.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest("[data-idea]");
    if (!card) { return; }
    e.dataTransfer.setData("text/plain", card.getAttribute("data-idea"));
    e.dataTransfer.effectAllowed = "move";
    card.classList.add("dragging");
  });
  document.addEventListener("dragend", function (e) {
    if (e.target.classList) { e.target.classList.remove("dragging"); }
  });
  document.addEventListener("dragover", function (e) {
    var col = e.target.closest && e.target.closest("[data-drop]");
    if (col) { e.preventDefault(); col.classList.add("over"); }
  });
  document.addEventListener("dragleave", function (e) {
    var col = e.target.closest && e.target.closest("[data-drop]");
    if (col) { col.classList.remove("over"); }
  });
  document.addEventListener("drop", function (e) {
    var col = e.target.closest && e.target.closest("[data-drop]");
    if (!col) { return; }
    e.preventDefault();
    col.classList.remove("over");
    var idea = e.dataTransfer.getData("text/plain");
    if (!idea) { return; }
    var card = document.getElementById("card-" + idea);
    var list = col.querySelector("ul");
    if (card && list) { list.appendChild(card); } // at once; the socket confirms
    var body = new URLSearchParams();
    body.set("csrf", csrf); body.set("op", "move"); body.set("idea", idea); body.set("to", col.getAttribute("data-drop"));
    send(body, col.querySelector("h2"));
  });
})();
