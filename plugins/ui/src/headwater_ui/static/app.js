// Headwater UI: live updates over the JSON API (no framework, no inline script: see the CSP).
"use strict";

(function () {
  const LEVELS = { 10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL" };
  const FINAL = ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"];

  function pad(n) { return String(n).padStart(2, "0"); }
  function fmtTime(ts) {
    if (ts === null || ts === undefined) return "";
    const d = new Date(ts * 1000);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function fmtDuration(s) {
    if (s === null || s === undefined) return "";
    if (s < 0.001) return Math.round(s * 1e6) + " \u00b5s";
    if (s < 1) return (s * 1000).toFixed(1) + " ms";
    if (s < 120) return s.toFixed(2) + " s";
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
    return pad(h) + ":" + pad(m) + ":" + pad(sec);
  }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function badge(stateType, state) {
    return el("span", { class: "badge st-" + stateType, "data-state-type": stateType }, state);
  }
  function cell(child, cls) {
    const td = el("td", cls ? { class: cls } : {});
    if (child instanceof Node) td.appendChild(child); else td.textContent = child;
    return td;
  }

  // Runs list: the first page refreshes itself every few seconds.
  function liveRuns(table) {
    if (table.dataset.live !== "yes") return;
    const body = table.querySelector("tbody");
    async function refresh() {
      try {
        const res = await fetch(table.dataset.api, { headers: { Accept: "application/json" } });
        if (!res.ok) return;
        const data = await res.json();
        const rows = data.runs.map(function (r) {
          const tr = el("tr");
          tr.appendChild(cell(badge(r.state_type, r.state)));
          const link = el("a", { href: "/runs/" + encodeURIComponent(r.id) }, r.name);
          tr.appendChild(cell(link));
          tr.appendChild(cell(r.flow_name));
          const tags = el("td");
          r.tags.forEach(function (t) { tags.appendChild(el("span", { class: "tag" }, t)); });
          tr.appendChild(tags);
          tr.appendChild(cell(fmtTime(r.started)));
          tr.appendChild(cell(fmtDuration(r.duration), "num"));
          tr.appendChild(cell(String(r.task_runs), "num"));
          tr.appendChild(cell(r.id.slice(0, 8), "mono"));
          return tr;
        });
        if (rows.length) body.replaceChildren.apply(body, rows);
      } catch (e) { /* the next refresh tries again */ }
    }
    setInterval(refresh, 5000);
  }

  function logLine(line) {
    const div = el("div", { class: "log lv" + line.level, "data-id": String(line.id) });
    div.appendChild(el("span", { class: "ts" }, fmtTime(line.ts)));
    div.appendChild(document.createTextNode(" "));
    div.appendChild(el("span", { class: "lvl" }, LEVELS[line.level] || String(line.level)));
    div.appendChild(document.createTextNode(" "));
    div.appendChild(el("span", { class: "who" }, line.logger || ""));
    div.appendChild(document.createTextNode(" "));
    div.appendChild(el("span", { class: "msg" }, line.message));
    return div;
  }

  // Run detail: logs stream in over server-sent events while the run is unfinished.
  function liveRun(box) {
    if (box.dataset.live !== "yes" || !window.EventSource) return;
    const status = document.getElementById("log-status");
    const stateBox = document.getElementById("run-state");
    const source = new EventSource(box.dataset.stream + "?after=" + encodeURIComponent(box.dataset.after || "0"));
    let sawUnfinished = false;
    source.addEventListener("log", function (ev) {
      const line = JSON.parse(ev.data);
      const empty = box.querySelector(".log.empty");
      if (empty) empty.remove();
      const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
      box.appendChild(logLine(line));
      box.dataset.after = String(line.id);
      if (stick) box.scrollTop = box.scrollHeight;
    });
    source.addEventListener("state", function (ev) {
      const s = JSON.parse(ev.data);
      if (stateBox) stateBox.replaceChildren(badge(s.state_type, s.state));
      if (FINAL.indexOf(s.state_type) < 0) sawUnfinished = true;
    });
    source.addEventListener("end", function (ev) {
      source.close();
      box.dataset.live = "no";
      const s = JSON.parse(ev.data);
      if (status) status.textContent = "run " + s.state.toLowerCase();
      const cancel = document.getElementById("cancel-form");
      if (cancel) cancel.remove();
      // redraw the timeline and lineage with the final task states
      if (sawUnfinished) setTimeout(function () { window.location.reload(); }, 1500);
    });
    source.onerror = function () { if (status) status.textContent = "reconnecting\u2026"; };
    source.onopen = function () { if (status) status.textContent = "live"; };
  }

  // Run detail: while the run goes on, its summary, timeline, lineage and task table are
  // re-read from the server every few seconds (the page itself, parsed, never executed).
  function refreshRun() {
    const boxes = document.querySelectorAll("[data-refresh=yes]");
    if (!boxes.length) return;
    const timer = setInterval(async function () {
      const logs = document.getElementById("logs");
      if (!logs || logs.dataset.live !== "yes") { clearInterval(timer); return; }
      try {
        const res = await fetch(window.location.pathname, { headers: { Accept: "text/html" } });
        if (!res.ok) return;
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        boxes.forEach(function (box) {
          const fresh = doc.getElementById(box.id);
          if (fresh) box.replaceChildren.apply(box, Array.from(fresh.childNodes).map(function (n) {
            return document.importNode(n, true);
          }));
        });
      } catch (e) { /* the next round tries again */ }
    }, 3000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const runs = document.getElementById("runs-table");
    if (runs) liveRuns(runs);
    const logs = document.getElementById("logs");
    if (logs) { logs.scrollTop = logs.scrollHeight; liveRun(logs); refreshRun(); }
    if (document.getElementById("failure-rates")) setTimeout(function () { window.location.reload(); }, 30000);
  });
})();
