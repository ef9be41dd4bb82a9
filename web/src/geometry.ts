// The geometry page's island: the 3D viewer with group picking, and the set-up wizard
// (boundaries → mesh → solver → review) that turns the page's form into a case spec, the
// same JSON as `POST /api/projects/{id}/cases`, and submits it as a job.
//
// This entry only starts them: geometry/view.ts (the viewer and legend), geometry/state.ts
// (the page's data and the shared group selection), geometry/wizard.ts and its steps.
import { paintSwatches, startViewer, wireLegend } from "./geometry/view";
import { wizard } from "./geometry/wizard";

paintSwatches();
wireLegend();
startViewer();

const form = document.getElementById("setup") as HTMLFormElement | null;
if (form) wizard(form);
