// The live job page: residual and force-coefficient plots (uPlot), the current step,
// iteration and elapsed time, and a log tail, all kept current over the job's WebSocket.
// After a dropped connection it reconnects with `?after=<last iteration>`, and the
// server's snapshot fills the gap, so every iteration is plotted once.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { $, duration, fmt } from "./api";
import { reportButton } from "./report";

// A transient run's samples are time steps: `time` (s) and `dt` (s) are set, and the key
// `iteration` is the simulated time in microseconds.
interface Sample { iteration: number; residuals: Record<string, number>; forces?: Record<string, number>; time?: number; dt?: number }
interface JobJson { status: string; step: string | null; iteration: number | null; started_at: number | null; completed_at: number | null; error: string | null }

const root = $("live");
const id = root.dataset.job!;
const meshOnly = root.dataset.meshOnly === "true";
const maxIter = Number(root.dataset.iterations ?? 0);
// A transient run's simulated end time (s): its progress is in time.
const endTime = Number(root.dataset.endTime ?? 0);
let status = root.dataset.status!;
let started = Number(root.dataset.started) || 0;
let completed = Number(root.dataset.completed) || 0;
const TERMINAL = ["completed", "failed", "cancelled"];

const FIELD_COLORS: Record<string, string> = {
  "Δt": "#000000", p: "#1f77b4", Ux: "#d62728", Uy: "#2ca02c", Uz: "#9467bd", k: "#ff7f0e", omega: "#8c564b", epsilon: "#e377c2", nuTilda: "#7f7f7f",
};
const FORCE_COLORS: Record<string, string> = { Cd: "#d62728", Cl: "#1f77b4", Cs: "#2ca02c" };

