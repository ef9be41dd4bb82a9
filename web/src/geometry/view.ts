// The geometry page's 3D view with group picking, and the legend beside it: the surface
// downloaded with a progress bar, hover and click in either one highlight and select
// groups (through the shared selection in ./state).
import { $, groupDigits } from "../api";
import { download, parseSurface, Viewer, webglAvailable } from "../viewer";
import { colors, selected, setSelection, setViewer, viewer } from "./state";

/** Colours the swatches the page shows next to each group's name. */
export function paintSwatches(): void {
  for (const el of document.querySelectorAll<HTMLElement>("[data-swatch]")) {
    el.style.background = colors[Number(el.dataset.swatch)];
  }
}

export async function startViewer(): Promise<void> {
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
    const v = new Viewer(el, s, colors);
    setViewer(v);
    // For tooling (web/e2e/bench-viewer.mjs): the viewer behind the element.
    (el as HTMLElement & { flowcfdViewer?: Viewer }).flowcfdViewer = v;
    status?.remove();
    el.dataset.ready = "true";
    $("viewer-info").textContent =
      `${groupDigits(v.triangles)} triangles, ${s.groupCount} group${s.groupCount === 1 ? "" : "s"}. Click selects a group, shift-click adds to the selection; F fits, Esc clears.`;
    v.onSelect = (sel) => setSelection(sel, "viewer");
    v.onHover = (g) => {
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

/** The legend: hover (or keyboard focus) highlights, click or Enter selects (shift adds). */
export function wireLegend(): void {
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
}
