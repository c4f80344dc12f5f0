// The dashboard: reads the gateway's JSON under the page's base (api/...) and draws it with plain DOM and SVG.
"use strict";
const range = () => ["from", "to"].filter((id) => document.getElementById(id).value).map((id) => `${id}=${document.getElementById(id).value}`);
const api = (path, query = []) => fetch(new URL(`api/${path}${query.length ? "?" + query.join("&") : ""}`, document.baseURI), { credentials: "same-origin" })
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`${path}: ${r.status} ${r.statusText}`))));
const usd = (value) => (value ?? 0).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 6 });
const ms = (value) => (value == null ? "–" : value.toFixed(0));
const share = (part, whole) => (whole ? ((100 * part) / whole).toFixed(1) + " %" : "–");
const count = (field) => (row) => String(row[field]);
const deploymentOf = (row) => row.deployment ?? `${row.provider}/${row.model}`;

// Fills a table's head and body: a column is [title, text of a row, numeric?]; each row is tagged data-key.
function fill(table, columns, rows, key) {
  const cell = (tag, text, number) => Object.assign(document.createElement(tag), { textContent: text, className: number ? "number" : "" });
  const head = document.createElement("tr");
  head.append(...columns.map(([title, , number]) => cell("th", title, number)));
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.key = key(row);
    tr.append(...columns.map(([, text, number]) => cell("td", text(row), number)));
    return tr;
  }));
  return table;
}
const table = (testId) => document.querySelector(`[data-testid=${testId}]`);

// SVG bars: horizontal, a label then its bar; or, for a time series, columns left to right.
function bars(svg, items, columns) {
  const element = (name, attributes, text = "") => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", name);
    Object.entries(attributes).forEach(([k, v]) => e.setAttribute(k, String(v)));
    e.textContent = text;
    return e;
  };
  const most = Math.max(...items.map((i) => i.value), 0) || 1;
  const width = Math.max(4, Math.min(40, Math.floor(900 / Math.max(items.length, 1)) - 4));
  if (!columns) svg.setAttribute("height", String(items.length * 22 + 4));
  svg.replaceChildren(...items.flatMap((item, i) => columns
    ? [element("rect", { x: i * (width + 4), y: 140 - (item.value / most) * 130, width, height: Math.max(1, (item.value / most) * 130) }),
       element("text", { x: i * (width + 4), y: 156 }, i % Math.ceil(items.length / 12) === 0 ? item.label.slice(5) : "")]
    : [element("rect", { x: 240, y: i * 22 + 2, height: 18, width: Math.max(2, (item.value / most) * 400) }), element("text", { x: 0, y: i * 22 + 15 }, item.label)]));
}

async function drawSpend() {
  const spend = await api("spend", [`groupBy=${document.getElementById("spend-group").value}`, "limit=1000", ...range()]);
  bars(document.getElementById("spend-chart"), spend.rows.map((r) => ({ label: r.group, value: r.cost })));
  fill(table("spend-table"), [["Group", (r) => r.group], ["Calls", count("calls"), true], ["Cost (USD)", (r) => usd(r.cost), true]], spend.rows, (r) => r.group);
}

async function drawTraffic() {
  const [days, traffic, health] = await Promise.all([api("spend", ["groupBy=day", "limit=1000", ...range()]), api("traffic", range()), api("deployments")]);
  bars(document.getElementById("spend-days"), days.rows.map((r) => ({ label: r.group, value: r.cost })).sort((a, b) => a.label.localeCompare(b.label)), true);
  const rows = traffic.rows;
  const sum = (field) => rows.reduce((total, r) => total + r[field], 0);
  fill(table("latency-table"), [["Deployment", deploymentOf], ["Calls", count("calls"), true], ["Errors", (r) => share(r.errors, r.calls), true],
    ["p50 ms", (r) => ms(r.latencyP50Ms), true], ["p95 ms", (r) => ms(r.latencyP95Ms), true],
    ["TTFT p50 ms", (r) => ms(r.timeToFirstTokenP50Ms), true], ["TTFT p95 ms", (r) => ms(r.timeToFirstTokenP95Ms), true]], rows, deploymentOf);
  table("cache-summary").textContent = `Hit rate ${share(sum("cacheHits"), sum("cacheLookups"))} of ${sum("cacheLookups")} lookups; saved ${usd(sum("savedCost"))} USD.`;
  fill(table("cache-table"), [["Answering model", deploymentOf], ["Lookups", count("cacheLookups"), true], ["Hits", count("cacheHits"), true],
    ["Hit rate", (r) => share(r.cacheHits, r.cacheLookups), true], ["Saved (USD)", (r) => usd(r.savedCost), true]], rows.filter((r) => r.cacheLookups > 0), deploymentOf);
  fill(table("routing-table"), [["Deployment", deploymentOf], ["Retries", count("retries"), true], ["Fallbacks into it", count("fallbacks"), true],
    ["Race wins", count("raceWins"), true], ["Race losses", count("raceLosses"), true]], rows, deploymentOf);
  fill(table("health-table"), [["Group", (d) => d.group], ["Deployment", (d) => d.name], ["State", (d) => d.state], ["Cooling until", (d) => d.cooling_until ?? ""],
    ["In flight", count("in_flight"), true], ["Avg TTFT ms", (d) => ms(d.avg_time_to_first_token_ms), true], ["Avg ms", (d) => ms(d.avg_duration_ms), true]],
    health.deployments, (d) => `${d.group}/${d.name}`).querySelectorAll("tbody td:nth-child(3)").forEach((td) => td.classList.add(td.textContent));
}