// ------------------------------------------------------------------ plots
class Plot {
  private plot: uPlot | null = null;
  private names: string[] = [];
  private x: number[] = [];
  private cols = new Map<string, (number | null)[]>();
  /** The x axis: iterations, or simulated time for a transient run. */
  xLabel = "iteration";
  constructor(private el: HTMLElement, private log: boolean, private palette: Record<string, string>, private yLabel: string) {
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(el);
  }
  private size() {
    return { width: Math.max(this.el.clientWidth, 200), height: 260 };
  }
  add(rows: { x: number; values: Record<string, number> }[]): void {
    let rebuild = false;
    for (const r of rows) {
      for (const k of Object.keys(r.values)) {
        if (!this.cols.has(k)) {
          this.cols.set(k, new Array(this.x.length).fill(null));
          this.names.push(k);
          rebuild = true;
        }
      }
      this.x.push(r.x);
      for (const k of this.names) {
        const v = r.values[k];
        this.cols.get(k)!.push(v === undefined || (this.log && v <= 0) ? null : v);
      }
    }
    if (!this.names.length) return;
    const data = [this.x, ...this.names.map((n) => this.cols.get(n)!)] as uPlot.AlignedData;
    if (rebuild || !this.plot) this.build(data);
    else this.plot.setData(data);
  }
  get points(): number {
    return this.x.length;
  }
  private build(data: uPlot.AlignedData): void {
    this.plot?.destroy();
    this.el.querySelector(".empty")?.remove();
    const opts: uPlot.Options = {
      ...this.size(),
      // The time step of a transient run (series "Δt") has its own log scale, on the right.
      scales: { x: { time: false }, y: this.log ? { distr: 3 } : { auto: true }, dt: { distr: 3 } },
      axes: [
        { label: this.xLabel },
        { label: this.yLabel, size: 70, values: (_u, vals) => vals.map((v) => (v == null ? "" : this.log ? v.toExponential(0) : fmt(v, 3))) },
        ...(this.names.includes("Δt") ? [{ scale: "dt", side: 1, label: "time step (s)", size: 70, grid: { show: false }, values: (_u: uPlot, vals: number[]) => vals.map((v) => (v == null ? "" : v.toExponential(0))) }] : []),
      ],
      series: [
        { label: this.xLabel },
        ...this.names.map((n) => ({ label: n === "omega" ? "ω" : n, stroke: this.palette[n] ?? "#444", width: 1.5, spanGaps: true, ...(n === "Δt" ? { scale: "dt", dash: [4, 3] } : {}) })),
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    };
    this.plot = new uPlot(opts, data, this.el);
    this.el.dataset.points = String(this.x.length);
    this.el.dataset.x = this.xLabel;
  }
  /** Exposes the plotted history's size and last iteration (for tests and tooling). */
  mark(): void {
    this.el.dataset.points = String(this.x.length);
    this.el.dataset.last = String(this.x[this.x.length - 1] ?? 0);
  }
}

const residualPlot = meshOnly ? null : new Plot($("plot-residuals"), true, FIELD_COLORS, "initial residual");
const forcePlot = meshOnly ? null : new Plot($("plot-forces"), false, FORCE_COLORS, "coefficient");
let last = 0;
let transientRun = false;

function addSamples(samples: Sample[]): void {
  const fresh = samples.filter((s) => s.iteration > last).sort((a, b) => a.iteration - b.iteration);
  if (!fresh.length) return;
  last = fresh[fresh.length - 1].iteration;
  // Transient: plotted against simulated time, with the time step on the residual plot.
  const transient = fresh.some((s) => s.time !== undefined);
  transientRun ||= transient;
  if (transient) for (const p of [residualPlot, forcePlot]) if (p) p.xLabel = "time (s)";
  const xOf = (s: Sample) => s.time ?? s.iteration;
  const withDt = (s: Sample) => (s.dt !== undefined ? { ...s.residuals, "Δt": s.dt } : s.residuals);
  residualPlot?.add(fresh.map((s) => ({ x: xOf(s), values: withDt(s) })));
  const withForces = fresh.filter((s) => s.forces && Object.keys(s.forces).length);
  if (withForces.length) forcePlot?.add(withForces.map((s) => ({ x: xOf(s), values: s.forces! })));
  residualPlot?.mark();
  forcePlot?.mark();
  const lastSample = fresh[fresh.length - 1];
  if (lastSample.time !== undefined) setTime(lastSample.time);
  else setIteration(last);
}

function setTime(t: number): void {
  const el = document.getElementById("live-iter");
  if (el) el.textContent = fmt(t, 4);
  const bar = document.getElementById("live-progress") as HTMLProgressElement | null;
  if (bar && endTime > 0) bar.value = Math.min(t, endTime);
}

function setIteration(n: number): void {
  const el = document.getElementById("live-iter");
  if (el) el.textContent = String(n);
  const bar = document.getElementById("live-progress") as HTMLProgressElement | null;
  if (bar) bar.value = Math.min(n, maxIter);
}

// ------------------------------------------------------------------ status
function setStatus(s: string, step?: string | null): void {
  if (s !== status) {
    status = s;
    const badge = $("job-status");
    badge.textContent = s;
    badge.className = `status job-${s}`;
    root.dataset.status = s;
  }
  const label: Record<string, string> = { queued: "queued: waiting for a worker", preparing: "preparing the case", completed: "completed", failed: "failed", cancelled: "cancelled" };
  $("live-step").textContent = step && !TERMINAL.includes(s) ? `${s}: ${step}` : label[s] ?? s;
}

function tick(): void {
  const end = completed || Date.now();
  $("live-elapsed").textContent = started ? duration((end - started) / 1000) : "not started";
}
setInterval(tick, 1000);
tick();

// ------------------------------------------------------------------ socket
let retry = 500;
let socket: WebSocket | null = null;
function conn(text: string): void {
  $("live-conn").textContent = text;
  root.dataset.connection = text;
}

function connect(): void {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/jobs/${id}/ws?after=${last}`);
  socket = ws;
  conn("connecting…");
  ws.onopen = () => {
    retry = 500;
    conn("live");
    // Events may have been missed while there was no socket.
    refreshLog();
  };
  ws.onmessage = (m) => {
    let v: any;
    try {
      v = JSON.parse(m.data);
    } catch {
      return;
    }
    switch (v.type) {
      case "snapshot": {
        const j: JobJson = v.job;
        started = j.started_at ?? started;
        completed = j.completed_at ?? completed;
        setStatus(j.status, j.step);
        addSamples(v.samples ?? []);
        if (TERMINAL.includes(j.status)) finished(j.status);
        break;
      }
      case "sample":
        addSamples([v]);
        break;
      case "residuals":
        // A transient run's key is its time in µs, not a count: its samples say the time.
        if (v.iteration > last && !transientRun) setIteration(v.iteration - 1);
        break;
      case "step":
        setStatus(status, v.step);
        if (!started) started = Date.now();
        break;
      case "log":
        appendLog(v.offset, v.end, v.text);
        break;
      case "status":
        if (!started && v.status !== "queued") started = Date.now();
        setStatus(v.status, null);
        if (TERMINAL.includes(v.status)) finished(v.status);
        break;
    }
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    if (TERMINAL.includes(status)) {
      conn("closed (the job has ended)");
      return;
    }
    conn(`reconnecting in ${Math.round(retry / 1000) || 1} s…`);
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10_000);
  };
}

let reloading = false;
function finished(s: string): void {
  if (reloading) return;
  completed = completed || Date.now();
  tick();
  refreshLog();
  // The page itself shows the results, mesh quality and downloads of an ended job.
  if (root.dataset.terminal !== "true") {
    reloading = true;
    setTimeout(() => location.reload(), s === "completed" ? 800 : 300);
  }
}

// ------------------------------------------------------------------ log tail
// The tail is fetched once (with the log's length in bytes, x-log-end), then kept current
// by the socket's `log` events, each the bytes offset..end of the log: what the fetch
// already had is skipped. Without a socket the tail is fetched again every 2 s.
const details = $("log-details") as HTMLDetailsElement;
const tail = $("log-tail");
const TAIL_LINES = 120;
let logText = "";
let logEnd = 0;
let logBusy = false;
// Events that arrive while a fetch is on its way wait for it, then add what it lacked.
let waiting: [number, number, string][] | null = null;
function showLog(): void {
  const lines = logText.split("\n");
  if (lines.length > TAIL_LINES) logText = lines.slice(-TAIL_LINES).join("\n");
  const atBottom = tail.scrollTop + tail.clientHeight >= tail.scrollHeight - 8;
  tail.textContent = logText || "No output yet.";
  if (atBottom) tail.scrollTop = tail.scrollHeight;
}
function appendLog(offset: number, end: number, text: string): void {
  if (waiting) {
    waiting.push([offset, end, text]);
    return;
  }
  if (end <= logEnd) return;
  if (offset < logEnd) {
    const bytes = new TextEncoder().encode(text);
    text = new TextDecoder().decode(bytes.subarray(logEnd - offset));
  }
  logText += text;
  logEnd = end;
  if (details.open) showLog();
}
async function refreshLog(): Promise<void> {
  if (!details.open || logBusy) return;
  logBusy = true;
  waiting = [];
  let fetched = false;
  try {
    const r = await fetch(`/api/jobs/${id}/log?tail=12000`, { credentials: "same-origin" });
    if (r.ok) {
      logText = await r.text();
      logEnd = Number(r.headers.get("x-log-end") ?? 0);
      fetched = true;
    }
  } catch {
    // The server is unreachable (the connection line says so); the next poll or the
    // reconnected socket brings the log back.
  } finally {
    const late = waiting ?? [];
    waiting = null;
    logBusy = false;
    for (const [o, e, t] of late) appendLog(o, e, t);
    if (fetched) showLog();
  }
}
details.addEventListener("toggle", () => refreshLog());
setInterval(() => {
  if (!TERMINAL.includes(status) && socket === null) refreshLog();
}, 2000);

// ------------------------------------------------------------------ start
reportButton();
if (root.dataset.terminal === "true") {
  // An ended job: plot its whole history once (no socket needed).
  conn("not needed (the job has ended)");
  setStatus(status, null);
  if (!meshOnly) {
    fetch(`/api/jobs/${id}/samples`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : []))
      .then((s: Sample[]) => addSamples(s));
  }
} else {
  connect();
}
