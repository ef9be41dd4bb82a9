// The geometry page's island: the 3D viewer with group picking, and the set-up wizard
// (boundaries → mesh → solver → review) that turns the page's form into a case spec, the
// same JSON as `POST /api/projects/{id}/cases`, and submits it as a job.
import { $, api, ApiError, fmt, groupColor, groupDigits, input, showError } from "./api";
import { download, parseSurface, Viewer, webglAvailable } from "./viewer";

interface Group { name: string; area: number; triangles: number }
interface Setup {
  project_id: string;
  geometry_id: string;
  name: string;
  groups: Group[];
  analysis: { bbox_min: number[]; bbox_max: number[]; characteristic_length: number } | null;
  watertight: boolean;
  targets: { name: string; max_cores: number }[];
}
type BcType = "velocity_inlet" | "pressure_outlet" | "wall" | "slip" | "symmetry";
interface Bc { type: BcType; velocity?: [number, number, number]; pressure?: number }
interface Suggestion {
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

const BC_LABEL: Record<BcType, string> = {
  velocity_inlet: "velocity inlet",
  pressure_outlet: "pressure outlet",
  wall: "wall",
  slip: "slip wall",
  symmetry: "symmetry",
};
/** Patch names the wind tunnel uses in external flow. */
const TUNNEL = ["inlet", "outlet", "sides", "top", "bottom", "ground"];

const data: Setup = JSON.parse($("setup-data").textContent ?? "{}");
const colors = data.groups.map((_, i) => groupColor(i));
for (const el of document.querySelectorAll<HTMLElement>("[data-swatch]")) {
  el.style.background = colors[Number(el.dataset.swatch)];
}

// ---------------------------------------------------------------- viewer
let viewer: Viewer | null = null;
const selected = new Set<number>();
const listeners: ((sel: number[]) => void)[] = [];

async function startViewer(): Promise<void> {
  const el = $("viewer");
  const status = el.querySelector<HTMLElement>(".viewer-loading");
  const bar = status?.querySelector("progress");
  const say = (msg: string, error = false) => {
    if (!status) return;
    status.innerHTML = "";
    const p = document.createElement("p");
    p.textContent = msg;
    if (error) p.className = "error";
    status.appendChild(p);
  };
  if (!webglAvailable()) {
    say("This browser cannot draw 3D (WebGL is off or unsupported). The groups can still be chosen in the table below.", true);
    return;
  }
  try {
    const buf = await download(el.dataset.surface!, (f) => {
      if (bar && Number.isFinite(f)) bar.value = f;
    });
    const s = parseSurface(buf);
    viewer = new Viewer(el, s, colors);
    // For tooling (web/e2e/bench-viewer.mjs): the viewer behind the element.
    (el as HTMLElement & { flowcfdViewer?: Viewer }).flowcfdViewer = viewer;
    status?.remove();
    el.dataset.ready = "true";
    $("viewer-info").textContent =
      `${groupDigits(viewer.triangles)} triangles, ${s.groupCount} group${s.groupCount === 1 ? "" : "s"}. Click selects a group, shift-click adds to the selection; F fits, Esc clears.`;
    viewer.onSelect = (sel) => setSelection(sel, "viewer");
    viewer.onHover = (g) => {
      for (const el of document.querySelectorAll<HTMLElement>("[data-group-index]")) {
        el.classList.toggle("hover", Number(el.dataset.groupIndex) === g);
      }
    };
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-view]")) {
      b.addEventListener("click", () => viewer?.view(b.dataset.view!));
    }
  } catch (e) {
    say(`The surface could not be shown: ${(e as Error).message}`, true);
  }
}

