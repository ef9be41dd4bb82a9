// The results viewer on a completed job's page: the wall surfaces, a cut plane, an
// isosurface and streamlines from `GET /api/jobs/{id}/post/{kind}` (the chunked FCP1
// stream of src/post/chunk.rs, drawn chunk by chunk while it downloads), coloured by one
// field through a colormap with a legend, automatic or fixed range. The cut plane is
// dragged in 3D (or with its slider), the isovalue has a slider, a click probes the field
// at the point hit, camera presets, PNG screenshot. Renders on demand only.
//
// This entry only puts the page together: results/state.ts (the index and shared state),
// results/view.ts (three.js), results/loader.ts, results/controls.ts and results/probe.ts.
import { layerControls, rangeControls, viewControls } from "./results/controls";
import { loader } from "./results/loader";
import { probeControls } from "./results/probe";
import { openPage, q } from "./results/state";

async function main(): Promise<void> {
  const p = await openPage();
  if (!p) return;
  const { viewer } = p;
  const range = rangeControls(p);
  const run = loader(p, () => { p.drawLegend(); range.syncRange(); });
  const layers = layerControls(p, run);
  viewControls(p);
  probeControls(p);

  p.drawLegend();
  range.applyRange();
  await layers.surface();
  // Frame the body (the walls), not the whole domain.
  viewer.fitTo(viewer.shownBox());
  await layers.isoRange();
  // While the surface is looked at, the server interpolates the colour field to the mesh
  // points (what cuts and isosurfaces are coloured by), so the first of them need not wait.
  fetch(`${p.base}/range?${q({ field: p.colorBy.value })}`, { credentials: "same-origin" }).catch(() => {});
}

main();
