// The set-up wizard (boundaries → mesh → solver → review) that turns the geometry page's
// form into a case spec and submits it as a job: the steps' navigation, and the order in
// which the steps are wired up.
import { $, showError } from "../api";
import { renderBcs, wireBoundaries } from "./boundaries";
import { check } from "./checks";
import { suggest, wireMesh } from "./mesh";
import { wirePlan } from "./plan";
import { review, wireSubmit } from "./review";
import { createWizard, current, type Wizard } from "./setup";
import { wireSolver } from "./solver";

const steps = ["bc", "mesh", "solver", "review"];

export function wizard(form: HTMLFormElement): void {
  const w = createWizard(form);
  const tabs = [...form.querySelectorAll<HTMLButtonElement>(".steps [data-go]")];
  const show = (step: string) => showStep(w, tabs, step);
  for (const b of form.querySelectorAll<HTMLButtonElement>("[data-go]")) b.addEventListener("click", () => go(w, show, b.dataset.go!));
  wireBoundaries(w);
  wireMesh(w);
  wireSolver(w);
  wirePlan(w);
  wireSubmit(w, show);
  renderBcs(w);
  showError($("err-bc"), null);
}

/** Leaving a step checks it (and the ones before it); moving back is always allowed. */
function go(w: Wizard, show: (step: string) => void, step: string): void {
  const from = current(w);
  if (steps.indexOf(step) > steps.indexOf(from)) {
    for (const s of steps.slice(0, steps.indexOf(step))) {
      if (!check(w, s)) {
        show(s);
        return;
      }
    }
  }
  show(step);
}

function showStep(w: Wizard, tabs: HTMLButtonElement[], step: string): void {
  const { form } = w;
  for (const fs of form.querySelectorAll<HTMLElement>("fieldset[data-step]")) fs.hidden = fs.dataset.step !== step;
  for (const t of tabs) t.setAttribute("aria-selected", String(t.dataset.go === step));
  if (step === "mesh") suggest(w);
  if (step === "review") review(w);
  const first = form.querySelector<HTMLElement>(`fieldset[data-step=${step}] input, fieldset[data-step=${step}] select`);
  first?.focus({ preventScroll: true });
}
