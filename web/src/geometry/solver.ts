// The wizard's solver step: the flow, the fluid, the turbulence model, the stopping
// criteria, and where the job runs with how many cores.
import { $, input } from "../api";
import { changed } from "./mesh";
import { maxCores, type Wizard } from "./setup";
import { data } from "./state";

/** Every transported turbulence field the wizard has a residual target for. */
export const TURBULENCE_FIELDS = ["k", "omega", "epsilon", "nuTilda"];

/** Each model's name for people (TurbulenceModel::label in src/foam/spec.rs). */
export const TURBULENCE_LABEL: Record<string, string> = {
  kOmegaSST: "k-ω SST",
  realizableKE: "realizable k-ε",
  kEpsilon: "k-ε",
  SpalartAllmaras: "Spalart-Allmaras",
  laminar: "laminar",
};

/** The fields a model solves for (TurbulenceModel::fields in src/foam/spec.rs). */
export function turbulenceFields(model: string): string[] {
  switch (model) {
    case "kOmegaSST":
      return ["k", "omega"];
    case "realizableKE":
    case "kEpsilon":
      return ["k", "epsilon"];
    case "SpalartAllmaras":
      return ["nuTilda"];
    default:
      return [];
  }
}

export function wireSolver(w: Wizard): void {
  const { target, turbulence } = w;
  const coresNote = () => ($("cores-note").textContent = `At most ${maxCores(w)} on this target.`);
  target.addEventListener("change", coresNote);
  coresNote();
  turbulence.addEventListener("change", () => {
    const fields = turbulenceFields(turbulence.value);
    input("intensity").closest("label")!.hidden = fields.length === 0;
    for (const f of TURBULENCE_FIELDS) input(`res-${f}`).closest("label")!.hidden = !fields.includes(f);
    $("turbulence-note").textContent = turbulence.selectedOptions[0]?.dataset.note ?? "";
    changed(w);
  });
  for (const id of ["u-x", "u-y", "u-z", "fluid", "intensity"]) $(id).addEventListener("change", () => changed(w));
  input("case-name").value = data.name;
}
