// The results panel's wiring: which layers are on (surface, cut plane, isosurface,
// streamlines) and their parameters, the colour range and colormap, camera presets and the
// screenshot. Each layer's control reloads it from the server when something it depends on
// changes.
import { $, fmt, input, plainNumber } from "../api";
import { unitOf } from "./colormap";
import type { Run } from "./loader";
import { q, sel, type Page } from "./state";

/** Turning a layer on or changing it reloads it; turning it off hides it. */
type Reload = () => Promise<void> | void;

/** The automatic or fixed colour range, and the colormap. */
export function rangeControls(p: Page): { applyRange: () => void; syncRange: () => void } {
  const { viewer, drawLegend } = p;
  // An automatic range shows its numbers in the (disabled) fixed-range fields.
  const syncRange = () => {
    if (input("rv-auto").checked) {
      const [a, b] = viewer.currentRange();
      input("rv-min").value = plainNumber(a); input("rv-max").value = plainNumber(b);
    }
  };
  const applyRange = () => {
    const auto = input("rv-auto").checked;
    input("rv-min").disabled = auto; input("rv-max").disabled = auto;
    const a = Number(input("rv-min").value), b = Number(input("rv-max").value);
    viewer.range = !auto && isFinite(a) && isFinite(b) && b > a ? [a, b] : null;
    viewer.recolour(); drawLegend(); syncRange();
  };
  sel("rv-colormap").addEventListener("change", () => { viewer.setColormap(sel("rv-colormap").value); drawLegend(); });
  input("rv-auto").addEventListener("change", applyRange);
  input("rv-min").addEventListener("change", applyRange);
  input("rv-max").addEventListener("change", applyRange);
  return { applyRange, syncRange };
}

/** The four layers' controls; a new colour field reloads them all. */
export function layerControls(p: Page, run: Run): { surface: Reload; isoRange: () => Promise<void> } {
  const surface = surfaceControl(p, run);
  const slice = sliceControl(p, run);
  const { iso, isoRange } = isoControl(p, run);
  const streamlines = streamlineControl(p, run);
  p.colorBy.addEventListener("change", () => { surface(); slice(); iso(); streamlines(); });
  return { surface, isoRange };
}

function surfaceControl(p: Page, run: Run): Reload {
  const surface = () => input("rv-surface").checked
    ? run("surface", "surface", `${p.base}/surface?${q({ field: p.colorBy.value })}`)
    : (p.viewer.clear("surface"), p.drawLegend());
  input("rv-surface").addEventListener("change", surface);
  return surface;
}

/** The cut plane: normal to an axis, moved with its slider or by dragging it in the view. */
function sliceControl(p: Page, run: Run): Reload {
  const { viewer } = p;
  const [lo, hi] = p.index.bounds;
  const axisOf = () => Number(sel("rv-slice-axis").value);
  const sliceSlider = input("rv-slice-pos");
  const resetSlider = () => {
    const a = axisOf();
    sliceSlider.min = String(lo[a]); sliceSlider.max = String(hi[a]); sliceSlider.step = String((hi[a] - lo[a]) / 500);
    sliceSlider.value = String((lo[axisOf()] + hi[axisOf()]) / 2);
  };
  resetSlider();
  const slice = () => {
    const on = input("rv-slice").checked, a = axisOf(), off = Number(sliceSlider.value);
    viewer.showPlane(a, off, on);
    // The slider's middle is a sum of floats: round what is zero at the domain's scale.
    $("rv-slice-val").textContent = `${"xyz"[a]} = ${fmt(Math.abs(off) < 1e-9 * (hi[a] - lo[a]) ? 0 : off, 4)} m`;
    if (!on) { viewer.clear("slice"); p.drawLegend(); return; }
    const origin = [0, 0, 0], normal = [0, 0, 0];
    origin[a] = off; normal[a] = 1;
    return run("slice", "slice", `${p.base}/slice?${q({ origin: origin.join(","), normal: normal.join(","), field: p.colorBy.value })}`);
  };
  viewer.onPlaneMoved = (off) => { sliceSlider.value = String(off); slice(); };
  input("rv-slice").addEventListener("change", slice);
  sel("rv-slice-axis").addEventListener("change", () => { resetSlider(); slice(); });
  sliceSlider.addEventListener("input", () => viewer.showPlane(axisOf(), Number(sliceSlider.value), input("rv-slice").checked));
  sliceSlider.addEventListener("change", slice);
  return slice;
}

