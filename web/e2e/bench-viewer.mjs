// Viewer benchmark (not a test): the geometry page in Debian's chromium on a 2M-triangle
// surface, against two baselines measured in the same run:
// - picking (hover and click): the page's ray cast through its BVH against three.js's
//   ray cast through every triangle, at the same pixels;
// - frames: a full frame of the 2M-triangle surface against the same page on a small
//   (12-triangle) surface, i.e. what the triangle count costs.
// Headless chromium draws with SwiftShader (software WebGL on the CPU), so absolute frame
// times are far slower than on any GPU; the ratios are what carries over.
//
//   npm --prefix web run bench-viewer [-- TRIANGLES]     (default 2,000,000)
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(web, "..");
const want = Number(process.argv[2] || 2_000_000);
const bin = process.env.FLOWCFD_BIN || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "release", "flowcfd");

/** A closed UV sphere of radius 0.5 m as binary STL, with about `n` triangles. */
function sphere(n) {
  const rings = Math.max(8, Math.round(Math.sqrt(n / 2)));
  const segs = Math.max(8, Math.round(n / (2 * rings)));
  const p = (i, j) => {
    const th = (Math.PI * i) / rings, ph = (2 * Math.PI * j) / segs;
    return [0.5 * Math.sin(th) * Math.cos(ph), 0.5 * Math.sin(th) * Math.sin(ph), 0.5 * Math.cos(th)];
  };
  const tris = [];
  for (let i = 0; i < rings; i++) {
    for (let j = 0; j < segs; j++) {
      const a = p(i, j), b = p(i + 1, j), c = p(i + 1, j + 1), d = p(i, j + 1);
      if (i > 0) tris.push([a, b, d]);
      if (i < rings - 1) tris.push([b, c, d]);
    }
  }
  const buf = Buffer.alloc(84 + 50 * tris.length);
  buf.writeUInt32LE(tris.length, 80);
  let o = 84;
  for (const t of tris) {
    o += 12; // normal: zero, the reader recomputes it
    for (const v of t) for (const x of v) { buf.writeFloatLE(x, o); o += 4; }
    o += 2;
  }
  return { buf, count: tris.length };
}

const freePort = () => new Promise((ok) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); }); });
const dir = mkdtempSync(join(tmpdir(), "flowcfd-bench-viewer-"));
const port = await freePort();
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FLOWCFD_")));
env.FLOWCFD_LOG__FILTER = "warn";
const server = spawn(bin, ["serve", "--bind", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], { env, stdio: "inherit" });
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try { if ((await fetch(`${url}/health/ready`)).ok) break; } catch {}
  if (i > 300) throw new Error("server did not start");
  await new Promise((r) => setTimeout(r, 100));
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(600_000);
  await page.goto(`${url}/register`);
  await page.getByLabel("Name").fill("Bench");
  await page.getByLabel("Email").fill("bench@example.org");
  await page.getByLabel("Password").fill("laminar-flow-2026");
  await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);
  await page.fill("input[name=name]", "viewer bench");
  await Promise.all([page.waitForURL(/\/projects\//), page.click("form[action='/projects'] button[type=submit]")]);

  async function open(label, stlPath) {
    const before = await page.locator("tr[data-geometry]").count();
    await page.setInputFiles("#upload-file", stlPath);
    await page.click("#upload button[type=submit]");
    const row = page.locator("tr[data-geometry]").nth(before);
    await page.waitForFunction((n) => {
      const rows = document.querySelectorAll("tr[data-geometry]");
      return rows.length > n && rows[n].dataset.status === "ready";
    }, before);
    const back = page.url();
    const t0 = Date.now();
    await Promise.all([page.waitForURL(/\/geometries\//), row.locator("a").click()]);
    await page.waitForSelector("#viewer[data-ready=true]");
    const shown0 = (Date.now() - t0) / 1000;
    await page.waitForSelector("#viewer[data-bvh=ready]");
    const shown = (Date.now() - t0) / 1000;
    const m = await page.evaluate(() => {
      const el = document.getElementById("viewer");
      const v = el.flowcfdViewer;
      const gl = v.renderer.getContext();
      const px = new Uint8Array(4);
      // Reading a pixel back waits until the frame has really been drawn.
      const frame = () => { v.renderNow(); gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px); };
      frame();
      const t0 = performance.now();
      const n = 12;
      for (let i = 0; i < n; i++) { v.orbit(0.05); frame(); }
      const frameMs = (performance.now() - t0) / n;
      const moving = () => { v.renderNow(true); gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px); };
      moving();
      const t1 = performance.now();
      for (let i = 0; i < n; i++) { v.orbit(0.05); moving(); }
      const movingMs = (performance.now() - t1) / n;
      const w = el.clientWidth, h = el.clientHeight;
      const pts = Array.from({ length: 9 }, (_, i) => [w * (0.3 + 0.05 * i), h * (0.35 + 0.03 * i)]);
      let t = performance.now();
      const fast = pts.map(([x, y]) => v.pick(x, y));
      const bvhPickMs = (performance.now() - t) / pts.length;
      t = performance.now();
      const slow = pts.map(([x, y]) => v.pickBruteForce(x, y));
      const brutePickMs = (performance.now() - t) / pts.length;
      return { triangles: v.triangles, lodTriangles: v.lodTriangles, movingMs, frameMs, bvhMs: v.bvhMs, bvhPickMs, brutePickMs, agree: fast.every((g, i) => g === slow[i]) };
    });
    await page.goto(back);
    return { label, shown: shown0, pickable: shown, ...m };
  }

  const big = sphere(want);
  const bigPath = join(dir, "sphere.stl");
  writeFileSync(bigPath, big.buf);
  const small = join(root, "examples/cube.stl");
  const a = await open("cube (baseline)", small);
  const b = await open(`sphere (${big.count} triangles)`, bigPath);
  for (const r of [a, b]) {
    console.log(`${r.label}: ${r.triangles} triangles; page to first frame ${r.shown.toFixed(1)} s, pickable after ${r.pickable.toFixed(1)} s (BVH ${r.bvhMs.toFixed(0)} ms); frame ${r.frameMs.toFixed(1)} ms, while orbiting ${r.movingMs.toFixed(1)} ms (${r.lodTriangles || r.triangles} triangles); pick ${r.bvhPickMs.toFixed(3)} ms (BVH) vs ${r.brutePickMs.toFixed(2)} ms (every triangle); same groups: ${r.agree}`);
  }
  console.log(`RESULT pick on ${b.triangles} triangles: ${b.bvhPickMs.toFixed(3)} ms through the BVH vs ${b.brutePickMs.toFixed(1)} ms through every triangle = ${(b.brutePickMs / b.bvhPickMs).toFixed(0)}x faster`);
  console.log(`RESULT frame while orbiting ${b.triangles} triangles: ${b.movingMs.toFixed(0)} ms (stand-in of ${b.lodTriangles} triangles) vs ${b.frameMs.toFixed(0)} ms full = ${(b.frameMs / b.movingMs).toFixed(1)}x faster; the 12-triangle frame is ${a.frameMs.toFixed(0)} ms (SwiftShader: WebGL on the CPU)`);
} finally {
  await browser.close();
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
