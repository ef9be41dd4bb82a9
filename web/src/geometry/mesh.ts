// The wizard's mesh step: the server suggests the mesh parameters for a target cell count
// (`POST /api/geometries/{id}/mesh-suggestion`, by the mesh AI or its rules) and says why;
// a field the user changes overrides the suggestion until "use the suggestion" resets it.
import { $, api, fmt, groupDigits, input, showError } from "../api";
import { check } from "./checks";
import { current, targetCells, type Suggestion, type Wizard } from "./setup";
import { buildSpec } from "./spec";
import { data } from "./state";

/** The parameter fields: element id and the override's key. */
const fields: [string, string][] = [
  ["p-base", "base_cell_size"], ["p-lmin", "level_min"], ["p-lmax", "level_max"], ["p-feat", "feature_level"],
  ["p-layers", "layers"], ["p-exp", "expansion_ratio"], ["p-first", "first_layer_thickness"], ["p-yplus", "target_yplus"],
];

export function wireMesh(w: Wizard): void {
  const { overrides, slider } = w;
  for (const [id, key] of fields) {
    input(id).addEventListener("change", () => {
      const v = input(id).value.trim();
      if (v === "") overrides.delete(key);
      else overrides.set(key, Number(v));
      markOverrides(w);
      if (check(w, "mesh")) changed(w);
    });
  }
  input("p-wake").addEventListener("change", () => {
    overrides.set("wake_box", input("p-wake").checked);
    markOverrides(w);
    changed(w);
  });
  let timer = 0;
  slider.addEventListener("input", () => {
    $("target-out").textContent = groupDigits(targetCells(w));
    clearTimeout(timer);
    timer = window.setTimeout(() => suggest(w), 250);
  });
  $("target-out").textContent = groupDigits(targetCells(w));
}

/** Something the suggestion depends on changed: suggest again when the mesh step shows. */
export function changed(w: Wizard): void {
  if (current(w) === "mesh") suggest(w);
}

/** Marks the rows the user overrode, each with a button back to the suggestion. */
function markOverrides(w: Wizard): void {
  const { overrides } = w;
  for (const [id] of [...fields, ["p-wake", "wake_box"] as [string, string]]) {
    const row = input(id).closest("tr")!;
    const keys = [...row.querySelectorAll<HTMLInputElement>("input")].map((i) => fields.find((f) => f[0] === i.id)?.[1] ?? "wake_box");
    const over = keys.some((k) => overrides.has(k));
    row.classList.toggle("overridden", over);
    let reset = row.querySelector<HTMLButtonElement>("button.reset");
    if (over && !reset) {
      reset = document.createElement("button");
      reset.type = "button";
      reset.className = "reset link";
      reset.textContent = "use the suggestion";
      reset.addEventListener("click", () => {
        for (const k of keys) overrides.delete(k);
        markOverrides(w);
        changed(w);
        suggest(w);
      });
      row.cells[1].appendChild(reset);
    } else if (!over && reset) reset.remove();
  }
}

export async function suggest(w: Wizard): Promise<void> {
  if (!check(w, "bc", true) || !check(w, "solver", true) || !check(w, "mesh", true)) {
    $("mesh-source").textContent = "Fix the highlighted set-up problems to get a suggestion.";
    return;
  }
  const body = { target_cells: targetCells(w), spec: buildSpec(w, false) };
  const key = JSON.stringify(body);
  if (key === w.suggestionKey && w.suggestion) return;
  w.suggestionKey = key;
  $("mesh-source").textContent = "Suggesting…";
  w.form.classList.add("busy");
  try {
    const s = await api<Suggestion>("POST", `/api/geometries/${data.geometry_id}/mesh-suggestion`, body, w.csrf);
    if (key !== w.suggestionKey) return; // a newer request is on its way
    w.suggestion = s;
    fillMesh(w, s);
    showError($("err-mesh"), null);
  } catch (e) {
    w.suggestionKey = "";
    $("mesh-source").textContent = "No suggestion.";
    showError($("err-mesh"), (e as Error).message);
  } finally {
    w.form.classList.remove("busy");
  }
}

