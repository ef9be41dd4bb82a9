// The wizard's last step: a summary of the whole set-up in words, and the submission of
// the case and its job (or of a mesh-only job from the mesh step).
import { $, api, ApiError, fmt, groupDigits, input, showError } from "../api";
import { check } from "./checks";
import { BC_LABEL, targetCells, velocity, type Wizard } from "./setup";
import { TURBULENCE_LABEL } from "./solver";
import { buildSpec } from "./spec";
import { data } from "./state";

export function review(w: Wizard): void {
  const { flowType, ground, turbulence, target, overrides, groupOverrides } = w;
  const dl = $("review");
  dl.textContent = "";
  const row = (k: string, v: string) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  };
  const u = velocity();
  const ext = flowType.value === "external";
  row("Geometry", `${data.name} · ${data.groups.length} surface groups`);
  row("Flow", `${ext ? "external (wind tunnel)" : "internal"}, |U| = ${fmt(Math.hypot(...u))} m/s (${u.map((x) => fmt(x)).join(", ")})${ext && ground.checked ? ", moving ground" : ""}`);
  row("Fluid", ($("fluid") as HTMLSelectElement).selectedOptions[0].textContent ?? "");
  const label = TURBULENCE_LABEL[turbulence.value] ?? turbulence.value;
  row("Turbulence", turbulence.value === "laminar" ? label : `${label}, ${fmt(Number(input("intensity").value))} % intensity`);
  const byType = new Map<string, string[]>();
  for (const [n, b] of w.bcs) byType.set(BC_LABEL[b.type], [...(byType.get(BC_LABEL[b.type]) ?? []), n]);
  row("Boundaries", [...byType].map(([t, ns]) => `${t}: ${ns.join(", ")}`).join(" · ") + (ext ? " · tunnel: inlet, outlet, slip sides and top" : ""));
  const s = w.suggestion;
  row("Mesh", s
    ? `target ${groupDigits(targetCells(w))} cells (predicted ${groupDigits(s.predicted_cells)}), base cell ${fmt(Number(input("p-base").value))} m, surface levels ${input("p-lmin").value}–${input("p-lmax").value}, ${input("p-layers").value} layers from ${fmt(Number(input("p-first").value))} m${overrides.size || groupOverrides.size ? " (with your changes)" : ""}`
    : `target ${groupDigits(targetCells(w))} cells, parameters from the ${overrides.size ? "rules and your changes" : "rules"}`);
  row("Solver", `simpleFoam, up to ${input("iterations").value} iterations, stop when residuals reach p ${input("res-p").value}, U ${input("res-U").value}`);
  row("Runs on", `${target.selectedOptions[0].textContent}, ${input("cores").value} core(s)`);
}

/**
 * The submit buttons: the steps a job needs are checked first (`show` opens the first one
 * with a problem); then the case is created and its job started, and the page moves to it.
 */
export function wireSubmit(w: Wizard, show: (step: string) => void): void {
  const submit = async (meshOnly: boolean, button: HTMLButtonElement, errEl: HTMLElement): Promise<void> => {
    const need = meshOnly ? ["bc", "mesh"] : ["bc", "mesh", "solver", "review"];
    for (const s of need) {
      if (!check(w, s)) {
        show(s);
        return;
      }
    }
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Submitting…";
    try {
      const c = await api<{ id: string }>("POST", `/api/projects/${data.project_id}/cases`, buildSpec(w, meshOnly), w.csrf);
      const j = await api<{ id: string }>("POST", `/api/cases/${c.id}/jobs`, { executor: w.target.value, cores: Number(input("cores").value) }, w.csrf);
      location.href = `/jobs/${j.id}`;
    } catch (e) {
      showError(errEl, e instanceof ApiError ? e.message : String(e));
      button.disabled = false;
      button.textContent = label;
    }
  };
  $("mesh-only").addEventListener("click", (e) => submit(true, e.currentTarget as HTMLButtonElement, $("err-mesh")));
  $("run").addEventListener("click", (e) => submit(false, e.currentTarget as HTMLButtonElement, $("err-review")));
  w.form.addEventListener("submit", (e) => e.preventDefault());
}
