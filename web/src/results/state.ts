// What the results page's controls share: the result's index (its time, fields, bounds and
// patches), the viewer, the field choices, and the status line every load reports to.
import { $, groupDigits, problem } from "../api";
import { unitOf } from "./colormap";
import { ResultsViewer } from "./view";

export interface Index { time: string; cells: number; bounds: [number[], number[]]; fields: { name: string; vector: boolean }[]; patches: { name: string; type: string; faces: number }[] }

export interface Page {
  root: HTMLElement;
  job: string;
  /** The prefix of the result's post-processing API. */
  base: string;
  index: Index;
  viewer: ResultsViewer;
  bar: HTMLProgressElement;
  /** The field everything is coloured by. */
  colorBy: HTMLSelectElement;
  isoField: HTMLSelectElement;
  setStatus(text: string, busy?: boolean): void;
  drawLegend(): void;
}

export const sel = (id: string) => $(id) as HTMLSelectElement;

/** A query string from plain values. */
export const q = (o: Record<string, string | number>) => new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString();

/**
 * Reads the result's index and builds the page's state around it; null where the page has
 * no results viewer, or where the result cannot be shown (the status line says why).
 */
export async function openPage(): Promise<Page | null> {
  const root = document.getElementById("results-viewer");
  if (!root) return null;
  const job = root.dataset.job!;
  const base = `/api/jobs/${job}/post`;
  const status = $("rv-status");
  const bar = $("rv-progress") as HTMLProgressElement;
  const setStatus = (t: string, busy = false) => {
    status.textContent = t;
    root.dataset.state = busy ? "loading" : "ready";
  };
  let index: Index;
  try {
    const r = await fetch(base, { credentials: "same-origin" });
    if (!r.ok) throw new Error(await problem(r));
    index = await r.json();
  } catch (e) {
    setStatus(`The result cannot be shown: ${(e as Error).message}`);
    root.dataset.state = "error";
    return null;
  }
  const viewer = new ResultsViewer($("rv-canvas"), index.bounds);
  // For tooling (web/e2e): the viewer behind the page.
  (window as unknown as { resultsViewer: ResultsViewer }).resultsViewer = viewer;
  const colorBy = sel("rv-color");
  const isoField = sel("rv-iso-field");
  fillFields(index, colorBy, isoField);
  $("rv-meta").textContent = `time ${index.time}, ${groupDigits(index.cells)} cells`;
  const legend = $("rv-legend") as HTMLCanvasElement;
  const drawLegend = () => viewer.legend(legend, colorBy.value);
  return { root, job, base, index, viewer, bar, colorBy, isoField, setStatus, drawLegend };
}

/** The field choices (vectors by magnitude and component, Q where U is) and their defaults. */
function fillFields(index: Index, colorBy: HTMLSelectElement, isoField: HTMLSelectElement): void {
  for (const f of index.fields) {
    const opts = f.vector ? [`${f.name}:mag`, `${f.name}:x`, `${f.name}:y`, `${f.name}:z`] : [f.name];
    for (const o of opts) {
      colorBy.add(new Option(`${o} [${unitOf(o)}]`, o));
      isoField.add(new Option(o, o));
    }
  }
  if (index.fields.some((f) => f.name === "U" && f.vector)) {
    isoField.add(new Option("Q (Q-criterion)", "Q"));
    colorBy.add(new Option("Q [1/s²]", "Q"));
  }
  colorBy.value = index.fields.some((f) => f.name === "p") ? "p" : colorBy.options[0]?.value ?? "";
  isoField.value = index.fields.some((f) => f.name === "U") ? "Q" : isoField.options[0]?.value ?? "";
}
