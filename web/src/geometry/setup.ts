// The set-up wizard's state: what has been chosen that no form field holds (the boundary
// conditions, the mesh suggestion and the user's overrides of it), the fields that several
// steps read, and the values derived from them.
import { $, input } from "../api";
import { data } from "./state";

export type BcType = "velocity_inlet" | "pressure_outlet" | "wall" | "slip" | "symmetry";
export interface Bc { type: BcType; velocity?: [number, number, number]; pressure?: number }
export interface Suggestion {
  source: "ai" | "rules";
  reason?: string;
  base_cell_size: number;
  surface_refinement: [number, number];
  group_levels: Record<string, [number, number]>;
  feature_level: number;
  refinement_boxes: { min: number[]; max: number[]; level: number }[];
  wake_box: boolean;
  layers: { count: number; expansion_ratio: number; first_layer_thickness: number; estimated_yplus: number; target_yplus: number };
  predicted_cells: number;
  why: Record<string, string>;
}

export const BC_LABEL: Record<BcType, string> = {
  velocity_inlet: "velocity inlet",
  pressure_outlet: "pressure outlet",
  wall: "wall",
  slip: "slip wall",
  symmetry: "symmetry",
};

export interface Wizard {
  form: HTMLFormElement;
  csrf: string;
  /** The condition of each group, by group name. */
  bcs: Map<string, Bc>;
  flowType: HTMLSelectElement;
  ground: HTMLInputElement;
  bcType: HTMLSelectElement;
  /** The cell-count slider (log10 of the target). */
  slider: HTMLInputElement;
  target: HTMLSelectElement;
  turbulence: HTMLSelectElement;
  suggestion: Suggestion | null;
  /** The request the suggestion answers (or the one on its way). */
  suggestionKey: string;
  /** Mesh parameters the user set, by the spec's name; the suggestion fills the rest. */
  overrides: Map<string, number | boolean>;
  groupOverrides: Map<string, [number, number]>;
}

export function createWizard(form: HTMLFormElement): Wizard {
  return {
    form,
    csrf: form.dataset.csrf ?? "",
    bcs: new Map<string, Bc>(data.groups.map((g) => [g.name, { type: "wall" }])),
    flowType: $("flow-type") as HTMLSelectElement,
    ground: input("ground"),
    bcType: $("bc-type") as HTMLSelectElement,
    slider: input("target-cells"),
    target: $("target") as HTMLSelectElement,
    turbulence: $("turbulence") as HTMLSelectElement,
    suggestion: null,
    suggestionKey: "",
    overrides: new Map<string, number | boolean>(),
    groupOverrides: new Map<string, [number, number]>(),
  };
}

/** The step on show. */
export function current(w: Wizard): string {
  return w.form.querySelector<HTMLElement>("fieldset[data-step]:not([hidden])")?.dataset.step ?? "bc";
}

export const velocity = (): [number, number, number] => ["u-x", "u-y", "u-z"].map((id) => Number(input(id).value)) as [number, number, number];
export const targetCells = (w: Wizard) => Math.round(10 ** Number(w.slider.value) / 1000) * 1000;
export const maxCores = (w: Wizard) => Number(w.target.selectedOptions[0]?.dataset.maxCores ?? 1);
