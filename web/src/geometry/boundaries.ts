// The wizard's boundaries step: the flow type (internal, or external in a wind tunnel),
// and a boundary condition applied to the selected groups, picked in the 3D view, the
// legend or the table.
import { $, fmt, input, showError } from "../api";
import { check } from "./checks";
import { changed } from "./mesh";
import { BC_LABEL, type Bc, type BcType, type Wizard } from "./setup";
import { data, listeners, selected, setSelection } from "./state";

export function wireBoundaries(w: Wizard): void {
  const { form, bcType, flowType } = w;
  const showValues = () => {
    for (const el of form.querySelectorAll<HTMLElement>(".bc-values")) el.hidden = el.dataset.for !== bcType.value;
  };
  bcType.addEventListener("change", showValues);
  showValues();
  for (const cb of form.querySelectorAll<HTMLInputElement>("#bc-table input[name=sel]")) {
    cb.addEventListener("change", () => {
      const sel = [...form.querySelectorAll<HTMLInputElement>("#bc-table input[name=sel]:checked")].map(
        (c) => Number(c.closest<HTMLElement>("tr")!.dataset.groupIndex),
      );
      setSelection(sel, "table");
    });
  }
  input("bc-all").addEventListener("change", (e) => {
    setSelection((e.target as HTMLInputElement).checked ? data.groups.map((_, i) => i) : [], "table");
  });
  listeners.push((sel) => {
    input("bc-all").checked = sel.length === data.groups.length && sel.length > 0;
  });
  $("bc-apply").addEventListener("click", () => applyBc(w));
  $("tpl-aero").addEventListener("click", () => {
    flowType.value = "external";
    for (const g of data.groups) w.bcs.set(g.name, { type: "wall" });
    setSelection([], "table");
    flowTypeChanged(w);
    renderBcs(w);
    changed(w);
    $("tunnel-note").classList.add("flash");
    showError($("err-bc-value"), null);
  });
  flowType.addEventListener("change", () => flowTypeChanged(w));
  w.ground.addEventListener("change", () => changed(w));
  flowTypeChanged(w);
}

/** Applies the chosen condition, with its values, to the selected groups. */
function applyBc(w: Wizard): void {
  const err = $("err-bc-value");
  if (selected.size === 0) return showError(err, "Select one or more groups first: in the 3D view, the legend or the table.");
  const bc: Bc = { type: w.bcType.value as BcType };
  if (bc.type === "velocity_inlet") {
    const v = ["bc-ux", "bc-uy", "bc-uz"].map((id) => input(id).value.trim());
    if (v.some((x) => x !== "")) {
      const n = v.map((x) => (x === "" ? 0 : Number(x)));
      if (n.some((x) => !Number.isFinite(x)) || n.every((x) => x === 0)) {
        return showError(err, "The inlet velocity needs three numbers in m/s, not all zero (or leave all three empty).");
      }
      bc.velocity = n as [number, number, number];
    }
  }
  if (bc.type === "pressure_outlet") {
    const p = Number(input("bc-p").value || "0");
    if (!Number.isFinite(p)) return showError(err, "The gauge pressure must be a number in Pa (0 for ambient).");
    bc.pressure = p;
  }
  showError(err, null);
  for (const g of selected) w.bcs.set(data.groups[g].name, bc);
  renderBcs(w);
  changed(w);
}

function flowTypeChanged(w: Wizard): void {
  const ext = w.flowType.value === "external";
  $("tunnel-note").hidden = !ext;
  w.ground.closest("label")!.hidden = !ext;
  $("u-note").textContent = ext ? "Free-stream velocity; z is up, so the flow runs along x or y." : "Inlet velocity (inlets without their own value blow |U| normal to the face).";
  changed(w);
  check(w, "bc", true);
}

/** Shows each group's condition in the table. */
export function renderBcs(w: Wizard): void {
  for (const row of w.form.querySelectorAll<HTMLElement>("#bc-table tbody tr")) {
    const bc = w.bcs.get(row.dataset.group!)!;
    let text = BC_LABEL[bc.type];
    if (bc.type === "velocity_inlet") text += bc.velocity ? ` (${bc.velocity.map((x) => fmt(x)).join(", ")}) m/s` : " (|U| normal to the face)";
    if (bc.type === "pressure_outlet") text += ` (${fmt(bc.pressure ?? 0)} Pa)`;
    row.querySelector(".bc-cell")!.textContent = text;
  }
  check(w, "bc", true);
}
