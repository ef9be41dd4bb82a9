// Loads one layer of the result for the controls, with the progress bar, the status line,
// and timings on the root element's data attributes (read by web/e2e). Large surfaces come
// in two passes: a preview decimated to PREVIEW_TRIANGLES (a whole, coarser picture on
// screen quickly), and the full result, which replaces it. The full pass starts as soon as
// the preview's header says it was decimated, so it downloads and is built while the
// preview is drawn.
import { fmt, groupDigits } from "../api";
import type { Page } from "./state";
import type { Kind } from "./stream";
import type { ResultsViewer } from "./view";

const PREVIEW_TRIANGLES = 200_000;

/** Loads `kind` from `url`, `label` naming it in the status line. */
export type Run = (kind: Kind, label: string, url: string) => Promise<void>;

type Loaded = Awaited<ReturnType<ResultsViewer["load"]>>;

/** A loader for the page; `afterShown` runs once a layer is shown in full. */
export function loader(p: Page, afterShown: () => void): Run {
  const { root, viewer, bar, setStatus } = p;
  let busy = 0;
  let clicked = 0;
  viewer.onFirstDrawn = (kind) => {
    if (root.dataset[`${kind}FirstAt`] !== String(clicked)) {
      root.dataset[`${kind}FirstAt`] = String(clicked);
      root.dataset[`${kind}FirstMs`] = String(Math.round(performance.now() - clicked));
    }
  };
  const runs = new Map<Kind, number>();
  return async (kind, label, url) => {
    const id = (runs.get(kind) ?? 0) + 1;
    runs.set(kind, id);
    busy++;
    clicked = performance.now();
    bar.hidden = false;
    bar.value = 0;
    setStatus(`Loading the ${label}…`, true);
    const t0 = performance.now();
    try {
      const pass = { preview: 0, full: 0, fullLoad: null as Promise<Loaded> | null };
      const progress = () => (bar.value = pass.fullLoad ? 0.25 * pass.preview + 0.75 * pass.full : pass.preview);
      const first = await viewer.load(kind, kind === "streamlines" ? url : `${url}&max_triangles=${PREVIEW_TRIANGLES}`, {
        onProgress: (f) => { pass.preview = f; progress(); },
        onMeta: (m) => {
          if (kind === "streamlines" || (m.triangles_before_lod ?? 0) <= m.triangles) return;
          pass.fullLoad = viewer.load(kind, url, { swapAtEnd: true, onProgress: (f) => { pass.full = f; progress(); } });
          pass.fullLoad.catch(() => {}); // awaited below; this only keeps it from counting as unhandled meanwhile
        },
      });
      if (pass.fullLoad && first.shown && runs.get(kind) === id) {
        root.dataset[`${kind}PreviewMs`] = String(Math.round(performance.now() - t0));
        setStatus(`${label}: a preview of ${groupDigits(first.meta.triangles)} triangles; loading all ${groupDigits(first.meta.triangles_before_lod!)}…`, true);
      }
      const { meta: m, shown } = pass.fullLoad ? await pass.fullLoad : first;
      if (runs.get(kind) !== id) return; // a newer request of this kind reports instead
      if (!shown) {
        setStatus(`The ${label} is hidden.`);
        return;
      }
      const s = ((performance.now() - t0) / 1000).toFixed(2);
      const what = kind === "streamlines" ? `${m.count ?? 0} streamlines, ${fmt(m.total_length ?? 0, 4)} m in all` : `${groupDigits(m.triangles)} triangles, ${fmt(m.area, 4)} m²`;
      setStatus(`${label}: ${what}, in ${s} s`, busy > 1);
      root.dataset[`${kind}Ms`] = String(Math.round(performance.now() - t0));
      root.dataset[`${kind}Triangles`] = String(m.triangles);
      afterShown();
    } catch (e) {
      if (runs.get(kind) !== id) return;
      setStatus(`The ${label} failed: ${(e as Error).message}`);
      root.dataset.state = "error";
    } finally {
      busy--;
      if (!busy) { bar.hidden = true; if (root.dataset.state !== "error") root.dataset.state = "ready"; }
    }
  };
}
