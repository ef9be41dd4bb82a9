// How a result's field looks on screen: the colormaps (as lookup tables the viewer colours
// vertices from), the legend drawn under the view, and the units a field is labelled with.
import { fmt } from "../api";
import maps from "./colormaps.json";

// Colormaps as evenly spaced RGB stops, shared with the server's report rasterizer
// (src/report/colormap.rs reads the same file).
const MAPS: Record<string, number[][]> = maps;

/** A colormap as 256 RGB triples (unknown names fall back to viridis). */
export function lut(name: string): Float32Array {
  const stops = MAPS[name] ?? MAPS.viridis;
  const out = new Float32Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const a = Math.min(Math.floor(t), stops.length - 2), f = t - a;
    for (let k = 0; k < 3; k++) out[3 * i + k] = stops[a][k] + f * (stops[a + 1][k] - stops[a][k]);
  }
  return out;
}

/** Units of OpenFOAM's incompressible fields (p is kinematic: pressure / density). */
export function unitOf(field: string): string {
  const base = field.split(":")[0];
  if (field === "Q") return "1/s²";
  if (field.endsWith(":mag") || field.includes(":")) {
    if (base === "U") return "m/s";
    if (base === "wallShearStress") return "m²/s²";
  }
  return ({ p: "m²/s²", U: "m/s", k: "m²/s²", omega: "1/s", nut: "m²/s", epsilon: "m²/s³", yPlus: "–", wallShearStress: "m²/s²", nuTilda: "m²/s" } as Record<string, string>)[base] ?? "";
}

/** Draws the legend: the colormap, the range in the field's units. */
export function drawLegend(canvas: HTMLCanvasElement, colours: Float32Array, [lo, hi]: [number, number], label: string): void {
  const ctx = canvas.getContext("2d")!;
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const barH = 14;
  for (let x = 0; x < w; x++) {
    const j = 3 * Math.round((x / (w - 1)) * 255);
    ctx.fillStyle = `rgb(${255 * colours[j]},${255 * colours[j + 1]},${255 * colours[j + 2]})`;
    ctx.fillRect(x, 0, 1, barH);
  }
  ctx.fillStyle = "#222";
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "top";
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const t = fmt(v, 3);
    const x = (i / 4) * (w - 1);
    ctx.fillRect(x, barH, 1, 4);
    ctx.textAlign = i === 0 ? "left" : i === 4 ? "right" : "center";
    ctx.fillText(t, x, barH + 5);
  }
  const unit = unitOf(label);
  canvas.setAttribute("aria-label", `${label} from ${fmt(lo, 3)} to ${fmt(hi, 3)} ${unit}`);
  canvas.title = `${label} [${unit}]`;
}