async function drawExperiments() {
  const experiments = await api("experiments");
  const host = document.getElementById("experiment-reports");
  host.textContent = experiments.length === 0 ? "No experiments." : "";
  host.append(...experiments.flatMap((experiment) => [
    Object.assign(document.createElement("h3"), { textContent: `${experiment.name} (${experiment.running ? "running" : "stopped"}; judge ${usd(experiment.report.judgeCost)} USD)` }),
    ...experiment.report.tasks.map((task) => {
      const report = fill(Object.assign(document.createElement("table"), { innerHTML: "<caption></caption><thead></thead><tbody></tbody>" }),
        [["Arm", (a) => a.arm], ["Calls", count("calls"), true], ["Errors", (a) => (a.errorRate * 100).toFixed(1) + " %", true], ["USD / 1,000 calls", (a) => usd(a.costPer1000Calls), true],
          ["p50 ms", (a) => ms(a.latencyP50Ms), true], ["p95 ms", (a) => ms(a.latencyP95Ms), true], ["TTFT p50 ms", (a) => ms(a.timeToFirstTokenP50Ms), true],
          ["Score", (a) => (a.meanScore == null ? "–" : a.meanScore.toFixed(2)), true], ["95 % interval", (a) => (a.scoreLow == null ? "–" : `${a.scoreLow.toFixed(2)}–${a.scoreHigh.toFixed(2)}`), true]],
        task.arms, (a) => a.arm);
      Object.assign(report.dataset, { experiment: experiment.name, task: task.task ?? "" });
      report.caption.textContent = `Task: ${task.task ?? "(none)"} — ${task.reason}`;
      report.querySelectorAll("tbody tr").forEach((tr) => tr.classList.toggle("recommended", tr.dataset.key === task.recommended));
      return report;
    }),
  ]));
}

async function drawGovernance() {
  const governance = await api("governance");
  const byKey = governance.keys?.length ? await api("spend", ["groupBy=key", "limit=1000", ...range()]) : { rows: [] };
  const spent = new Map(byKey.rows.map((r) => [r.group, r]));
  const state = (k) => (k.revokedAt ? "revoked" : k.expiresAt && new Date(k.expiresAt) < new Date() ? "expired" : "active");
  fill(table("keys-table"), [["Key", (k) => k.id], ["Name", (k) => k.name ?? ""], ["Team", (k) => k.team ?? ""], ["App", (k) => k.app ?? ""], ["State", state],
    ["Calls", (k) => String(spent.get(k.id)?.calls ?? 0), true], ["Cost (USD)", (k) => usd(spent.get(k.id)?.cost), true]], governance.keys ?? [], (k) => k.id);
  fill(table("budgets-table"), [["Scope", (b) => b.budget.scope], ["Subject", (b) => b.subject], ["Period", (b) => b.budget.period], ["Limit (USD)", (b) => usd(b.budget.limit), true],
    ["Spent", (b) => usd(b.spent), true], ["Reserved", (b) => usd(b.reserved), true], ["Remaining", (b) => usd(b.remaining), true], ["Resets", (b) => b.resetsAt ?? "never"]],
    governance.budgets ?? [], (b) => `${b.budget.scope}/${b.subject}/${b.budget.period}`);
}

const draw = () => Promise.all([drawSpend(), drawTraffic(), drawExperiments(), drawGovernance()]);
document.getElementById("spend-group").addEventListener("change", () => drawSpend().catch(console.error));
document.getElementById("range").addEventListener("change", () => {
  delete document.body.dataset.ready;
  draw().then(() => { document.body.dataset.ready = "true"; }, console.error);
});
draw().then(() => { document.body.dataset.ready = "true"; performance.mark("llm-dashboard-ready"); }, console.error);
