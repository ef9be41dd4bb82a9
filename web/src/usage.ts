// The usage page's chart: core-hours per UTC day of the plan period (uPlot bars), from
// the report the server embeds in the page (#usage-data).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { $, fmt } from "./api";

interface Day { date: string; core_hours: number }
interface Data { daily: Day[]; included: number | null; used: number }

const el = $("usage-chart");
const d: Data = JSON.parse($("usage-data").textContent ?? "{}");
const days = d.daily ?? [];
const x = days.map((r) => Date.parse(`${r.date}T00:00:00Z`) / 1000);
const y = days.map((r) => r.core_hours);
const size = () => ({ width: Math.max(el.clientWidth, 200), height: 240 });
const bars = uPlot.paths.bars!({ size: [0.8, 40], align: 1 });
const opts: uPlot.Options = {
  ...size(),
  tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
  scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 0.01) * 1.1] } },
  axes: [{}, { label: "core-hours", size: 70, values: (_u, vals) => vals.map((v) => (v == null ? "" : fmt(v, 3))) }],
  series: [
    { label: "day (UTC)", value: (_u, v) => (v == null ? "" : new Date(v * 1000).toISOString().slice(0, 10)) },
    { label: "core-hours", stroke: "#1f77b4", fill: "rgba(31,119,180,0.35)", paths: bars, points: { show: false }, value: (_u, v) => (v == null ? "" : `${fmt(v, 3)} core-hours`) },
  ],
  legend: { live: true },
};
el.querySelector(".empty")?.remove();
const plot = new uPlot(opts, [x, y], el);
new ResizeObserver(() => plot.setSize(size())).observe(el);
// The chart's extent, for tests and tooling.
el.dataset.points = String(days.length);
el.dataset.total = String(y.reduce((a, b) => a + b, 0));
el.dataset.days = String(y.filter((v) => v > 0).length);
