// The plan's limits in the set-up wizard: the page states them in the mesh and solver
// steps (before anything is submitted), and this warns as soon as the chosen cells or
// cores go past them, or when no core-hours are left on a plan that stops at its quota.
import { $, groupDigits, input, showError } from "../api";
import { targetCells, type Wizard } from "./setup";
import { data } from "./state";

export function wirePlan(w: Wizard): void {
  const p = data.plan;
  if (!p) return;
  const cores = input("cores");
  const coresWarning = (): void => {
    const n = Number(cores.value);
    const msgs: string[] = [];
    if (p.max_cores_per_job != null && n > p.max_cores_per_job) {
      msgs.push(`${n} cores is more than the ${p.title} plan allows per job (${p.max_cores_per_job}): the job would be refused. Lower the cores, or upgrade on the billing page.`);
    }
    if (!p.has_overage && p.remaining_core_hours != null && p.remaining_core_hours <= 0) {
      msgs.push(`No core-hours are left this period on the ${p.title} plan: a job would be refused until the next period or an upgrade.`);
    }
    showError($("warn-cores"), msgs.length ? msgs.join(" ") : null);
  };
  const cellsWarning = (): void => {
    const n = targetCells(w);
    showError($("warn-cells"), p.max_cells != null && n > p.max_cells
      ? `${groupDigits(n)} target cells is more than the ${p.title} plan meshes (${groupDigits(p.max_cells)}): lower the target, or upgrade on the billing page.`
      : null);
  };
  cores.addEventListener("input", coresWarning);
  w.target.addEventListener("change", coresWarning);
  w.slider.addEventListener("input", cellsWarning);
  coresWarning();
  cellsWarning();
}
