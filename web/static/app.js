// Small progressive enhancements for the server-rendered pages (no framework):
// upload progress, live geometry status, confirmation of destructive actions, local times.
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

  // Upload with a progress bar; the server answers with the project page.
  const form = document.getElementById("upload");
  if (form) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const bar = document.getElementById("upload-progress");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      bar.hidden = false;
      xhr.upload.onprogress = (p) => { if (p.lengthComputable) bar.value = (100 * p.loaded) / p.total; };
      xhr.onload = () => { document.open(); document.write(xhr.responseText); document.close(); history.replaceState(null, "", xhr.responseURL); };
      xhr.onerror = () => { bar.hidden = true; alert("The upload failed: the connection was lost. Try again."); };
      xhr.send(new FormData(form));
    });
  }

  // Geometries still being processed: poll until they settle, then reload the table.
  const pending = [...document.querySelectorAll("tr[data-geometry]")]
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
});
