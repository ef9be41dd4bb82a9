// Results-viewer benchmark (not a test): how long after the click a large result is on the
// screen of Debian's chromium, over loopback. A tiny job is solved for real, then its case
// archive is swapped for a large result (default: the 1M-cell case `flowcfd-bench post`
// makes), and the job page's viewer is timed from the checkbox click to the last chunk
// drawn, cold (extracted on the server, then cached in the object store) and warm (from the
// cache). Baseline in the same run: the same request fetched without the viewer (the bytes
// alone), so the ratio shows what parsing and drawing add.
// Headless chromium draws with SwiftShader (software WebGL on the CPU).
//
//   npm --prefix web run bench-results [-- CASE_DIR [ISO_FIELD ISO_VALUE [cells|tets]]]
// (default: the 1M-cell case, |U| = 10 m/s through tetrahedra: about 844,000 triangles)
import { chromium } from "playwright-core";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(web, "..");
const caseDir = resolve(process.argv[2] || "/var/tmp/flowcfd-bench-post-1m/out/case");
const isoField = process.argv[3] || "U:mag";
const isoValue = Number(process.argv[4] || 10);
const isoMethod = process.argv[5] || "tets";
const bin = process.env.FLOWCFD_BIN || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "debug", "flowcfd");
const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

const dir = mkdtempSync(join(tmpdir(), "flowcfd-bench-results-"));
// The large result as a job's case archive: case/ with the mesh, the system files and the
// latest time only.
const times = spawnSync("sh", ["-c", `ls -d ${caseDir}/[0-9]* | xargs -n1 basename | sort -g | tail -1`]).stdout.toString().trim();
const tgz = join(dir, "case.tar.gz");
log(`packing ${caseDir} (time ${times})…`);
const tar = spawnSync("tar", ["czf", tgz, "-C", dirname(caseDir), "--transform", `s,^${basename(caseDir)},case,`,
  `${basename(caseDir)}/constant/polyMesh`, `${basename(caseDir)}/system`, `${basename(caseDir)}/${times}`]);
if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);

