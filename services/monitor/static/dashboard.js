// Pipeline monitor dashboard: polls the monitor's JSON endpoints and draws with Chart.js.
// Every value from the server is put in the page with textContent, never parsed as HTML.
"use strict";

(function () {
  const { el, setText, fillTable } = window.PipelineDom;
  const REFRESH_MS = 5000;
  const charts = {};
  let busy = false;

  function fmt(n) {
    return n === undefined || n === null ? "–" : Number(n).toLocaleString("en-US");
  }

  function pct(rate) {
    return rate === undefined || rate === null ? "n/a" : (rate * 100).toFixed(1) + "%";
  }

  function secs(s) {
    return s === undefined || s === null ? "n/a" : Number(s).toFixed(1) + " s";
  }

  function num(value) {
    return el("td", fmt(value), "num");
  }

  function rangeQuery() {
    const params = new URLSearchParams();
    const from = document.getElementById("from").value;
    const to = document.getElementById("to").value;
    if (from) params.set("from", from);
    if (to) params.set("to", to);
    return params.toString();
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  }

  function chart(id, type, data, stacked) {
    if (typeof Chart === "undefined") return;
    if (charts[id]) {
      charts[id].data = data;
      charts[id].update("none");
      return;
    }
    const scales = stacked ? { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } : { y: { beginAtZero: true } };
    charts[id] = new Chart(document.getElementById(id), {
      type: type,
      data: data,
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: scales },
    });
  }

  function showTotals(report, queues, failed) {
    const s = report.scraping, v = report.validation, imp = report["import"], e = report.errors;
    setText("stat-collected", fmt(s.records_collected));
    setText("stat-files", fmt(s.files_collected) + " files");
    setText("stat-validated", fmt(v.records_read));
    setText("stat-failed", fmt(v.records_invalid) + " failed");
    setText("stat-passed", fmt(v.records_valid));
    setText("stat-pass-rate", "pass rate " + pct(v.pass_rate));
    const d = report.duplicates || { exact: v.duplicates_in_batch, near: 0, rate: null };
    setText("stat-duplicates", fmt(d.exact + d.near));
    setText("stat-dup-rate", "exact " + fmt(d.exact) + ", near " + fmt(d.near) + ", rate " + pct(d.rate));
    setText("stat-imported", fmt(imp.inserted + imp.updated + imp.unchanged));
    setText("stat-import-split", fmt(imp.inserted) + " new, " + fmt(imp.updated) + " updated, " + fmt(imp.unchanged) + " unchanged");
    setText("stat-errors", fmt(e.total));
    setText("stat-dead", "dead letters in stream: " + fmt(queues.dead_letter_depth));
    const lag = (report.timings || { end_to_end_s: {} }).end_to_end_s;
    setText("stat-lag", secs(lag.p50));
    setText("stat-lag-p95", "p95 " + secs(lag.p95));
    setText("stat-failed-records", fmt(failed.records));
    const link = document.getElementById("failed-link");
    link.href = "/api/failed?date=" + encodeURIComponent(failed.date);
    link.textContent = (failed.files_total ?? failed.files.length) + " file(s) on " + failed.date;
  }

  function showCharts(report, throughput) {
    const labels = throughput.buckets.map((b) => b.at.replace("T", " ").slice(0, throughput.unit === "hour" ? 16 : 10));
    const series = (key) => throughput.buckets.map((b) => b[key]);
    chart("chart-throughput", "line", {
      labels: labels,
      datasets: [
        { label: "collected", data: series("collected") },
        { label: "validated", data: series("validated") },
        { label: "passed", data: series("passed") },
        { label: "imported", data: series("imported") },
      ],
    });
    const days = {};
    for (const q of report.quality || []) {
      const day = days[q.day] || (days[q.day] = { read: 0, valid: 0, dups: 0 });
      day.read += q.records_read;
      day.valid += q.records_valid;
      day.dups += q.duplicates + q.near_duplicates;
    }
    const dayNames = Object.keys(days).sort();
    chart("chart-rates", "bar", {
      labels: dayNames,
      datasets: [
        { label: "pass rate %", data: dayNames.map((k) => (days[k].read ? (100 * days[k].valid) / days[k].read : 0)) },
        { label: "duplicate rate %", data: dayNames.map((k) => (days[k].read + days[k].dups ? (100 * days[k].dups) / (days[k].read + days[k].dups) : 0)) },
      ],
    });
    const byStage = report.errors.by_stage || {};
    const stages = Object.keys(byStage).sort();
    const kinds = [...new Set(stages.flatMap((st) => Object.keys(byStage[st])))].sort();
    chart("chart-errors", "bar", {
      labels: stages,
      datasets: kinds.map((k) => ({ label: k, data: stages.map((st) => byStage[st][k] || 0) })),
    }, true);
  }

  function showTables(report, recent, services, queues, alerts) {
    const svc = [];
    for (const [name, entry] of Object.entries(services.services)) {
      for (const inst of entry.instances) svc.push([name, inst]);
    }
    fillTable("services", svc, ([name, inst]) => [
      name, inst.instance, inst.last_seen_s + " s ago",
      el("td", inst.stale ? "stale" : "alive", inst.stale ? "stale" : "ok"),
    ]);
    fillTable("queues", queues.consumers, (c) => [c.consumer, num(c.pending), num(c.ack_pending), num(c.redelivered)]);
    fillTable("alerts", alerts.firing, (a) => [a.rule, a.key, el("td", a.severity, a.severity), a.message, a.first_fired_at]);
    fillTable("providers", Object.entries(report.scraping.by_provider || {}), ([name, p]) => [
      name, num(p.runs), num(p.records), pct(p.success_rate), num(p.latency_ms_p50), num(p.latency_ms_p95), num(p.credits),
    ]);
    const stages = (report.timings || { stages: {} }).stages;
    fillTable("timings", Object.entries(stages), ([name, t]) => [name, num(t.n), num(t.p50_s), num(t.p95_s)]);
    fillTable("runs", recent.runs, (r) => {
      const list = el("ul", null, "files");
      for (const f of r.files || []) list.appendChild(el("li", f));
      const cell = el("td");
      cell.appendChild(list);
      const refused = r.refused ? el("td", String(r.refused), "num error") : num(r.refused);
      return [r.occurred_at, r.provider, r.record_type, num(r.records), num(r.valid), refused, num(r.errors), cell];
    });
    fillTable("files", recent.files, (f) => [
      f.occurred_at, f.original_name || "", f.path, f.record_type, f.source,
      f.rejected ? el("td", "rejected: " + f.rejected, "error") : num(f.valid), num(f.invalid), num(f.imported),
    ]);
    fillTable("rejected", report.errors.rejected_files || [], (r) => [
      r.occurred_at, r.name, r.record_type, r.reason, r.error_file || r.path,
    ]);
    fillTable("refused", report.errors.refused_records || [], (r) => {
      const reasons = el("ul", null, "files");
      for (const [reason, n] of Object.entries(r.reasons || {})) reasons.appendChild(el("li", n + " " + reason));
      const cell = el("td");
      cell.appendChild(reasons);
      const run = r.run_id ? r.provider + " " + r.run_id : "dropped";
      return [r.occurred_at, r.name, run, r.record_type, r.refused + " of " + r.records_read, cell, r.failed_path || r.path];
    });
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const range = rangeQuery();
      const to = document.getElementById("to").value;
      const [report, throughput, recent, services, queues, alerts, failed] = await Promise.all([
        getJson("/report?" + range),
        getJson("/api/throughput?" + range),
        getJson("/api/recent?limit=15"),
        getJson("/api/services"),
        getJson("/api/queues"),
        getJson("/api/alerts"),
        getJson("/api/failed" + (to ? "?date=" + encodeURIComponent(to) : "")),
      ]);
      showTotals(report, queues, failed);
      showCharts(report, throughput);
      showTables(report, recent, services, queues, alerts);
      setText("updated", "updated " + new Date().toLocaleTimeString());
      setText("error", "");
    } catch (err) {
      setText("error", String(err && err.message ? err.message : err));
    } finally {
      busy = false;
    }
  }

  function carLink(id) {
    // A listing's id opens its car's page: its listings on every site and its price over time.
    const cell = el("td");
    const anchor = el("a", id);
    anchor.href = "/cars/" + encodeURIComponent(id);
    cell.appendChild(anchor);
    return cell;
  }

  async function runSearch(event) {
    event.preventDefault();
    const params = new URLSearchParams({
      q: document.getElementById("q").value,
      type: document.getElementById("type").value,
      limit: "20",
    });
    try {
      const data = await getJson("/search?" + params.toString());
      const rows = data.results;
      const columns = rows.length ? Object.keys(rows[0]).filter((k) => k !== "rank") : [];
      const head = document.querySelector("#results thead tr");
      head.replaceChildren(...columns.map((c) => el("th", c)));
      const cars = data.type === "vehicles";
      fillTable("results", rows, (r) =>
        columns.map((c) => (cars && c === "id" ? carLink(r.id) : r[c] === null ? "" : r[c])));
      setText("error", rows.length ? "" : "no results");
    } catch (err) {
      setText("error", String(err && err.message ? err.message : err));
    }
  }

  function start() {
    const today = new Date().toISOString().slice(0, 10);
    const params = new URLSearchParams(window.location.search);
    document.getElementById("from").value = params.get("from") || params.get("date") || today;
    document.getElementById("to").value = params.get("to") || params.get("date") || today;
    document.getElementById("range").addEventListener("submit", (event) => {
      event.preventDefault();
      refresh();
    });
    document.getElementById("search").addEventListener("submit", runSearch);
    refresh();
    window.setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
