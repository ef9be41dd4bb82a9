// The geometry page's data (the JSON the server embeds in the page) and the selection of
// surface groups, which the 3D view, the legend and the boundary table share: a change in
// any of them shows in all three.
import { $, groupColor } from "../api";
import type { Viewer } from "../viewer";

/** `name` is the group in the case; `label` the user's name for it (they differ when the
 * server renamed a group called like a tunnel patch, e.g. `bottom` → `body_bottom`). */
interface Group { name: string; label?: string; area: number; triangles: number }
export interface Setup {
  project_id: string;
  geometry_id: string;
  name: string;
  groups: Group[];
  analysis: { bbox_min: number[]; bbox_max: number[]; characteristic_length: number } | null;
  watertight: boolean;
  targets: { name: string; max_cores: number }[];
  /** The limits of the plan that bills the project (null: no limit). */
  plan?: { name: string; title: string; max_cores_per_job: number | null; max_cells: number | null; concurrent_jobs: number | null; remaining_core_hours: number | null; has_overage: boolean };
}

export const data: Setup = JSON.parse($("setup-data").textContent ?? "{}");
export const colors = data.groups.map((_, i) => groupColor(i));

/** The 3D view, once the surface has loaded (null without WebGL or before). */
export let viewer: Viewer | null = null;
export function setViewer(v: Viewer): void {
  viewer = v;
}

export const selected = new Set<number>();
/** Called after every selection change (the table's "all" box follows it). */
export const listeners: ((sel: number[]) => void)[] = [];

export function setSelection(sel: number[], from: "viewer" | "table" | "legend"): void {
  selected.clear();
  for (const g of sel) selected.add(g);
  if (from !== "viewer") viewer?.setSelection(sel);
  for (const el of document.querySelectorAll<HTMLElement>("[data-group-index]")) {
    const on = selected.has(Number(el.dataset.groupIndex));
    el.classList.toggle("selected", on);
    el.querySelector(".legend-item")?.setAttribute("aria-pressed", String(on));
  }
  for (const cb of document.querySelectorAll<HTMLInputElement>("#bc-table input[name=sel]")) {
    const row = cb.closest<HTMLElement>("tr")!;
    cb.checked = selected.has(Number(row.dataset.groupIndex));
  }
  listeners.forEach((f) => f(sel));
}
