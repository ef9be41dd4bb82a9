// The wizard's solver step: the flow, the fluid, the turbulence model, the stopping
// criteria, and where the job runs with how many cores.
import { $, input } from "../api";
import { changed } from "./mesh";
import { maxCores, type Wizard } from "./setup";
import { data } from "./state";

export function wireSolver(w: Wizard): void {
  const { target, turbulence } = w;
  const coresNote = () => ($("cores-note").textContent = `At most ${maxCores(w)} on this target.`);
  target.addEventListener("change", coresNote);
  coresNote();
  turbulence.addEventListener("change", () => {
    const lam = turbulence.value === "laminar";
    for (const id of ["intensity", "res-k", "res-omega"]) input(id).closest("label")!.hidden = lam;
    changed(w);
  });
  for (const id of ["u-x", "u-y", "u-z", "fluid", "intensity"]) $(id).addEventListener("change", () => changed(w));
  input("case-name").value = data.name;
}