/** Shows a suggestion: its values in the fields not overridden, and why it chose them. */
function fillMesh(w: Wizard, s: Suggestion): void {
  const src = $("mesh-source");
  src.textContent = "";
  const b = document.createElement("strong");
  b.textContent = s.source === "ai" ? "Suggested by the mesh AI." : "Suggested by the rules.";
  src.append(b, " ", s.source === "rules" && s.reason ? `(${s.reason})` : "");
  const set = (id: string, key: string, v: number) => {
    if (!w.overrides.has(key)) input(id).value = String(Number(v.toPrecision(4)));
  };
  set("p-base", "base_cell_size", s.base_cell_size);
  set("p-lmin", "level_min", s.surface_refinement[0]);
  set("p-lmax", "level_max", s.surface_refinement[1]);
  set("p-feat", "feature_level", s.feature_level);
  set("p-layers", "layers", s.layers.count);
  set("p-exp", "expansion_ratio", s.layers.expansion_ratio);
  set("p-first", "first_layer_thickness", s.layers.first_layer_thickness);
  set("p-yplus", "target_yplus", s.layers.target_yplus);
  if (!w.overrides.has("wake_box")) input("p-wake").checked = s.wake_box;
  const why = (param: string, text: string | undefined) => {
    const cell = w.form.querySelector(`tr[data-param=${param}] .why`);
    if (cell) cell.textContent = text ?? "";
  };
  why("base_cell_size", s.why.base_cell_size);
  why("surface_level", s.why.surface_level ?? "as set above");
  why("feature_level", s.why.feature_level);
  why("wake_box", s.wake_box ? s.why.wake_box : "off: no automatic wake refinement");
  why("layers", s.why.layers_open_surface ?? (s.layers.count ? `${s.layers.count} layers bridge the gap from the first layer to the surface cells` : "no layers (laminar or turned off)"));
  why("expansion", "each layer this much thicker than the one below it");
  why("first_layer", `gives y+ ≈ ${fmt(s.layers.estimated_yplus, 3)} at the wall (flat-plate estimate); ${s.why.layers ?? ""}`);
  why("yplus", "30–300 suits k-ω SST's wall functions; about 1 resolves the viscous sublayer (needs many more cells)");
  const box = s.refinement_boxes[0];
  $("predicted").textContent =
    `Predicted: about ${groupDigits(s.predicted_cells)} cells for a target of ${groupDigits(targetCells(w))}.` +
    (box ? ` Wake box: level ${box.level}, from (${box.min.map((x) => fmt(x, 3)).join(", ")}) to (${box.max.map((x) => fmt(x, 3)).join(", ")}) m.` : "");
  fillGroupLevels(w, s);
}

/** The per-group refinement levels, each row editable (an edit overrides that group). */
function fillGroupLevels(w: Wizard, s: Suggestion): void {
  const { groupOverrides } = w;
  const tbody = w.form.querySelector("#group-levels tbody")!;
  tbody.textContent = "";
  for (const [name, lv] of Object.entries(s.group_levels)) {
    const tr = document.createElement("tr");
    const cur = groupOverrides.get(name) ?? lv;
    const td = (t: string) => {
      const c = document.createElement("td");
      c.textContent = t;
      return c;
    };
    tr.append(td(name));
    for (const i of [0, 1]) {
      const c = document.createElement("td");
      const inp = document.createElement("input");
      inp.type = "number";
      inp.min = "0";
      inp.max = "10";
      inp.step = "1";
      inp.value = String(cur[i]);
      inp.setAttribute("aria-label", `${name} ${i ? "maximum" : "minimum"} level`);
      inp.addEventListener("change", () => {
        const row = [...tr.querySelectorAll("input")].map((x) => Number(x.value));
        if (row.every((x) => Number.isInteger(x) && x >= 0 && x <= 10) && row[0] <= row[1]) {
          groupOverrides.set(name, [row[0], row[1]]);
          tr.classList.add("overridden");
          showError($("err-mesh"), null);
          changed(w);
        } else showError($("err-mesh"), `The levels of ${name} must be whole numbers 0–10 with min ≤ max.`);
      });
      c.append(inp);
      tr.append(c);
    }
    if (groupOverrides.has(name)) tr.classList.add("overridden");
    tbody.append(tr);
  }
}
