// The dashboard page, compiled into the binary so it works offline. It polls
// /api/status and redraws in place; every text from the store goes in via
// textContent (task errors and names are untrusted).
#include "monitor/server.hpp"

namespace nfl::monitor {

namespace {

constexpr char k_page[] = R"nfl_page(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nfl-compute dashboard</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.2em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .2em 0; }
h2 { font-size: 1.1em; margin: 1.2em 0 .4em 0; }
.meta { color: #666; font-size: .85em; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; font-size: .9em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.counts { display: flex; gap: .8em; flex-wrap: wrap; }
.count { background: #fff; border: 1px solid #ddd; padding: .4em .8em; min-width: 6em; }
.count b { display: block; font-size: 1.4em; }
.bar { width: 12em; height: .9em; background: #eee; border: 1px solid #ccc; display: inline-block; vertical-align: middle; }
.bar > div { height: 100%; background: #3a7; transition: width .3s; }
.live { color: #2a6; } .stale { color: #c33; }
.error { color: #a00; font-family: monospace; white-space: pre-wrap; }
.charts { display: flex; gap: 1.5em; flex-wrap: wrap; }
.chart { width: 460px; height: 240px; background: #fff; border: 1px solid #ddd; padding: .4em; }
#problem { color: #a00; }
</style>
</head>
<body>
<h1>nfl-compute</h1>
<div class="meta"><span id="backend"></span> &middot; updated <span id="updated">never</span> <span id="problem"></span></div>

<h2>Tasks</h2>
<div class="counts" id="counts"></div>

<h2>Queues</h2>
<table id="queues"><thead><tr><th>queue</th><th>pending</th><th>running</th><th>failed</th></tr></thead><tbody></tbody></table>

<h2>Machines</h2>
<table id="machines"><thead><tr><th>machine</th><th>profile</th><th>hardware</th><th>queues</th><th>running</th>
<th>done</th><th>heartbeat</th><th>state</th></tr></thead><tbody></tbody></table>

<h2>Running</h2>
<table id="running"><thead><tr><th>task</th><th>type</th><th>machine</th><th>attempt</th><th>elapsed</th>
<th>progress</th></tr></thead><tbody></tbody></table>

<h2>Throughput and durations</h2>
<div class="meta">completed in the last 5 minutes: <b id="done5m">0</b>, last hour: <b id="done1h">0</b></div>
<div class="charts">
<div class="chart"><canvas id="throughput-chart"></canvas></div>
<div class="chart"><canvas id="duration-chart"></canvas></div>
</div>

<h2>Recent failures</h2>
<table id="failures"><thead><tr><th>task</th><th>type</th><th>queue</th><th>attempts</th><th>error</th></tr></thead>
<tbody></tbody></table>

<h2>Results</h2>
<div id="report">No analytics report yet.</div>

<script src="/chart.js"></script>
<script>
"use strict";
const k_poll_ms = 2000;
let charts = null;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) { e.textContent = String(text); }
  if (cls) { e.className = cls; }
  return e;
}
function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    if (c instanceof Node) { const td = document.createElement("td"); td.appendChild(c); tr.appendChild(td); }
    else { tr.appendChild(el("td", c, typeof c === "number" ? "n" : "")); }
  }
  return tr;
}
function fill(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows);
}
function duration(s) {
  s = Math.max(0, Math.round(s));
  if (s < 60) { return s + "s"; }
  if (s < 3600) { return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s"; }
  return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
}
function bar(percent) {
  const outer = el("div", null, "bar");
  const inner = document.createElement("div");
  const p = Math.max(0, Math.min(100, percent));
  inner.style.width = p + "%";
  outer.appendChild(inner);
  outer.dataset.progress = p.toFixed(1);
  const wrap = document.createElement("span");
  wrap.appendChild(outer);
  wrap.appendChild(el("span", " " + p.toFixed(0) + "%"));
  return wrap;
}
function hardware(h) {
  const parts = [];
  if (h.cpu_cores) { parts.push(h.cpu_cores + " cores"); }
  if (h.memory_gib) { parts.push(Number(h.memory_gib).toFixed(0) + " GiB"); }
  if (Array.isArray(h.gpus) && h.gpus.length) { parts.push(h.gpus.length + " GPU"); }
  return parts.join(", ");
}

function render(s) {
  document.getElementById("backend").textContent = s.backend;
  document.getElementById("updated").textContent = new Date(s.now_ms).toISOString();
  document.getElementById("problem").textContent = "";
  const counts = document.getElementById("counts");
  counts.replaceChildren(...Object.entries(s.counts).map(([k, v]) => {
    const d = el("div", null, "count");
    const b = el("b", v); b.id = "count-" + k;
    d.appendChild(b); d.appendChild(el("span", k));
    return d;
  }));
  fill("queues", Object.entries(s.queues).map(([q, c]) => {
    const r = row([q, c.pending, c.running, c.failed]); r.dataset.queue = q; return r;
  }));
  fill("machines", s.machines.map(m => {
    const r = row([m.machine_id, m.profile, hardware(m.hardware || {}), (m.queues || []).join(", "), m.running,
                   m.tasks_done, duration(m.heartbeat_age_seconds) + " ago", el("span", m.live ? "live" : "stale",
                   m.live ? "live" : "stale")]);
    r.dataset.machine = m.machine_id; return r;
  }));
  fill("running", s.running.map(t => {
    const r = row([t.name || t.id, t.task_type, t.machine_id, t.attempts + "/" + t.max_attempts,
                   duration(t.elapsed_seconds), bar(t.progress)]);
    r.dataset.taskId = t.id; return r;
  }));
  fill("failures", s.recent_failures.map(t => {
    const r = row([t.name || t.id, t.task_type, t.queue, t.attempts, el("span", t.error, "error")]);
    r.dataset.taskId = t.id; return r;
  }));
  document.getElementById("done5m").textContent = s.throughput.completed_last_5m;
  document.getElementById("done1h").textContent = s.throughput.completed_last_1h;
  const report = document.getElementById("report");
  if (s.latest_report) {
    const a = el("a", "Latest analytics report (" + s.latest_report.task_id + ")");
    a.href = s.latest_report.url; a.id = "report-link";
    report.replaceChildren(a);
  }
  draw_charts(s);
}

function draw_charts(s) {
  if (typeof Chart === "undefined") { return; }
  const minutes = s.throughput.per_minute.map(p => new Date(p.minute_ms).toISOString().substring(11, 16));
  const per_minute = s.throughput.per_minute.map(p => p.completed);
  const labels = s.durations.map(d => d.id);
  const seconds = s.durations.map(d => d.seconds);
  if (!charts) {
    const opts = { animation: false, responsive: true, maintainAspectRatio: false,
                   scales: { y: { beginAtZero: true } } };
    charts = {
      throughput: new Chart(document.getElementById("throughput-chart"), {
        type: "line",
        data: { labels: minutes, datasets: [{ label: "completed per minute", data: per_minute,
                borderColor: "#3a7", fill: false, tension: 0.2 }] },
        options: opts }),
      durations: new Chart(document.getElementById("duration-chart"), {
        type: "bar",
        data: { labels: labels, datasets: [{ label: "task duration (s), recent completions", data: seconds,
                backgroundColor: "#58c" }] },
        options: opts }),
    };
    document.body.dataset.charts = "ready";
    return;
  }
  charts.throughput.data.labels = minutes;
  charts.throughput.data.datasets[0].data = per_minute;
  charts.throughput.update();
  charts.durations.data.labels = labels;
  charts.durations.data.datasets[0].data = seconds;
  charts.durations.update();
}

async function poll() {
  try {
    const r = await fetch("/api/status", { cache: "no-store" });
    if (!r.ok) { throw new Error("HTTP " + r.status + ": " + (await r.text())); }
    render(await r.json());
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
  } catch (e) {
    document.getElementById("problem").textContent = "(" + e.message + ")";
  }
  setTimeout(poll, k_poll_ms);
}
poll();
</script>
</body>
</html>
)nfl_page";

} // namespace

std::string_view dashboard_html() { return {k_page, sizeof(k_page) - 1}; }

} // namespace nfl::monitor
