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

  // Rows that are still changing: poll each one's API resource and reload the page when its
  // status changes (the server renders the new state); `update` refreshes a row meanwhile.
  const follow = (rows, url, every, update) => {
    if (!rows.length) return;
    const poll = async () => {
      for (const row of rows) {
        const r = await fetch(url(row), { credentials: "same-origin" });
        if (!r.ok) continue;
        const v = await r.json();
        if (v.status !== row.dataset.status) { location.reload(); return; }
        if (update) update(row, v);
      }
      setTimeout(poll, every);
    };
    setTimeout(poll, every);
  };

  // Geometries still being processed.
  follow([...document.querySelectorAll("[data-geometry][data-status]")]
    .filter((r) => r.dataset.status === "pending" || r.dataset.status === "processing"),
    (row) => `/api/geometries/${row.dataset.geometry}`, 1000);

  // Live jobs in a project's list, with their progress.
  follow([...document.querySelectorAll("tr[data-job]")]
    .filter((r) => !["completed", "failed", "cancelled"].includes(r.dataset.status)),
    (row) => `/api/jobs/${row.dataset.job}`, 2000, (row, j) => {
      const cell = row.cells[3];
      if (cell && j.iteration) cell.textContent = `iteration ${j.iteration}`;
      else if (cell && j.step) cell.textContent = j.step;
    });
});
