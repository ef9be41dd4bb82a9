// The job page's "Download report (PDF)": the server makes the report on the first request
// (seconds for a large result), so the button fetches it with a visible "preparing" state,
// then hands the PDF to the browser as a download; a refusal shows the server's reason.
import { problem } from "./api";

/** Wires the report button, if the page has one (ended jobs only). */
export function reportButton(): void {
  const link = document.getElementById("report-download") as HTMLAnchorElement | null;
  const state = document.getElementById("report-state");
  if (!link || !state) return;
  const label = link.textContent ?? "Download report (PDF)";
  let busy = false;
  link.addEventListener("click", async (ev) => {
    ev.preventDefault();
    if (busy) return;
    busy = true;
    link.setAttribute("aria-disabled", "true");
    link.classList.add("busy");
    link.innerHTML = '<span class="spinner" aria-hidden="true"></span> Preparing the report…';
    state.className = "muted small";
    state.textContent = "The report is being made on the server; this can take a few seconds.";
    try {
      const r = await fetch(link.href, { credentials: "same-origin" });
      if (!r.ok) throw new Error(await problem(r));
      const blob = await r.blob();
      const name = /filename="([^"]+)"/.exec(r.headers.get("content-disposition") ?? "")?.[1] ?? "report.pdf";
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      state.textContent = r.headers.get("x-report-cache") === "hit" ? "Downloaded." : "Made and downloaded.";
    } catch (e) {
      state.className = "error small";
      state.setAttribute("role", "alert");
      state.textContent = `No report: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      busy = false;
      link.removeAttribute("aria-disabled");
      link.classList.remove("busy");
      link.textContent = label;
    }
  });
}