/** The isosurface: its slider spans the chosen field's range. */
function isoControl(p: Page, run: Run): { iso: Reload; isoRange: () => Promise<void> } {
  const { isoField } = p;
  const isoSlider = input("rv-iso-value");
  const showValue = () => ($("rv-iso-val").textContent = `${isoField.value} = ${fmt(Number(isoSlider.value), 4)} ${unitOf(isoField.value)}`);
  // The range is asked for when the field changes; an isosurface asked for meanwhile waits
  // for it, and an answer for a field no longer chosen is ignored.
  let isoRanged: Promise<void> = Promise.resolve();
  const isoRange = () => (isoRanged = (async () => {
    const field = isoField.value;
    const r = await fetch(`${p.base}/range?${q({ field })}`, { credentials: "same-origin" });
    if (!r.ok || isoField.value !== field) return;
    const { min, max } = await r.json();
    isoSlider.min = String(min); isoSlider.max = String(max); isoSlider.step = String((max - min) / 200 || 1);
    // Q: a small positive level picks out the vortex cores; others: the middle.
    isoSlider.value = String(isoField.value === "Q" && max > 0 ? 0.02 * max : (min + max) / 2);
  })());
  const iso = async () => {
    await isoRanged;
    showValue();
    if (!input("rv-iso").checked) { p.viewer.clear("iso"); p.drawLegend(); return; }
    return run("iso", "isosurface", `${p.base}/iso?${q({ field: isoField.value, value: isoSlider.value, color_by: p.colorBy.value, method: sel("rv-iso-method").value })}`);
  };
  input("rv-iso").addEventListener("change", iso);
  isoField.addEventListener("change", async () => { await isoRange(); iso(); });
  isoSlider.addEventListener("input", showValue);
  isoSlider.addEventListener("change", iso);
  sel("rv-iso-method").addEventListener("change", iso);
  return { iso, isoRange };
}

/** Streamlines: seeds on a line upstream, across the domain's height by default. */
function streamlineControl(p: Page, run: Run): Reload {
  const [lo, hi] = p.index.bounds;
  // The seed fields are sent as they read: plain numbers, never the display format
  // ("2.22×10^-16" broke the seed line), and a rounding residue of the centre reads 0.
  const span = Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
  const seed = (height: number) => [lo[0] + 0.05 * (hi[0] - lo[0]), (lo[1] + hi[1]) / 2, lo[2] + height * (hi[2] - lo[2])].map((v) => plainNumber(v, 4, 1e-9 * span)).join(",");
  input("rv-seed-from").value = seed(0.02);
  input("rv-seed-to").value = seed(0.5);
  const streamlines = () => input("rv-stream").checked
    ? run("streamlines", "streamlines", `${p.base}/streamlines?${q({ seed_line: `${input("rv-seed-from").value}:${input("rv-seed-to").value}`, count: input("rv-seed-count").value, color_by: p.colorBy.value })}`)
    : (p.viewer.clear("streamlines"), p.drawLegend());
  $("rv-stream-go").addEventListener("click", () => { input("rv-stream").checked = true; streamlines(); });
  input("rv-stream").addEventListener("change", streamlines);
  return streamlines;
}

/** Camera presets (and fitting what is shown), and the PNG screenshot. */
export function viewControls(p: Page): void {
  const { viewer } = p;
  p.root.querySelectorAll<HTMLButtonElement>("[data-view]").forEach((b) => b.addEventListener("click", () => b.dataset.view === "fit-shown" ? viewer.fitTo(viewer.shownBox()) : viewer.view(b.dataset.view!)));
  $("rv-shot").addEventListener("click", () => {
    viewer.renderer.render(viewer.scene, viewer.camera);
    viewer.renderer.domElement.toBlob((blob) => {
      if (!blob) return;
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `flowcfd-${p.job.slice(0, 8)}-${p.colorBy.value.replace(":", "-")}.png`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    }, "image/png");
  });
}