function setSelection(sel: number[], from: "viewer" | "table" | "legend"): void {
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

// The legend beside the viewer: hover (or keyboard focus) highlights, click or Enter selects
// (shift adds).
for (const li of document.querySelectorAll<HTMLElement>("#legend li")) {
  const g = Number(li.dataset.groupIndex);
  li.addEventListener("mouseenter", () => viewer?.highlight(g));
  li.addEventListener("mouseleave", () => viewer?.highlight(-1));
  li.addEventListener("focusin", () => viewer?.highlight(g));
  li.addEventListener("focusout", () => viewer?.highlight(-1));
  li.addEventListener("click", (e) => {
    const sel = new Set(e.shiftKey ? selected : []);
    if (e.shiftKey && sel.has(g)) sel.delete(g);
    else sel.add(g);
    setSelection([...sel], "legend");
  });
}

startViewer();

// ---------------------------------------------------------------- wizard
const form = document.getElementById("setup") as HTMLFormElement | null;
if (form) wizard(form);

function wizard(form: HTMLFormElement): void {
  const csrf = form.dataset.csrf ?? "";
  const bcs = new Map<string, Bc>(data.groups.map((g) => [g.name, { type: "wall" }]));
  const flowType = $("flow-type") as HTMLSelectElement;
  const ground = input("ground");
  const bcType = $("bc-type") as HTMLSelectElement;
  let suggestion: Suggestion | null = null;
  let suggestionKey = "";
  const overrides = new Map<string, number | boolean>();
  const groupOverrides = new Map<string, [number, number]>();

  // --- steps
  const steps = ["bc", "mesh", "solver", "review"];
  const tabs = [...form.querySelectorAll<HTMLButtonElement>(".steps [data-go]")];
  function go(step: string): void {
    // Leaving a step checks it; moving back is always allowed.
    const from = current();
    if (steps.indexOf(step) > steps.indexOf(from)) {
      for (const s of steps.slice(0, steps.indexOf(step))) {
        if (!check(s)) {
          show(s);
          return;
        }
      }
    }
    show(step);
  }
  function current(): string {
    return form.querySelector<HTMLElement>("fieldset[data-step]:not([hidden])")?.dataset.step ?? "bc";
  }
  function show(step: string): void {
    for (const fs of form.querySelectorAll<HTMLElement>("fieldset[data-step]")) fs.hidden = fs.dataset.step !== step;
    for (const t of tabs) t.setAttribute("aria-selected", String(t.dataset.go === step));
    if (step === "mesh") suggest();
    if (step === "review") review();
    const first = form.querySelector<HTMLElement>(`fieldset[data-step=${step}] input, fieldset[data-step=${step}] select`);
    first?.focus({ preventScroll: true });
  }
  for (const b of form.querySelectorAll<HTMLButtonElement>("[data-go]")) b.addEventListener("click", () => go(b.dataset.go!));

  // --- boundaries
  function renderBcs(): void {
    for (const row of form.querySelectorAll<HTMLElement>("#bc-table tbody tr")) {
      const bc = bcs.get(row.dataset.group!)!;
      let text = BC_LABEL[bc.type];
      if (bc.type === "velocity_inlet") text += bc.velocity ? ` (${bc.velocity.map((x) => fmt(x)).join(", ")}) m/s` : " (|U| normal to the face)";
      if (bc.type === "pressure_outlet") text += ` (${fmt(bc.pressure ?? 0)} Pa)`;
      row.querySelector(".bc-cell")!.textContent = text;
    }
    check("bc", true);
  }
  function showValues(): void {
    for (const el of form.querySelectorAll<HTMLElement>(".bc-values")) el.hidden = el.dataset.for !== bcType.value;
  }
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
  $("bc-apply").addEventListener("click", () => {
    const err = $("err-bc-value");
    if (selected.size === 0) return showError(err, "Select one or more groups first: in the 3D view, the legend or the table.");
    const bc: Bc = { type: bcType.value as BcType };
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
    for (const g of selected) bcs.set(data.groups[g].name, bc);
    renderBcs();
    changed();
  });
  $("tpl-aero").addEventListener("click", () => {
    flowType.value = "external";
    for (const g of data.groups) bcs.set(g.name, { type: "wall" });
    setSelection([], "table");
    flowTypeChanged();
    renderBcs();
    changed();
    $("tunnel-note").classList.add("flash");
    showError($("err-bc-value"), null);
  });
  function flowTypeChanged(): void {
    const ext = flowType.value === "external";
    $("tunnel-note").hidden = !ext;
    ground.closest("label")!.hidden = !ext;
    $("u-note").textContent = ext ? "Free-stream velocity; z is up, so the flow runs along x or y." : "Inlet velocity (inlets without their own value blow |U| normal to the face).";
    changed();
    check("bc", true);
  }
  flowType.addEventListener("change", flowTypeChanged);
  ground.addEventListener("change", changed);
  flowTypeChanged();

  // --- checks: each names the broken rule next to its field
  function check(step: string, quiet = false): boolean {
    const problems: [HTMLElement, string | null][] = [];
    if (step === "bc") {
      const types = [...bcs.values()].map((b) => b.type);
      let msg: string | null = null;
      if (flowType.value === "internal") {
        const missing = [];
        if (!types.includes("velocity_inlet")) missing.push("a velocity inlet");
        if (!types.includes("pressure_outlet")) missing.push("a pressure outlet");
        if (missing.length) msg = `Internal flow needs ${missing.join(" and ")}: select the group(s) and apply the condition.`;
      } else {
        const clash = data.groups.map((g) => g.name).filter((n) => TUNNEL.includes(n));
        if (clash.length) msg = `In external flow the wind tunnel uses the names ${TUNNEL.join(", ")}; rename the group(s) ${clash.join(", ")} in the CAD file, or choose internal flow.`;
      }
      if (quiet && !msg) showError($("err-bc"), null);
      problems.push([$("err-bc"), msg]);
    }
    if (step === "mesh") {
      const bad = (id: string, ok: (x: number) => boolean) => {
        const v = input(id).value.trim();
        const n = Number(v);
        const broken = v !== "" && !ok(n);
        input(id).setAttribute("aria-invalid", String(broken));
        return broken;
      };
      const msgs = [];
      if (bad("p-base", (x) => x > 0)) msgs.push("the base cell size must be a positive length in m");
      if (bad("p-lmin", (x) => Number.isInteger(x) && x >= 0 && x <= 10) || bad("p-lmax", (x) => Number.isInteger(x) && x >= 0 && x <= 10)) {
        msgs.push("refinement levels are whole numbers from 0 to 10");
      } else if (Number(input("p-lmin").value) > Number(input("p-lmax").value)) {
        msgs.push("the minimum refinement level cannot exceed the maximum");
      }
      if (bad("p-feat", (x) => Number.isInteger(x) && x >= 0 && x <= 10)) msgs.push("the feature-edge level is a whole number from 0 to 10");
      if (bad("p-layers", (x) => Number.isInteger(x) && x >= 0 && x <= 20)) msgs.push("prism layers: a whole number from 0 (none) to 20");
      if (bad("p-exp", (x) => x >= 1 && x <= 3)) msgs.push("the layer expansion ratio must be between 1 and 3");
      if (bad("p-first", (x) => x > 0)) msgs.push("the first-layer height must be a positive length in m");
      if (bad("p-yplus", (x) => x > 0)) msgs.push("the target y+ must be positive (30–300 suits wall functions)");
      problems.push([$("err-mesh"), msgs.length ? capital(msgs.join("; ")) + "." : null]);
    }
    if (step === "solver") {
      const msgs = [];
      const u = velocity();
      const okU = u.every(Number.isFinite) && u.some((x) => x !== 0);
      for (const id of ["u-x", "u-y", "u-z"]) input(id).setAttribute("aria-invalid", String(!okU));
      if (!okU) msgs.push("the velocity needs three numbers in m/s, not all zero");
      else if (flowType.value === "external" && Math.abs(u[2]) > Math.hypot(u[0], u[1])) {
        msgs.push("external flow must run mostly horizontally (z is up): put the speed in Ux or Uy");
      }
      const ti = Number(input("intensity").value);
      const okTi = ti > 0 && ti <= 50;
      input("intensity").setAttribute("aria-invalid", String(!okTi));
      if (!okTi) msgs.push("the turbulence intensity is a percentage above 0 and at most 50");
      const it = Number(input("iterations").value);
      const okIt = Number.isInteger(it) && it >= 1 && it <= 100000;
      input("iterations").setAttribute("aria-invalid", String(!okIt));
      if (!okIt) msgs.push("iterations must be a whole number from 1 to 100 000");
      for (const f of ["p", "U", "k", "omega"]) {
        const v = Number(input(`res-${f}`).value);
        const ok = v > 0 && v < 1;
        input(`res-${f}`).setAttribute("aria-invalid", String(!ok));
        if (!ok) msgs.push(`the ${f === "omega" ? "ω" : f} residual target must be between 0 and 1 (e.g. 1e-4)`);
      }
      const cores = Number(input("cores").value);
      const max = maxCores();
      const okC = Number.isInteger(cores) && cores >= 1 && cores <= max;
      input("cores").setAttribute("aria-invalid", String(!okC));
      if (!okC) msgs.push(`cores must be a whole number from 1 to ${max} on this target`);
      problems.push([$("err-solver"), msgs.length ? capital(msgs.join("; ")) + "." : null]);
    }
    if (step === "review") {
      const n = input("case-name").value.trim();
      const ok = n.length >= 1 && n.length <= 120;
      input("case-name").setAttribute("aria-invalid", String(!ok));
      problems.push([$("err-review"), ok ? null : "Give the case a name (1 to 120 characters)."]);
    }
    let ok = true;
    for (const [el, msg] of problems) {
      if (!quiet || !msg) showError(el, msg);
      if (msg) ok = false;
    }
    return ok;
  }
  const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

  // --- mesh
  const slider = input("target-cells");
  const targetCells = () => Math.round(10 ** Number(slider.value) / 1000) * 1000;
  const fields: [string, string][] = [
    ["p-base", "base_cell_size"], ["p-lmin", "level_min"], ["p-lmax", "level_max"], ["p-feat", "feature_level"],
    ["p-layers", "layers"], ["p-exp", "expansion_ratio"], ["p-first", "first_layer_thickness"], ["p-yplus", "target_yplus"],
  ];
  for (const [id, key] of fields) {
    input(id).addEventListener("change", () => {
      const v = input(id).value.trim();
      if (v === "") overrides.delete(key);
      else overrides.set(key, Number(v));
      markOverrides();
      if (check("mesh")) changed();
    });
  }
  input("p-wake").addEventListener("change", () => {
    overrides.set("wake_box", input("p-wake").checked);
    markOverrides();
    changed();
  });
  function markOverrides(): void {
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
          markOverrides();
          changed();
          suggest();
        });
        row.cells[1].appendChild(reset);
      } else if (!over && reset) reset.remove();
    }
  }
  let timer = 0;
  slider.addEventListener("input", () => {
    $("target-out").textContent = groupDigits(targetCells());
    clearTimeout(timer);
    timer = window.setTimeout(() => suggest(), 250);
  });
  $("target-out").textContent = groupDigits(targetCells());

  function meshSpec(): Record<string, unknown> {
    const m: Record<string, unknown> = { target_cells: targetCells() };
    const o = (k: string) => overrides.get(k);
    if (o("base_cell_size") !== undefined) m.base_cell_size = o("base_cell_size");
    if (o("level_min") !== undefined || o("level_max") !== undefined) {
      const lo = Number(o("level_min") ?? suggestion?.surface_refinement[0] ?? 1);
      const hi = Number(o("level_max") ?? suggestion?.surface_refinement[1] ?? lo + 1);
      m.surface_level = [lo, Math.max(lo, hi)];
    }
    if (o("feature_level") !== undefined) m.feature_level = o("feature_level");
    if (o("wake_box") === false) m.wake_box = false;
    if (groupOverrides.size) m.group_levels = Object.fromEntries(groupOverrides);
    const layers: Record<string, unknown> = {};
    if (o("layers") !== undefined) layers.count = o("layers");
    if (o("expansion_ratio") !== undefined) layers.expansion_ratio = o("expansion_ratio");
    if (o("first_layer_thickness") !== undefined) layers.first_layer_thickness = o("first_layer_thickness");
    if (o("target_yplus") !== undefined) layers.target_yplus = o("target_yplus");
    if (Object.keys(layers).length) m.layers = layers;
    return m;
  }

  async function suggest(): Promise<void> {
    if (!check("bc", true) || !check("solver", true) || !check("mesh", true)) {
      $("mesh-source").textContent = "Fix the highlighted set-up problems to get a suggestion.";
      return;
    }
    const body = { target_cells: targetCells(), spec: buildSpec(false) };
    const key = JSON.stringify(body);
    if (key === suggestionKey && suggestion) return;
    suggestionKey = key;
    $("mesh-source").textContent = "Suggesting…";
    form!.classList.add("busy");
    try {
      const s = await api<Suggestion>("POST", `/api/geometries/${data.geometry_id}/mesh-suggestion`, body, csrf);
      if (key !== suggestionKey) return; // a newer request is on its way
      suggestion = s;
      fillMesh(s);
      showError($("err-mesh"), null);
    } catch (e) {
      suggestionKey = "";
      $("mesh-source").textContent = "No suggestion.";
      showError($("err-mesh"), (e as Error).message);
    } finally {
      form!.classList.remove("busy");
    }
  }

  function fillMesh(s: Suggestion): void {
    const src = $("mesh-source");
    src.textContent = "";
    const b = document.createElement("strong");
    b.textContent = s.source === "ai" ? "Suggested by the mesh AI." : "Suggested by the rules.";
    src.append(b, " ", s.source === "rules" && s.reason ? `(${s.reason})` : "");
    const set = (id: string, key: string, v: number) => {
      if (!overrides.has(key)) input(id).value = String(Number(v.toPrecision(4)));
    };
    set("p-base", "base_cell_size", s.base_cell_size);
    set("p-lmin", "level_min", s.surface_refinement[0]);
    set("p-lmax", "level_max", s.surface_refinement[1]);
    set("p-feat", "feature_level", s.feature_level);
    set("p-layers", "layers", s.layers.count);
    set("p-exp", "expansion_ratio", s.layers.expansion_ratio);
    set("p-first", "first_layer_thickness", s.layers.first_layer_thickness);
    set("p-yplus", "target_yplus", s.layers.target_yplus);
    if (!overrides.has("wake_box")) input("p-wake").checked = s.wake_box;
    const why = (param: string, text: string | undefined) => {
      const cell = form!.querySelector(`tr[data-param=${param}] .why`);
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
      `Predicted: about ${groupDigits(s.predicted_cells)} cells for a target of ${groupDigits(targetCells())}.` +
      (box ? ` Wake box: level ${box.level}, from (${box.min.map((x) => fmt(x, 3)).join(", ")}) to (${box.max.map((x) => fmt(x, 3)).join(", ")}) m.` : "");
    const tbody = form!.querySelector("#group-levels tbody")!;
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
            changed();
          } else showError($("err-mesh"), `The levels of ${name} must be whole numbers 0–10 with min ≤ max.`);
        });
        c.append(inp);
        tr.append(c);
      }
      if (groupOverrides.has(name)) tr.classList.add("overridden");
      tbody.append(tr);
    }
  }

  // --- solver
  const velocity = (): [number, number, number] => ["u-x", "u-y", "u-z"].map((id) => Number(input(id).value)) as [number, number, number];
  const target = $("target") as HTMLSelectElement;
  const maxCores = () => Number(target.selectedOptions[0]?.dataset.maxCores ?? 1);
  const coresNote = () => ($("cores-note").textContent = `At most ${maxCores()} on this target.`);
  target.addEventListener("change", coresNote);
  coresNote();
  const turbulence = $("turbulence") as HTMLSelectElement;
  turbulence.addEventListener("change", () => {
    const lam = turbulence.value === "laminar";
    for (const id of ["intensity", "res-k", "res-omega"]) input(id).closest("label")!.hidden = lam;
    changed();
  });
  for (const id of ["u-x", "u-y", "u-z", "fluid", "intensity"]) $(id).addEventListener("change", changed);
  input("case-name").value = data.name;

  /** Something the suggestion depends on changed: suggest again when the mesh step shows. */
  function changed(): void {
    if (current() === "mesh") suggest();
  }

  function buildSpec(meshOnly: boolean): Record<string, unknown> {
    const lam = turbulence.value === "laminar";
    const boundaries: Record<string, unknown> = {};
    for (const [name, bc] of bcs) {
      const b: Record<string, unknown> = { type: bc.type };
      if (bc.velocity) b.velocity = bc.velocity;
      if (bc.type === "pressure_outlet") b.pressure = bc.pressure ?? 0;
      boundaries[name] = b;
    }
    const targets: Record<string, number> = { p: Number(input("res-p").value), U: Number(input("res-U").value) };
    if (!lam) {
      targets.k = Number(input("res-k").value);
      targets.omega = Number(input("res-omega").value);
    }
    const spec: Record<string, unknown> = {
      name: input("case-name").value.trim() || data.name,
      geometry_id: data.geometry_id,
      flow: { type: flowType.value, velocity: velocity(), ground: flowType.value === "external" && ground.checked },
      fluid: { preset: ($("fluid") as HTMLSelectElement).value },
      turbulence: lam ? { model: "laminar" } : { model: "kOmegaSST", intensity: Number(input("intensity").value) / 100 },
      boundaries,
      mesh: meshSpec(),
      solver: { iterations: Number(input("iterations").value), residual_targets: targets },
    };
    if (meshOnly) spec.mesh_only = true;
    return spec;
  }

  // --- review
  function review(): void {
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
    row("Turbulence", turbulence.value === "laminar" ? "laminar" : `k-ω SST, ${fmt(Number(input("intensity").value))} % intensity`);
    const byType = new Map<string, string[]>();
    for (const [n, b] of bcs) byType.set(BC_LABEL[b.type], [...(byType.get(BC_LABEL[b.type]) ?? []), n]);
    row("Boundaries", [...byType].map(([t, ns]) => `${t}: ${ns.join(", ")}`).join(" · ") + (ext ? " · tunnel: inlet, outlet, slip sides and top" : ""));
    const s = suggestion;
    row("Mesh", s
      ? `target ${groupDigits(targetCells())} cells (predicted ${groupDigits(s.predicted_cells)}), base cell ${fmt(Number(input("p-base").value))} m, surface levels ${input("p-lmin").value}–${input("p-lmax").value}, ${input("p-layers").value} layers from ${fmt(Number(input("p-first").value))} m${overrides.size || groupOverrides.size ? " (with your changes)" : ""}`
      : `target ${groupDigits(targetCells())} cells, parameters from the ${overrides.size ? "rules and your changes" : "rules"}`);
    row("Solver", `simpleFoam, up to ${input("iterations").value} iterations, stop when residuals reach p ${input("res-p").value}, U ${input("res-U").value}`);
    row("Runs on", `${target.selectedOptions[0].textContent}, ${input("cores").value} core(s)`);
  }

  // --- submit
  async function submit(meshOnly: boolean, button: HTMLButtonElement, errEl: HTMLElement): Promise<void> {
    const need = meshOnly ? ["bc", "mesh"] : ["bc", "mesh", "solver", "review"];
    for (const s of need) {
      if (!check(s)) {
        show(s);
        return;
      }
    }
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Submitting…";
    try {
      const c = await api<{ id: string }>("POST", `/api/projects/${data.project_id}/cases`, buildSpec(meshOnly), csrf);
      const j = await api<{ id: string }>("POST", `/api/cases/${c.id}/jobs`, { executor: target.value, cores: Number(input("cores").value) }, csrf);
      location.href = `/jobs/${j.id}`;
    } catch (e) {
      showError(errEl, e instanceof ApiError ? e.message : String(e));
      button.disabled = false;
      button.textContent = label;
    }
  }
  $("mesh-only").addEventListener("click", (e) => submit(true, e.currentTarget as HTMLButtonElement, $("err-mesh")));
  $("run").addEventListener("click", (e) => submit(false, e.currentTarget as HTMLButtonElement, $("err-review")));
  form.addEventListener("submit", (e) => e.preventDefault());
  renderBcs();
  showError($("err-bc"), null);
}
