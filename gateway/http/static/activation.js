// One activation's stats, live over graphql-transport-ws: counters, the four rates, a daily
// chart of views / outbound clicks / calendar syncs, and a CSV download. Used by the
// dashboard (staff credential) and by the event host's page (activation token only).
import { saveBlob } from "./api.js";
import { lineChart } from "./chart.js";
import { card, clear, date, fmt, h, pct } from "./dom.js";

const METRICS = "clickCount outboundClickCount calendarSyncCount uniqueSessionCount uniqueViewSessionCount uniqueOutboundSessionCount uniqueCalendarSessionCount outboundSessionRate calendarSessionRate outboundInteractionRate calendarInteractionRate";
const STATS = `activationId eventKey eventName tier range { startAt endAt } metrics { ${METRICS} }`;
const LIVE = `subscription Live($id: ID!, $token: String) { activationStatsUpdated(activationId: $id, token: $token) { ${STATS} } }`;
const MAX_DAYS = 14; // one request: one alias per day, below the alias limit

const COUNTERS = [
  ["clickCount", "Views"],
  ["outboundClickCount", "Outbound clicks"],
  ["calendarSyncCount", "Calendar syncs"],
  ["uniqueSessionCount", "Sessions"],
];
const RATES = [
  ["outboundSessionRate", "Outbound session rate"],
  ["calendarSessionRate", "Calendar session rate"],
  ["outboundInteractionRate", "Outbound interaction rate"],
  ["calendarInteractionRate", "Calendar interaction rate"],
];
const SERIES = [
  ["clickCount", "Views"],
  ["outboundClickCount", "Outbound clicks"],
  ["calendarSyncCount", "Calendar syncs"],
];

/** The UTC days of the window up to today, last MAX_DAYS of them: [{day, startAt, endAt}]. */
function chartDays(startAt, endAt) {
  const start = new Date(startAt);
  const end = new Date(Math.min(new Date(endAt).getTime(), Date.now()));
  const days = [];
  for (let d = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate())); d >= start || days.length === 0; d = new Date(d.getTime() - 86400000)) {
    const dayStart = new Date(Math.max(d.getTime(), start.getTime()));
    const noon = new Date(Math.min(d.getTime() + 12 * 3600000, new Date(endAt).getTime()));
    days.unshift({ day: d.toISOString().slice(0, 10), startAt: dayStart.toISOString(), endAt: (noon < dayStart ? dayStart : noon).toISOString() });
    if (days.length === MAX_DAYS) break;
  }
  return days;
}

/**
 * Render into `main`; returns a function that ends the live subscription.
 * options: {activation: {id, eventName, status, startAt, endAt}, socket, query, token?, back?}
 */
export function activationView(main, { activation, socket, query, token = null, back = null }) {
  const counters = h("div", { className: "cards" }, COUNTERS.map(([key, label]) => card(label, "…", `metric.${key}`)));
  const rates = h("div", { className: "cards rates" }, RATES.map(([key, label]) => card(label, "…", `metric.${key}`)));
  const chartBox = h("div", { className: "chart-box" });
  const live = h("span", { className: "live-note", "aria-live": "polite", "data-live": "waiting" }, "waiting for live stats…");
  const status = activation.status ? h("span", { className: `badge ${activation.status.toLowerCase()}` }, activation.status) : null;
  let latest = null;
  let days = [];
  let series = null; // per day: {clickCount, outboundClickCount, calendarSyncCount}
  let baseline = null; // window totals the daily figures were read at

  const download = h("button", { type: "button", className: "secondary", disabled: true, onclick: () => saveCsv() }, "Download CSV");
  clear(main,
    back ? h("p", {}, back) : null,
    h("div", { className: "view-head" },
      h("h1", { tabindex: "-1" }, activation.eventName ?? "Activation"),
      h("div", { className: "actions" }, download)),
    h("p", { className: "muted" }, status, " ", h("span", { "data-window": "" }, activation.startAt ? `${date(activation.startAt)} → ${date(activation.endAt)}` : ""), " · ", live),
    h("h2", {}, "Engagement"), counters,
    h("h2", {}, "Rates"), rates,
    chartBox);

  function show(stats) {
    latest = stats;
    for (const [key] of COUNTERS) main.querySelector(`[data-figure="metric.${key}"]`).textContent = fmt(stats.metrics[key]);
    for (const [key] of RATES) main.querySelector(`[data-figure="metric.${key}"]`).textContent = pct(stats.metrics[key]);
    download.disabled = false;
    if (series && baseline) {
      // New events land on today (the last day): add what the totals grew by since the read.
      const today = series[series.length - 1];
      for (const [key] of SERIES) {
        today[key] += stats.metrics[key] - baseline[key];
        baseline[key] = stats.metrics[key];
      }
      drawChart();
    }
  }

  function drawChart() {
    clear(chartBox, lineChart(`Per day (UTC), last ${days.length} day(s)`, days.map((d) => d.day.slice(5)),
      SERIES.map(([key, name]) => ({ name, values: series.map((s) => s[key]) }))));
  }

  async function loadDays() {
    if (!activation.startAt) return;
    days = chartDays(activation.startAt, activation.endAt);
    const aliases = days.map((d, i) => `d${i}: activationStats(activationId: $id, token: $token, startAt: "${d.startAt}", endAt: "${d.endAt}") { metrics { clickCount outboundClickCount calendarSyncCount } }`);
    const data = await query(`query Days($id: ID!, $token: String) { total: activationStats(activationId: $id, token: $token) { metrics { clickCount outboundClickCount calendarSyncCount } }
      ${aliases.join("\n")} }`, { id: activation.id, token });
    series = days.map((_, i) => ({ ...data[`d${i}`].metrics }));
    baseline = { ...data.total.metrics };
    if (latest) show(latest);
    else drawChart();
  }

  function saveCsv() {
    if (!latest) return;
    const m = latest.metrics;
    const head = ["activationId", "eventKey", "eventName", "tier", "startAt", "endAt", ...Object.keys(m)];
    const row = [latest.activationId, latest.eventKey, latest.eventName, latest.tier, latest.range.startAt, latest.range.endAt, ...Object.values(m)];
    const cell = (v) => {
      let s = String(v);
      if (/^[=+\-@\t\r\n]/.test(s)) s = `'${s}`; // formula-safe, as the gateway's own exports
      return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
    };
    const lines = [head, row];
    if (series) {
      lines.push([], ["day", ...SERIES.map(([key]) => key)]);
      days.forEach((d, i) => lines.push([d.day, ...SERIES.map(([key]) => series[i][key])]));
    }
    const csv = lines.map((r) => r.map(cell).join(",")).join("\n") + "\n";
    saveBlob(new Blob([csv], { type: "text/csv" }), `oooc-activation-${latest.eventKey}.csv`);
  }

  loadDays().catch((error) => clear(chartBox, h("div", { className: "error", role: "alert" }, error.message)));
  const stop = socket.subscribe(
    LIVE,
    { id: activation.id, token },
    (data) => {
      live.dataset.live = "on";
      live.textContent = `live · updated ${new Date().toLocaleTimeString("en-GB")}`;
      show(data.activationStatsUpdated);
    },
    (errors) => {
      live.dataset.live = "error";
      live.textContent = (Array.isArray(errors) ? errors : [errors]).map((e) => e.message).join("; ");
    },
    () => {
      live.dataset.live = "ended";
      live.textContent = "live updates ended";
    },
  );
  return stop;
}
