// The wizard's checks, one per step: each names the broken rule next to its field, and
// marks the fields it finds wrong with aria-invalid.
import { $, input, showError } from "../api";
import { maxCores, velocity, type Wizard } from "./setup";
import { turbulenceFields } from "./solver";
import { data } from "./state";

/** Patch names the wind tunnel uses in external flow. */
const TUNNEL = ["inlet", "outlet", "sides", "top", "bottom", "ground"];

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** Several problems of a step as one sentence. */
const sentence = (msgs: string[]) => (msgs.length ? capital(msgs.join("; ")) + "." : null);

/**
 * Whether `step` is complete. `quiet` shows no new problems, only clears the ones fixed
 * (for checks the user did not ask for).
 */
export function check(w: Wizard, step: string, quiet = false): boolean {
  const problems: [HTMLElement, string | null][] = [];
  if (step === "bc") {
    const msg = bcProblem(w);
    if (quiet && !msg) showError($("err-bc"), null);
    problems.push([$("err-bc"), msg]);
  }
  if (step === "mesh") {
    const msg = sentence(meshProblems());
    problems.push([$("err-mesh"), msg]);
  }
  if (step === "solver") {
    const msg = sentence(solverProblems(w));
    problems.push([$("err-solver"), msg]);
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

function bcProblem(w: Wizard): string | null {
  const types = [...w.bcs.values()].map((b) => b.type);
  let msg: string | null = null;
  if (w.flowType.value === "internal") {
    const missing = [];
    if (!types.includes("velocity_inlet")) missing.push("a velocity inlet");
    if (!types.includes("pressure_outlet")) missing.push("a pressure outlet");
    if (missing.length) msg = `Internal flow needs ${missing.join(" and ")}: select the group(s) and apply the condition.`;
  } else {
    const clash = data.groups.map((g) => g.name).filter((n) => TUNNEL.includes(n));
    if (clash.length) msg = `In external flow the wind tunnel uses the names ${TUNNEL.join(", ")}; rename the group(s) ${clash.join(", ")} in the CAD file, or choose internal flow.`;
  }
  return msg;
}

function meshProblems(): string[] {
  // An empty field is no problem: the suggestion fills it.
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
  return msgs;
}

function solverProblems(w: Wizard): string[] {
  const msgs = [];
  const u = velocity();
  const okU = u.every(Number.isFinite) && u.some((x) => x !== 0);
  for (const id of ["u-x", "u-y", "u-z"]) input(id).setAttribute("aria-invalid", String(!okU));
  if (!okU) msgs.push("the velocity needs three numbers in m/s, not all zero");
  else if (w.flowType.value === "external" && Math.abs(u[2]) > Math.hypot(u[0], u[1])) {
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
  for (const f of ["p", "U", ...turbulenceFields(w.turbulence.value)]) {
    const v = Number(input(`res-${f}`).value);
    const ok = v > 0 && v < 1;
    input(`res-${f}`).setAttribute("aria-invalid", String(!ok));
    if (!ok) msgs.push(`the ${({ omega: "ω", epsilon: "ε", nuTilda: "ν̃" } as Record<string, string>)[f] ?? f} residual target must be between 0 and 1 (e.g. 1e-4)`);
  }
  const cores = Number(input("cores").value);
  const max = maxCores(w);
  const okC = Number.isInteger(cores) && cores >= 1 && cores <= max;
  input("cores").setAttribute("aria-invalid", String(!okC));
  if (!okC) msgs.push(`cores must be a whole number from 1 to ${max} on this target`);
  return msgs;
}