const freePort = () => new Promise((ok) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); }); });
const port = await freePort();
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FLOWCFD_")));
Object.assign(env, { FLOWCFD_LOG__FILTER: "warn", OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1" });
const server = spawn(bin, ["serve", "--bind", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], { env, stdio: "inherit" });
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try { if ((await fetch(`${url}/health/ready`)).ok) break; } catch {}
  if (i > 300) throw new Error("server did not start");
  await new Promise((r) => setTimeout(r, 100));
}
const api = async (method, path, token, body) => {
  const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
};
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"],
});
try {
  const email = "bench@example.org", password = "laminar-flow-2026";
  await fetch(`${url}/api/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password, name: "Bench" }) });
  const { token } = await (await fetch(`${url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) })).json();
  const p = await api("POST", "/api/projects", token, { name: "results bench" });
  const form = new FormData();
  form.append("file", new Blob([readFileSync(join(root, "examples/cube.stl"))]), "cube.stl");
  const g = await (await fetch(`${url}/api/projects/${p.id}/geometries`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form })).json();
  for (let i = 0; (await api("GET", `/api/geometries/${g.id}`, token)).status !== "ready"; i++) {
    if (i > 600) throw new Error("geometry not ready");
    await new Promise((r) => setTimeout(r, 100));
  }
  const c = await api("POST", `/api/projects/${p.id}/cases`, token, { name: "bench", geometry_id: g.id, flow: { type: "external", velocity: [10, 0, 0] }, mesh: { target_cells: 8000 }, solver: { iterations: 5 } });
  const j = await api("POST", `/api/cases/${c.id}/jobs`, token, { executor: "local", cores: 1 });
  log("solving a tiny case for a job to attach the result to…");
  for (;;) {
    const s = (await api("GET", `/api/jobs/${j.id}`, token)).status;
    if (s === "completed") break;
    if (["failed", "cancelled"].includes(s)) throw new Error(`the tiny job ${s}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  copyFileSync(tgz, join(dir, "data/blobs/jobs", j.id, "case.tar.gz"));
  // The server unpacks and opens the result on the first request; do that outside the timing.
  const idx = await api("GET", `/api/jobs/${j.id}/post`, token);
  log(`result attached: ${idx.cells} cells, time ${idx.time}`);

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(600_000);
  await page.goto(`${url}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);
  await page.goto(`${url}/jobs/${j.id}`);
  const ready = (key) => page.waitForFunction((k) => {
    const el = document.getElementById("results-viewer");
    return el?.dataset.state === "ready" && el.dataset[k] !== undefined;
  }, key);
  await ready("surfaceMs");
  await page.selectOption("#rv-iso-field", isoField);
  await page.selectOption("#rv-iso-method", isoMethod);
  await page.waitForTimeout(1500); // the field's range arrives and resets the slider first
  await page.evaluate((v) => { const s = document.getElementById("rv-iso-value"); s.step = "any"; s.min = String(Math.min(Number(s.min), v)); s.max = String(Math.max(Number(s.max), v)); s.value = String(v); }, isoValue);
  const timeIt = async (kind, box) => {
    await page.evaluate((k) => { const d = document.getElementById("results-viewer").dataset; delete d[`${k}Ms`]; delete d[`${k}PreviewMs`]; }, kind);
    await page.check(box);
    await ready(`${kind}Ms`);
    const ms = Number(await page.getAttribute("#results-viewer", `data-${kind}-ms`));
    const firstMs = Number(await page.getAttribute("#results-viewer", `data-${kind}-first-ms`));
    const previewMs = Number(await page.getAttribute("#results-viewer", `data-${kind}-preview-ms`) ?? NaN);
    const tris = Number(await page.getAttribute("#results-viewer", `data-${kind}-triangles`));
    // One full frame of what is shown (reading a pixel back waits for it).
    const frameMs = await page.evaluate(() => {
      const v = window.resultsViewer;
      const gl = v.renderer.getContext();
      const t = performance.now();
      v.renderer.render(v.scene, v.camera);
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
      return performance.now() - t;
    });
    await page.uncheck(box);
    return { ms, firstMs, previewMs, tris, frameMs };
  };
  const out = [];
  for (const [kind, box] of [["iso", "#rv-iso"], ["slice", "#rv-slice"]]) {
    const cold = await timeIt(kind, box);
    // Warm: three times, the median (by the time to full detail) reported.
    const warms = [];
    for (let i = 0; i < 3; i++) warms.push(await timeIt(kind, box));
    warms.sort((a, b) => a.ms - b.ms);
    const warm = warms[1];
    warm.all = warms.map((w) => w.ms);
    // Baseline: the same (cached) bytes fetched by the page without parsing or drawing.
    const q = kind === "iso"
      ? `iso?field=${encodeURIComponent(isoField)}&value=${isoValue}&color_by=p&method=${isoMethod}`
      : null;
    const bytesMs = q ? await page.evaluate(async (u) => { const t = performance.now(); const b = await (await fetch(u)).arrayBuffer(); return { ms: performance.now() - t, mb: b.byteLength / 1e6 }; }, `/api/jobs/${j.id}/post/${q}`) : null;
    out.push({ kind, cold, warm, bytesMs });
    log(`${kind}: ${cold.tris} triangles; click to drawn ${cold.ms} ms cold (extracted; the preview after ${cold.previewMs} ms), ${warm.ms} ms warm (cached; median of ${warm.all.join(", ")}), first chunk drawn after ${warm.firstMs} ms, the whole preview after ${warm.previewMs} ms; one frame ${warm.frameMs.toFixed(0)} ms${bytesMs ? `; the bytes alone (${bytesMs.mb.toFixed(1)} MB) ${bytesMs.ms.toFixed(0)} ms` : ""}`);
  }
  await page.screenshot({ path: join(web, "e2e-artifacts", "results-bench.png") });
  const iso = out[0];
  console.log(`RESULT ${iso.cold.tris} triangles: first chunk on screen ${(iso.warm.firstMs / 1000).toFixed(2)} s after the click, the whole of it as a preview after ${(iso.warm.previewMs / 1000).toFixed(2)} s, in full detail ${(iso.warm.ms / 1000).toFixed(2)} s (cached, the median of three; ${(iso.cold.ms / 1000).toFixed(2)} s when extracted first, with the preview after ${(iso.cold.previewMs / 1000).toFixed(2)} s), of which one software-rendered frame is ${(iso.warm.frameMs / 1000).toFixed(2)} s; the bytes alone take ${(iso.bytesMs.ms / 1000).toFixed(2)} s (full detail / bytes alone: ${(iso.warm.ms / iso.bytesMs.ms).toFixed(1)}×)`);
} finally {
  await browser.close();
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
