// The dashboard: reads the gateway's JSON under the page's base (api/...) and draws it, plain DOM and SVG.
"use strict";
const api = (path) => fetch(new URL("api/" + path, document.baseURI), { credentials: "same-origin" })
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.status + " " + r.statusText))));
const usd = (value) => value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 6 });
const cell = (text, number) => { const td = document.createElement("td"); td.textContent = text; if (number) td.className = "number"; return td; };

async function drawSpend() {
  const groupBy = document.getElementById("spend-group").value;
  const spend = await api("spend?groupBy=" + encodeURIComponent(groupBy));
  const body = document.querySelector("[data-testid=spend-table] tbody");
  body.replaceChildren(...spend.rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.group = row.group;
    tr.append(cell(row.group), cell(String(row.calls), true), cell(usd(row.cost), true));
    return tr;
  }));
  const chart = document.getElementById("spend-chart");
  const most = Math.max(...spend.rows.map((r) => r.cost), 0) || 1;
  const svg = "http://www.w3.org/2000/svg";
  chart.setAttribute("height", String(spend.rows.length * 22 + 4));
  chart.replaceChildren(...spend.rows.flatMap((row, i) => {
    const bar = document.createElementNS(svg, "rect");
    Object.entries({ x: "240", y: String(i * 22 + 2), height: "18", width: String(Math.max(2, (row.cost / most) * 400)) }).forEach(([k, v]) => bar.setAttribute(k, v));
    const label = document.createElementNS(svg, "text");
    Object.entries({ x: "0", y: String(i * 22 + 15) }).forEach(([k, v]) => label.setAttribute(k, v));
    label.textContent = row.group;
    return [bar, label];
  }));
}

async function drawExperiments() {
  const experiments = await api("experiments");
  const host = document.getElementById("experiment-reports");
  if (experiments.length === 0) {
    host.textContent = "No experiments.";
    return;
  }
  host.replaceChildren(...experiments.flatMap((experiment) => [
    Object.assign(document.createElement("h3"), { textContent: `${experiment.name} (${experiment.running ? "running" : "stopped"})` }),
    ...experiment.report.tasks.map((task) => {
      const table = document.createElement("table");
      table.dataset.experiment = experiment.name;
      table.dataset.task = task.task ?? "";
      table.innerHTML = "<caption></caption><thead><tr><th>Arm</th><th class=number>Calls</th><th class=number>Errors</th>"
        + "<th class=number>USD / 1,000 calls</th><th class=number>p50 ms</th><th class=number>p95 ms</th><th class=number>Score</th><th class=number>95 % interval</th></tr></thead><tbody></tbody>";
      table.querySelector("caption").textContent = `Task: ${task.task ?? "(none)"} — ${task.reason}`;
      table.querySelector("tbody").append(...task.arms.map((arm) => {
        const tr = document.createElement("tr");
        tr.dataset.arm = arm.arm;
        if (arm.arm === task.recommended) tr.className = "recommended";
        tr.append(cell(arm.arm), cell(String(arm.calls), true), cell((arm.errorRate * 100).toFixed(1) + " %", true), cell(usd(arm.costPer1000Calls), true),
          cell(arm.latencyP50Ms.toFixed(0), true), cell(arm.latencyP95Ms.toFixed(0), true), cell(arm.meanScore == null ? "–" : arm.meanScore.toFixed(2), true),
          cell(arm.scoreLow == null ? "–" : `${arm.scoreLow.toFixed(2)}–${arm.scoreHigh.toFixed(2)}`, true));
        return tr;
      }));
      return table;
    }),
  ]));
}

document.getElementById("spend-group").addEventListener("change", () => drawSpend().catch(console.error));
Promise.all([drawSpend(), drawExperiments()]).then(() => { document.body.dataset.ready = "true"; }, console.error);
