// The car page: one car's listings per site, its signals and its asking price over time.
// Every value from the server is put in the page with textContent, never parsed as HTML.
"use strict";

(function () {
  const { el, setText, fillTable } = window.PipelineDom;
  const COLORS = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2"];

  function money(value) {
    return value === undefined || value === null ? "–" : "$" + Math.round(Number(value)).toLocaleString("en-US");
  }

  function when(iso) {
    return iso ? String(iso).slice(0, 16).replace("T", " ") : "–";
  }

  function pct(value) {
    return value === undefined || value === null ? "n/a" : (value > 0 ? "+" : "") + Number(value).toFixed(1) + "%";
  }

  function link(url) {
    // Only web addresses become links (never javascript: or data:); the text is the URL as given.
    const cell = el("td");
    if (!url) return cell;
    let safe = false;
    try {
      const parsed = new URL(url);
      safe = parsed.protocol === "https:" || parsed.protocol === "http:";
    } catch (err) {
      safe = false;
    }
    const node = el(safe ? "a" : "span", url);
    if (safe) {
      node.href = url;
      node.rel = "noopener noreferrer";
    }
    cell.appendChild(node);
    return cell;
  }

  function showSignals(car) {
    const s = car.signals;
    document.title = car.year + " " + car.make + " " + car.model + " – pipeline monitor";
    setText("title", car.year + " " + car.make + " " + car.model + " (car " + car.car_id + ")");
    setText("stat-days", s.days_on_market);
    setText("stat-seen", when(s.first_seen) + " → " + when(s.last_seen));
    setText("stat-sites", s.sites);
    setText("stat-listings", s.listings + " listing(s)");
    setText("stat-lowest", money(s.lowest_price));
    const m = s.market;
    setText("stat-market", m ? "percentile " + m.percentile + " of " + m.comparables + "; median " + money(m.median) + " (" + pct(m.lowest_vs_median_pct) + ")" : "no market context");
    const p = s.price_changes || {};
    setText("stat-change", pct(p.change_pct));
    document.getElementById("stat-change").className = p.change_pct < 0 ? "down" : p.change_pct > 0 ? "up" : "";
    setText("stat-change-detail", money(p.first) + " → " + money(p.latest) + ", " + (p.count || 0) + " change(s)");
    const relisted = s.relisted || [];
    setText("stat-relisted", relisted.length ? relisted.length + " time(s)" : "no");
    const last = relisted[relisted.length - 1];
    setText("stat-relisted-detail", last ? last.site + " " + when(last.at) + " at " + money(last.price) + " (" + pct(last.change_pct) + ")" : "");
  }

  function showTables(car) {
    fillTable("listings", car.listings, (x) => [
      String(x.listing_id), x.site, el("td", money(x.price), "num"), when(x.first_seen), when(x.last_seen),
      el("td", String(x.observations.length), "num"), link(x.url),
    ]);
    fillTable("timeline", car.timeline, (e) => [
      when(e.at), e.site, e.kind.replace("_", " "), el("td", money(e.price), "num"),
      e.kind === "relisted" ? e.previous_site + " " + money(e.previous_price)
        : e.kind === "price_change" ? money(e.previous_price) : "",
    ]);
  }

  function showChart(car) {
    if (typeof Chart === "undefined") return;
    const datasets = car.listings.map((x, i) => ({
      label: x.site + " #" + x.listing_id,
      data: x.observations.map((o) => ({ x: Date.parse(o.observed_at), y: Number(o.price) })),
      borderColor: COLORS[i % COLORS.length],
      backgroundColor: COLORS[i % COLORS.length],
      stepped: true,
      pointRadius: 4,
    }));
    new Chart(document.getElementById("chart-price"), {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
        scales: {
          x: { type: "linear", ticks: { maxTicksLimit: 8, callback: (v) => when(new Date(v).toISOString()) } },
          y: { grace: "5%", ticks: { callback: (v) => money(v) } },
        },
        plugins: { tooltip: { callbacks: { title: (items) => when(new Date(items[0].parsed.x).toISOString()) } } },
      },
    });
  }

  async function start() {
    const id = window.location.pathname.split("/").pop();
    try {
      const response = await fetch("/api/cars/" + encodeURIComponent(id), { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("car " + id + ": HTTP " + response.status);
      const car = await response.json();
      showSignals(car);
      showTables(car);
      showChart(car);
      document.body.dataset.loaded = "true";
    } catch (err) {
      setText("error", String(err && err.message ? err.message : err));
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
