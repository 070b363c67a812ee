// rootwatch report: draws the timeline, the findings table and the session graph from the data
// block. Every string of the data is put into the page with textContent or as an SVG text node,
// never as markup. State lives in the URL fragment (#severity=critical&rule=...&q=...&page=all).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLOR = { critical: "#b00020", high: "#e8590c", medium: "#e0a800", low: "#1c7ed6", info: "#868e96" };
  var ORDER = ["critical", "high", "medium", "low", "info"];
  var PAGE = 100;
  var data = JSON.parse(document.getElementById("data").textContent);
  var rows = data.findings;
  var params = new URLSearchParams(location.hash.replace(/^#/, ""));
  var state = {
    severity: params.get("severity") || "",
    rule: params.get("rule") || "",
    account: params.get("account") || "",
    "class": params.get("class") || "",
    q: params.get("q") || "",
    page: params.get("page") || "1",
    event: params.get("event") || ""
  };

  function el(name, attrs, text) {
    var e = document.createElement(name);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function svg(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function cut(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  // Keeps both ends (an ARN's account and its session name).
  function mid(s, n) { s = String(s); return s.length > n ? s.slice(0, 14) + "\u2026" + s.slice(s.length - (n - 15)) : s; }
  function save() {
    var p = new URLSearchParams();
    for (var k in state) if (state[k] && !(k === "page" && state[k] === "1")) p.set(k, state[k]);
    history.replaceState(null, "", "#" + p.toString());
  }
  function distinct(key) {
    var seen = {};
    rows.forEach(function (r) { seen[r[key]] = true; });
    var keys = Object.keys(seen);
    if (key === "severity") return ORDER.filter(function (s) { return seen[s]; });
    return keys.sort();
  }
  function matches(r) {
    if (state.severity && r.severity !== state.severity) return false;
    if (state.rule && r.rule !== state.rule) return false;
    if (state.account && r.account !== state.account) return false;
    if (state["class"] && r["class"] !== state["class"]) return false;
    if (state.q) {
      var q = state.q.toLowerCase();
      var hay = [r.id, r.title, r.who, r.ip, r.region, r.account, r.rule].join(" ").toLowerCase();
      if (hay.indexOf(q) < 0) return false;
    }
    return true;
  }

  function show(i) {
    var r = rows[i];
    if (!r) return;
    var d = document.getElementById("detail");
    if (!d) return;
    d.hidden = false;
    document.getElementById("detail-title").textContent =
      r.severity.toUpperCase() + " " + r.rule + ": " + r.title + " (event " + r.id + ")";
    document.getElementById("detail-record").textContent = JSON.stringify(data.records[r.rec], null, 2);
    state.event = r.id;
    save();
    var tr = document.querySelector("tr.sel");
    if (tr) tr.classList.remove("sel");
  }

  // Filters.
  function filters() {
    var f = document.getElementById("filters");
    if (!f) return;
    [["severity", "severity"], ["rule", "rule"], ["account", "account"], ["class", "principal class"]].forEach(function (pair) {
      var key = pair[0];
      var label = el("label", {}, pair[1] + " ");
      var sel = el("select", { id: "filter-" + key });
      sel.appendChild(el("option", { value: "" }, "all"));
      distinct(key).forEach(function (v) {
        var o = el("option", { value: v }, v);
        if (v === state[key]) o.selected = true;
        sel.appendChild(o);
      });
      sel.addEventListener("change", function () { state[key] = sel.value; state.page = "1"; save(); table(); });
      label.appendChild(sel);
      f.appendChild(label);
    });
    var label = el("label", {}, "search ");
    var q = el("input", { id: "filter-q", type: "search", placeholder: "event id, principal, text, IP" });
    q.value = state.q;
    q.addEventListener("input", function () { state.q = q.value; state.page = "1"; save(); table(); });
    label.appendChild(q);
    f.appendChild(label);
  }

  // The findings table, one page at a time (#page=all shows every row).
  function table() {
    var body = document.querySelector("#findings tbody");
    if (!body) return;
    var shown = [];
    rows.forEach(function (r, i) { if (matches(r)) shown.push(i); });
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    var all = state.page === "all";
    var page = all ? 1 : Math.min(Math.max(1, parseInt(state.page, 10) || 1), pages);
    var slice = all ? shown : shown.slice((page - 1) * PAGE, page * PAGE);
    var frag = document.createDocumentFragment();
    slice.forEach(function (i) {
      var r = rows[i];
      var tr = el("tr", { "data-event-id": r.id, "data-severity": r.severity });
      [r.time, r.account, r.region, r.severity.toUpperCase(), r.rule, r.who, r.title, r.ip].forEach(function (v, c) {
        var td = el("td", c === 3 ? { "class": "s-" + r.severity } : {}, c === 5 ? cut(v, 80) : v);
        if (c === 5) td.title = v;
        tr.appendChild(td);
      });
      tr.addEventListener("click", function () { show(i); tr.classList.add("sel"); });
      frag.appendChild(tr);
    });
    body.replaceChildren(frag);
    document.getElementById("shown").textContent =
      shown.length + " of " + rows.length + " findings" + (all ? "" : ", page " + page + " of " + pages);
    var nav = document.getElementById("pages");
    nav.replaceChildren();
    if (!all && pages > 1) {
      [["first", 1], ["previous", page - 1], ["next", page + 1], ["last", pages]].forEach(function (b) {
        var btn = el("button", { type: "button" }, b[0]);
        btn.disabled = b[1] < 1 || b[1] > pages || b[1] === page;
        btn.addEventListener("click", function () { state.page = String(b[1]); save(); table(); });
        nav.appendChild(btn);
      });
      var a = el("button", { type: "button" }, "show all");
      a.addEventListener("click", function () { state.page = "all"; save(); table(); });
      nav.appendChild(a);
    }
  }

  // The timeline: one lane per account, x = eventTime, one dot per finding.
  function timeline() {
    var box = document.getElementById("timeline");
    if (!box) return;
    var times = rows.map(function (r) { return Date.parse(r.time); });
    var ok = times.filter(function (t) { return !isNaN(t); });
    var accounts = distinct("account");
    var W = 1200, left = 120, right = 20, lane = 26, top = 10;
    var H = top + lane * Math.max(1, accounts.length) + 30;
    var s = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, id: "timeline-svg", role: "img" });
    s.appendChild(svg("title", {}, "Findings over time, one lane per account"));
    if (ok.length === 0) {
      s.appendChild(svg("text", { x: 10, y: 20 }, "No findings with a time."));
      box.appendChild(s);
      return;
    }
    var t0 = Math.min.apply(null, ok), t1 = Math.max.apply(null, ok);
    if (t1 === t0) { t0 -= 3600e3; t1 += 3600e3; }
    var x = function (t) { return left + (W - left - right) * (t - t0) / (t1 - t0); };
    accounts.forEach(function (a, i) {
      var y = top + lane * i + lane / 2;
      s.appendChild(svg("line", { x1: left, x2: W - right, y1: y, y2: y, stroke: "#e4e7ea" }));
      s.appendChild(svg("text", { x: 4, y: y + 4 }, cut(a, 18)));
    });
    for (var k = 0; k <= 4; k++) {
      var t = t0 + (t1 - t0) * k / 4;
      var tx = x(t);
      s.appendChild(svg("text", { x: Math.min(tx, W - 130), y: H - 8 }, new Date(t).toISOString().slice(0, 16).replace("T", " ")));
    }
    // Least severe first, so the most severe are drawn on top.
    var idx = rows.map(function (_, i) { return i; }).filter(function (i) { return !isNaN(times[i]); });
    idx.sort(function (a, b) { return ORDER.indexOf(rows[b].severity) - ORDER.indexOf(rows[a].severity); });
    idx.forEach(function (i) {
      var r = rows[i];
      var c = svg("circle", {
        cx: x(times[i]).toFixed(1), cy: top + lane * accounts.indexOf(r.account) + lane / 2, r: 5,
        fill: COLOR[r.severity] || "#868e96", "class": "finding", "data-event-id": r.id
      });
      c.appendChild(svg("title", {}, r.time + " " + r.severity + ": " + r.title));
      c.addEventListener("click", function () { show(i); });
      s.appendChild(c);
    });
    box.appendChild(s);
  }

  // The session graph: each origin, its sessions left to right, findings as coloured leaves.
  function graph() {
    var box = document.getElementById("graph");
    if (!box) return;
    var NW = 330, NH = 36, GX = 40, GY = 8, FW = 250, FH = 18, MAXF = 5;
    var nodes = [], edges = [], y = 0;
    function place(n, depth) {
      var kids = n.children || [];
      var f = (n.findings || []).slice(0, MAXF);
      var start = y, mine = { n: n, x: depth * (NW + GX), leaves: [] };
      nodes.push(mine);
      kids.forEach(function (c) {
        var child = place(c, depth + 1);
        edges.push([mine, child]);
      });
      f.forEach(function (i) {
        mine.leaves.push({ i: i, x: (depth + 1) * (NW + GX), y: y });
        y += FH + 4;
      });
      if ((n.findings || []).length > MAXF) {
        mine.more = { x: (depth + 1) * (NW + GX), y: y, n: n.findings.length - MAXF };
        y += FH + 4;
      }
      if (y === start) y += NH + GY;
      var end = Math.max(y, start + NH + GY);
      y = end;
      mine.y = start + (end - start - GY) / 2 - NH / 2;
      if (mine.y < start) mine.y = start;
      return mine;
    }
    (data.graph || []).forEach(function (g) { place(g, 0); y += 12; });
    if (nodes.length === 0) {
      box.appendChild(el("p", {}, "No sessions: no session-issuing call (AssumeRole*, AssumeRoot, GetFederationToken, GetSessionToken) in the input."));
      return;
    }
    var depth = 0;
    nodes.forEach(function (m) { depth = Math.max(depth, m.x + 2 * (NW + GX)); });
    var s = svg("svg", { width: depth, height: y + 10, id: "graph-svg", role: "img" });
    s.appendChild(svg("title", {}, "Session graph"));
    edges.forEach(function (e) {
      var a = e[0], b = e[1];
      var x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2;
      s.appendChild(svg("path", { "class": "edge", d: "M" + x1 + "," + y1 + " C" + (x1 + GX / 2) + "," + y1 + " " + (x2 - GX / 2) + "," + y2 + " " + x2 + "," + y2 }));
    });
    nodes.forEach(function (m) {
      var n = m.n;
      var g = svg("g", { "class": "node " + n.kind, transform: "translate(" + m.x + "," + m.y + ")" });
      g.appendChild(svg("title", {}, n.label + "\n" + n.detail));
      g.appendChild(svg("rect", { width: NW, height: NH, rx: 4 }));
      g.appendChild(svg("text", { x: 6, y: 14 }, n.kind === "origin" ? mid(n.label, 50) : cut(n.label, 50)));
      var req = n.requests + (n.requests === 1 ? " request" : " requests");
      g.appendChild(svg("text", { x: 6, y: 29, fill: "#5c6670" }, cut(n.detail, 40) + " \u00b7 " + req));
      s.appendChild(g);
      m.leaves.forEach(function (l) {
        var r = rows[l.i];
        if (!r) return;
        s.appendChild(svg("path", { "class": "edge", d: "M" + (m.x + NW) + "," + (m.y + NH / 2) + " L" + l.x + "," + (l.y + FH / 2) }));
        var fg = svg("g", { "class": "finding", transform: "translate(" + l.x + "," + l.y + ")", "data-event-id": r.id });
        fg.appendChild(svg("title", {}, r.time + " " + r.title));
        fg.appendChild(svg("rect", { width: FW, height: FH, rx: 3, fill: COLOR[r.severity] || "#868e96" }));
        fg.appendChild(svg("text", { x: 4, y: 13, fill: "#fff" }, cut(r.severity.toUpperCase() + " " + r.rule + " " + r.time.slice(0, 16), 42)));
        fg.addEventListener("click", function () { show(l.i); });
        s.appendChild(fg);
      });
      if (m.more) s.appendChild(svg("text", { x: m.more.x + 4, y: m.more.y + 13 }, "+" + m.more.n + " more findings in the table"));
    });
    box.appendChild(s);
  }

  filters();
  timeline();
  table();
  graph();
  if (state.event) {
    for (var i = 0; i < rows.length; i++) if (rows[i].id === state.event) { show(i); break; }
  }
  document.body.setAttribute("data-drawn", "true");
})();
