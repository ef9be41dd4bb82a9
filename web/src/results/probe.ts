// Probing the result: a click in the view reads the colour field at the point hit; after
// "Line plot", two clicks give the ends of a line along which the field is plotted (uPlot).
import type { Vector3 } from "three";
import uPlot from "uplot";
import { $, fmt, problem } from "../api";
import { unitOf } from "./colormap";
import { q, type Page } from "./state";

export function probeControls(p: Page): void {
  let lineEnds: Vector3[] | null = null;
  const out = $("rv-probe");
  $("rv-line").addEventListener("click", () => {
    lineEnds = [];
    out.textContent = "Line plot: click the start of the line, then its end.";
  });
  p.viewer.onPick = async (pt) => {
    p.viewer.showMarker(pt);
    if (lineEnds) {
      lineEnds.push(pt.clone());
      if (lineEnds.length < 2) {
        out.textContent = "Line plot: now click the end of the line.";
        return;
      }
      const [a, b] = lineEnds;
      lineEnds = null;
      try {
        await linePlot(p, out, a, b);
      } catch (e) {
        out.textContent = `Line plot failed: ${(e as Error).message}`;
      }
      return;
    }
    out.textContent = "probing…";
    try {
      const { values } = await probe(p, { field: p.colorBy.value, points: [pt.x, pt.y, pt.z].join(",") });
      const v = values[0];
      out.textContent = v === null ? `(${fmt(pt.x, 4)}, ${fmt(pt.y, 4)}, ${fmt(pt.z, 4)}) m is outside the mesh`
        : `${p.colorBy.value} = ${fmt(v, 5)} ${unitOf(p.colorBy.value)} at (${fmt(pt.x, 4)}, ${fmt(pt.y, 4)}, ${fmt(pt.z, 4)}) m`;
      p.root.dataset.probe = v === null ? "" : String(v);
    } catch (e) {
      out.textContent = `Probe failed: ${(e as Error).message}`;
    }
  };
}

/** The field's values at points, null where a point is outside the mesh. */
async function probe(p: Page, params: Record<string, string | number>): Promise<{ values: (number | null)[] }> {
  const r = await fetch(`${p.base}/probe?${q(params)}`, { credentials: "same-origin" });
  if (!r.ok) throw new Error(await problem(r));
  return r.json();
}

async function linePlot(p: Page, out: HTMLElement, a: Vector3, b: Vector3): Promise<void> {
  const field = p.colorBy.value;
  const n = 200;
  const j = await probe(p, { field, line: `${a.x},${a.y},${a.z}:${b.x},${b.y},${b.z}`, n });
  const len = a.distanceTo(b);
  const xs: number[] = j.values.map((_: unknown, i: number) => (len * i) / (n - 1));
  const ys: (number | null)[] = j.values.map((v: number | null) => v);
  const el = $("rv-plot");
  el.hidden = false;
  el.innerHTML = "";
  new uPlot({
    width: Math.max(el.clientWidth, 300), height: 220, scales: { x: { time: false } },
    axes: [{ label: "distance along the line [m]" }, { label: `${field} [${unitOf(field)}]` }],
    series: [{}, { label: field, stroke: "#1f77b4", width: 2 }],
  }, [xs, ys], el);
  const inside = ys.filter((v) => v !== null).length;
  out.textContent = `Line plot of ${field} over ${fmt(len, 4)} m (${inside} of ${n} points inside the mesh)`;
  p.root.dataset.linePoints = String(inside);
}
