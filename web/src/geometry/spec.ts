// The case spec the wizard submits: the same JSON as `POST /api/projects/{id}/cases`, built
// from the form. Mesh parameters go in only where the user overrode the suggestion; the
// server chooses the rest.
import { $, input } from "../api";
import { targetCells, velocity, type Wizard } from "./setup";
import { turbulenceFields } from "./solver";
import { data } from "./state";

function meshSpec(w: Wizard): Record<string, unknown> {
  const m: Record<string, unknown> = { target_cells: targetCells(w) };
  const o = (k: string) => w.overrides.get(k);
  if (o("base_cell_size") !== undefined) m.base_cell_size = o("base_cell_size");
  if (o("level_min") !== undefined || o("level_max") !== undefined) {
    const lo = Number(o("level_min") ?? w.suggestion?.surface_refinement[0] ?? 1);
    const hi = Number(o("level_max") ?? w.suggestion?.surface_refinement[1] ?? lo + 1);
    m.surface_level = [lo, Math.max(lo, hi)];
  }
  if (o("feature_level") !== undefined) m.feature_level = o("feature_level");
  if (o("wake_box") === false) m.wake_box = false;
  if (w.groupOverrides.size) m.group_levels = Object.fromEntries(w.groupOverrides);
  const layers: Record<string, unknown> = {};
  if (o("layers") !== undefined) layers.count = o("layers");
  if (o("expansion_ratio") !== undefined) layers.expansion_ratio = o("expansion_ratio");
  if (o("first_layer_thickness") !== undefined) layers.first_layer_thickness = o("first_layer_thickness");
  if (o("target_yplus") !== undefined) layers.target_yplus = o("target_yplus");
  if (Object.keys(layers).length) m.layers = layers;
  return m;
}

export function buildSpec(w: Wizard, meshOnly: boolean): Record<string, unknown> {
  const { flowType } = w;
  const model = w.turbulence.value;
  const fields = turbulenceFields(model);
  const boundaries: Record<string, unknown> = {};
  for (const [name, bc] of w.bcs) {
    const b: Record<string, unknown> = { type: bc.type };
    if (bc.velocity) b.velocity = bc.velocity;
    if (bc.type === "pressure_outlet") b.pressure = bc.pressure ?? 0;
    boundaries[name] = b;
  }
  const targets: Record<string, number> = { p: Number(input("res-p").value), U: Number(input("res-U").value) };
  for (const f of fields) targets[f] = Number(input(`res-${f}`).value);
  const spec: Record<string, unknown> = {
    name: input("case-name").value.trim() || data.name,
    geometry_id: data.geometry_id,
    flow: { type: flowType.value, velocity: velocity(), ground: flowType.value === "external" && w.ground.checked },
    fluid: { preset: ($("fluid") as HTMLSelectElement).value },
    turbulence: fields.length ? { model, intensity: Number(input("intensity").value) / 100 } : { model },
    boundaries,
    mesh: meshSpec(w),
    solver: { iterations: Number(input("iterations").value), residual_targets: targets },
  };
  if (meshOnly) spec.mesh_only = true;
  return spec;
}
