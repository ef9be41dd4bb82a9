// Small progressive enhancements for the server-rendered pages (no framework):
// live geometry and job status, confirmation of destructive actions, local times.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Destructive actions ask first.
  for (const f of document.querySelectorAll("form[data-confirm]")) {
    f.addEventListener("submit", (e) => { if (!confirm(f.dataset.confirm)) e.preventDefault(); });
  }

  // Times in the reader's zone.
  for (const t of document.querySelectorAll("time[data-ms]")) {
    const d = new Date(Number(t.dataset.ms));
    if (!isNaN(d)) t.textContent = d.toLocaleString();
  }

  // Geometries still being processed: poll until they settle, then reload the table.
  const pending = [...document.querySelectorAll("[data-geometry][data-status]")]
    .filter((r) => r.dataset.status === "pending" || r.dataset.status === "processing");
  if (pending.length) {
    const poll = async () => {
      for (const row of pending) {
        const r = await fetch(`/api/geometries/${row.dataset.geometry}`, { credentials: "same-origin" });
        if (!r.ok) continue;
        const g = await r.json();
        if (g.status !== row.dataset.status) { location.reload(); return; }
      }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 1000);
  }

  // Live jobs in a project's list: refresh their progress; reload when one changes state.
  const live = [...document.querySelectorAll("tr[data-job]")]
    .filter((r) => !["completed", "failed", "cancelled"].includes(r.dataset.status));
  if (live.length) {
    const pollJobs = async () => {
      for (const row of live) {
        const r = await fetch(`/api/jobs/${row.dataset.job}`, { credentials: "same-origin" });
        if (!r.ok) continue;
        const j = await r.json();
        if (j.status !== row.dataset.status) { location.reload(); return; }
        const cell = row.cells[3];
        if (cell && j.iteration) cell.textContent = `iteration ${j.iteration}`;
        else if (cell && j.step) cell.textContent = j.step;
      }
      setTimeout(pollJobs, 2000);
    };
    setTimeout(pollJobs, 2000);
  }
});
