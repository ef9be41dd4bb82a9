// End-to-end tests of the browser workflow: the real flowcfd binary (built here with cargo
// unless FLOWCFD_BIN names one), started on a free port with a temporary data directory,
// driven through Debian's chromium by playwright-core (no browser download).
//
//   npm --prefix web run e2e            both tests
//   npm --prefix web run e2e -- step    only the STEP import
//
// 1. workflow: register → create a project → upload a small STL → external-aero template
//    → mesh-only job and its quality page → solve a tiny case on the local executor,
//    watching the residual plot gain points while it runs → completed summary → the 3D
//    results viewer: wall surface, a cut plane dragged in 3D, an isosurface, streamlines,
//    a probe by click, colormap and fixed range, camera presets, PNG screenshot.
// 2. step: import a STEP fixture in the browser (OpenCASCADE WASM) and check that its
//    faces arrive at the server as surface groups, with the original kept.
// 3. pages: the account page (name, job mail, an API token shown once and revoked, password
//    change, sign-ins), an org made on the dashboard (invite, revoke, rename, delete with its
//    name typed), a project's webhook refused for a loopback URL, and the admin page
//    (clusters' health, jobs filtered).
//
// Screenshots go to web/e2e-artifacts/ (or $FLOWCFD_E2E_ARTIFACTS).
import { chromium } from "playwright-core";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(web, "..");
const artifacts = process.env.FLOWCFD_E2E_ARTIFACTS || join(web, "e2e-artifacts");
mkdirSync(artifacts, { recursive: true });
const only = process.argv[2];

function log(...a) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...a);
}

function binary() {
  if (process.env.FLOWCFD_BIN) return process.env.FLOWCFD_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(root, "target");
  log("building flowcfd (cargo build)…");
  const r = spawnSync("cargo", ["build", "--bin", "flowcfd"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("cargo build failed");
  return join(target, "debug", "flowcfd");
}

function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
}

async function startServer(bin, again) {
  const dir = again?.dir ?? mkdtempSync(join(tmpdir(), "flowcfd-e2e-"));
  const port = again?.port ?? (await freePort());
  // The embedded defaults only: no configuration from the caller's environment.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FLOWCFD_")));
  // A short job lease, so that a restarted server takes its running jobs back quickly.
  Object.assign(env, {
    OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1",
    FLOWCFD_LOG__FILTER: process.env.FLOWCFD_E2E_LOG || "warn", FLOWCFD_JOBS__LEASE_S: "3",
  });
  const proc = spawn(bin, ["serve", "--bind", `127.0.0.1:${port}`, "--data-dir", join(dir, "data")], {
    cwd: dir, env, stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`flowcfd serve exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${url}/health/ready`);
      if (r.ok) return { url, proc, dir, port, bin };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("flowcfd serve did not become ready in 30 s");
}

async function stopServer(s) {
  if (s.proc.exitCode === null) {
    s.proc.kill("SIGTERM");
    await new Promise((r) => { s.proc.once("exit", r); setTimeout(r, 10_000); });
    if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
  }
  rmSync(s.dir, { recursive: true, force: true });
}

async function newPage(browser, name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(60_000);
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") page.errors.push(`${name}: ${m.text()} (${m.location().url})`);
  });
  return page;
}

async function register(page, url, email) {
  await page.goto(`${url}/register`);
  await page.getByLabel("Name").fill("E2E Engineer");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("laminar-flow-2026");
  await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);
}

async function createProject(page, url, name) {
  await page.fill("input[name=name]", name);
  await Promise.all([page.waitForURL(/\/projects\/[^/]+$/), page.click("form[action='/projects'] button[type=submit]")]);
  return page.url().split("/").pop();
}

async function uploadAndOpen(page, file) {
  await page.setInputFiles("#upload-file", file);
  await page.click("#upload button[type=submit]");
  // The page comes back with the new geometry, and reloads by itself once it is processed.
  await page.waitForSelector("tr[data-geometry][data-status=ready]", { timeout: 60_000 });
  await Promise.all([page.waitForURL(/\/geometries\//), page.click("tr[data-geometry] a")]);
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function workflow(browser, server) {
  const url = server.url;
  const page = await newPage(browser, "workflow");
  try {
    await register(page, url, "e2e@example.org");
    await createProject(page, url, "Wind tunnel e2e");
    log("uploading the cube");
    await uploadAndOpen(page, join(root, "examples/cube.stl"));

    // The viewer draws the surface (WebGL through SwiftShader in headless chromium).
    await page.waitForSelector("#viewer[data-ready=true]");
    await page.click("[data-view=iso]");
    const box = await page.locator("#viewer canvas").boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector("#legend li.selected");
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(artifacts, "viewer.png") });
    log("viewer ok, a click on the body selected its group");

    // Boundaries: the external-aero template makes every body group a wall.
    await page.click("#tpl-aero");
    const cells = await page.locator("#bc-table .bc-cell").allTextContents();
    check(cells.length > 0 && cells.every((c) => c === "wall"), `template left ${cells}`);
    // Internal flow without an inlet and outlet is refused, next to the table.
    await page.selectOption("#flow-type", "internal");
    await page.click("button[data-step-next], fieldset[data-step=bc] .nav-row button[data-go=mesh]");
    const err = await page.textContent("#err-bc");
    check(err.includes("velocity inlet") && err.includes("pressure outlet"), `no internal-flow rule shown: ${err}`);
    await page.selectOption("#flow-type", "external");
    await page.click("#tpl-aero");

    // Mesh: a small target; the suggestion comes from the built-in mesh AI, with reasons.
    await page.click("fieldset[data-step=bc] .nav-row button[data-go=mesh]");
    await page.locator("#target-cells").fill(String(Math.log10(20000)));
    await page.locator("#target-cells").dispatchEvent("input");
    await page.waitForFunction(() => document.getElementById("predicted")?.textContent?.includes("20\u2009000"));
    const source = await page.textContent("#mesh-source");
    check(source.includes("mesh AI"), `suggestion source not shown: ${source}`);
    const why = await page.textContent("tr[data-param=base_cell_size] .why");
    check(why.length > 10, "no reason for the base cell size");
    log("mesh suggestion:", (await page.textContent("#predicted")).trim());

    // Mesh only, then the quality page.
    await Promise.all([page.waitForURL(/\/jobs\//), page.click("#mesh-only")]);
    log("mesh-only job submitted");
    await page.waitForSelector("#mesh-quality", { timeout: 240_000 });
    const quality = await page.textContent("#mesh-quality");
    check(/Cells/.test(quality) && /checkMesh (OK|failed)/.test(quality), "no mesh quality shown");
    await page.screenshot({ path: join(artifacts, "mesh-quality.png"), fullPage: true });
    log("mesh quality page ok");

    // Back to the set-up: solve a tiny case locally.
    await Promise.all([page.waitForURL(/\/geometries\//), page.click(".crumbs a[href^='/geometries/']")]);
    await page.waitForSelector("#viewer[data-ready=true]");
    await page.click("#tpl-aero");
    await page.click(".steps [data-go=mesh]");
    await page.locator("#target-cells").fill(String(Math.log10(20000)));
    await page.locator("#target-cells").dispatchEvent("input");
    await page.waitForFunction(() => document.getElementById("predicted")?.textContent?.includes("20\u2009000"));
    await page.click(".steps [data-go=solver]");
    await page.fill("#iterations", "250");
    await page.click("fieldset[data-step=solver] .nav-row button[data-go=review]");
    await page.fill("#case-name", "Cube e2e");
    const review = await page.textContent("#review");
    check(review.includes("20\u2009000") && review.includes("250 iterations"), `review incomplete: ${review}`);
    await Promise.all([page.waitForURL(/\/jobs\//), page.click("#run")]);
    log("solve submitted:", page.url());

    // The residual plot gains points while the solve runs. Midway the server is killed
    // (-9) and started again: the page reconnects and the history has no gap and no
    // duplicate (points plotted == last iteration, at every look).
    const seen = [];
    const conns = new Set();
    const t0 = Date.now();
    let shot = false;
    let restarted = false;
    let logLive = false;
    while (Date.now() - t0 < 400_000) {
      const st = await page.evaluate(() => {
        const p = document.getElementById("plot-residuals");
        return {
          status: document.getElementById("live")?.dataset.status,
          conn: document.getElementById("live")?.dataset.connection,
          points: Number(p?.dataset.points ?? 0),
          last: Number(p?.dataset.last ?? 0),
          tail: document.getElementById("log-tail")?.textContent ?? "",
        };
      }).catch(() => null);
      if (!st) break; // the page reloads when the job ends
      if (["completed", "failed", "cancelled"].includes(st.status)) break;
      conns.add(st.conn);
      // The log tail follows the socket's log events: solver output, each line once.
      const times = st.tail.split("\n").filter((l) => /^Time = \d+$/.test(l.trim()));
      if (times.length) logLive = true;
      check(new Set(times).size === times.length, `the log tail repeats lines: ${times.join(", ")}`);
      check(st.points === st.last, `the plotted history has a gap or a duplicate: ${st.points} points up to iteration ${st.last}`);
      if (st.points > 0 && seen[seen.length - 1] !== st.points) seen.push(st.points);
      if (!shot && st.points >= 10) {
        await page.screenshot({ path: join(artifacts, "live-job.png"), fullPage: true });
        shot = true;
      }
      if (!restarted && st.points >= 15) {
        restarted = true;
        log(`killing the server at iteration ${st.last}, then starting it again`);
        server.proc.kill("SIGKILL");
        await new Promise((r) => server.proc.once("exit", r));
        const again = await startServer(server.bin, server);
        server.proc = again.proc;
      }
      await page.waitForTimeout(150);
    }
    log("residual points seen while running:", seen.join(" → "));
    log("connection states seen:", [...conns].join(" | "));
    check(seen.length >= 2 && seen[seen.length - 1] > seen[0], `the residual plot did not grow while running (${seen})`);
    check(restarted && [...conns].some((c) => c?.startsWith("reconnecting")), "the page never showed the dropped connection");
    check(seen[seen.length - 1] > 15, "no points arrived after the reconnect");
    check(logLive, "the log tail never showed the solver's output while it ran");
    await page.waitForSelector("#results", { timeout: 120_000 });
    await page.waitForFunction(() => Number(document.getElementById("plot-residuals")?.dataset.points ?? 0) > 0);
    const status = await page.textContent("#job-status");
    check(status.trim() === "completed", `job ended ${status}`);
    const results = await page.textContent("#results");
    check(/Drag coefficient Cd/.test(results), "no results summary");
    check(await page.locator("a[href$='/case.tar.gz']").count() === 1, "no case download link");
    if (!shot) await page.screenshot({ path: join(artifacts, "live-job.png"), fullPage: true });
    await page.screenshot({ path: join(artifacts, "job-completed.png"), fullPage: true });
    log("solve completed; results and downloads shown");
    const final = await page.evaluate(async (id) => (await (await fetch(`/api/jobs/${id}`)).json()).iteration, page.url().split("/").pop());
    const plotted = Number(await page.getAttribute("#plot-residuals", "data-points"));
    check(plotted === final, `the completed plot has ${plotted} points for ${final} iterations`);

    // The 3D results: the wall surface loads by itself; then a cut plane (by checkbox, then
    // dragged in 3D), an isosurface, streamlines, a probe by click, a colormap and a fixed
    // range, camera presets and a PNG.
    const rv = "#results-viewer";
    const ready = async (key) => {
      try {
        await page.waitForFunction((k) => {
          const el = document.getElementById("results-viewer");
          return el?.dataset.state === "ready" && el.dataset[k] !== undefined;
        }, key, { timeout: 60_000 });
      } catch (e) {
        throw new Error(`the results viewer never showed ${key}: ${await page.textContent("#rv-status")} (state ${await page.getAttribute(rv, "data-state")})`);
      }
    };
    await ready("surfaceMs");
    check(Number(await page.getAttribute(rv, "data-surface-triangles")) > 100, "no wall surface in the results viewer");
    check((await page.textContent("#rv-status")).includes("triangles"), "no surface statistics");
    await page.check("#rv-slice");
    await ready("sliceMs");
    const sliceTris = Number(await page.getAttribute(rv, "data-slice-triangles"));
    check(sliceTris > 0, "the cut plane is empty");
    // Drag the plane's handle along its normal (y): the slider follows and a new cut loads.
    const before = Number(await page.inputValue("#rv-slice-pos"));
    await page.click("[data-view='+y']");
    await page.click("[data-view='iso']");
    await page.locator("#rv-canvas").scrollIntoViewIfNeeded();
    const at2 = await page.evaluate(() => {
      // A point of the plane in the middle of the view.
      const v = window.resultsViewer;
      const p = v.controls.target.clone();
      p.y = v.handle.position.y;
      p.project(v.camera);
      const r = v.renderer.domElement.getBoundingClientRect();
      return { x: r.left + (p.x + 1) / 2 * r.width, y: r.top + (1 - p.y) / 2 * r.height };
    });
    await page.evaluate(() => { delete document.getElementById("results-viewer").dataset.sliceMs; });
    await page.mouse.move(at2.x, at2.y);
    await page.mouse.down();
    await page.mouse.move(at2.x + 40, at2.y + 25, { steps: 5 });
    await page.mouse.up();
    await ready("sliceMs");
    const after = Number(await page.inputValue("#rv-slice-pos"));
    check(after !== before, `dragging the cut plane did not move it (${before} → ${after})`);
    log(`cut plane: ${sliceTris} triangles; dragged from y = ${before.toFixed(3)} to ${after.toFixed(3)} m`);
    await page.check("#rv-iso");
    await ready("isoMs");
    await page.click("#rv-stream-go");
    await ready("streamlinesMs");
    check((await page.textContent("#rv-status")).includes("streamlines"), "no streamline statistics");
    await page.selectOption("#rv-colormap", "coolwarm");
    await page.uncheck("#rv-auto");
    await page.fill("#rv-min", "-20");
    await page.fill("#rv-max", "20");
    await page.dispatchEvent("#rv-max", "change");
    check((await page.getAttribute("#rv-legend", "aria-label")).includes("from -20 to 20"), "the fixed range is not on the legend");
    // Probe: look down on the body and click the middle of the view.
    await page.uncheck("#rv-slice");
    await page.uncheck("#rv-iso");
    await page.uncheck("#rv-stream");
    await page.click("[data-view='+z']");
    await page.click("[data-view='fit-shown']");
    await page.locator("#rv-canvas").scrollIntoViewIfNeeded();
    const cbox = await page.locator("#rv-canvas canvas").boundingBox();
    await page.mouse.click(cbox.x + cbox.width / 2, cbox.y + cbox.height / 2);
    await page.waitForFunction(() => /=/.test(document.getElementById("rv-probe")?.textContent ?? ""));
    log("probe:", await page.textContent("#rv-probe"));
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#rv-shot")]);
    check(download.suggestedFilename().endsWith(".png"), "the screenshot is not a PNG");
    // A line plot between two clicked points (on the body, seen from the top).
    await page.click("#rv-line");
    await page.locator("#rv-canvas").scrollIntoViewIfNeeded();
    const lbox = await page.locator("#rv-canvas canvas").boundingBox();
    await page.mouse.click(lbox.x + lbox.width * 0.45, lbox.y + lbox.height * 0.5);
    await page.waitForFunction(() => /now click the end/.test(document.getElementById("rv-probe")?.textContent ?? ""));
    await page.mouse.click(lbox.x + lbox.width * 0.55, lbox.y + lbox.height * 0.5);
    await page.waitForFunction(() => Number(document.getElementById("results-viewer")?.dataset.linePoints ?? 0) > 0);
    log("line plot:", await page.textContent("#rv-probe"));
    await page.click("[data-view='iso']");
    await page.check("#rv-slice");
    await ready("sliceMs");
    await page.screenshot({ path: join(artifacts, "results-viewer.png"), fullPage: true });
    log("results viewer: surface, cut plane (dragged), isosurface, streamlines, probe, line plot, range, PNG");

    // Cancel asks first; a declined confirmation changes nothing, an accepted one cancels.
    await Promise.all([page.waitForURL(/\/geometries\//), page.click(".crumbs a[href^='/geometries/']")]);
    await page.click("#tpl-aero");
    await page.click(".steps [data-go=mesh]");
    await page.locator("#target-cells").fill(String(Math.log10(20000)));
    await page.locator("#target-cells").dispatchEvent("input");
    await page.click(".steps [data-go=solver]");
    await page.fill("#iterations", "5000");
    await page.click(".steps [data-go=review]");
    await page.fill("#case-name", "Cube to cancel");
    await Promise.all([page.waitForURL(/\/jobs\//), page.click("#run")]);
    await page.waitForFunction(() => ["meshing", "solving"].includes(document.getElementById("live")?.dataset.status ?? ""));
    let asked = "";
    page.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
    await page.click("button.danger");
    check(asked.includes("Cancel this job"), `no confirmation before cancelling: "${asked}"`);
    check(!["cancelled"].includes(await page.getAttribute("#live", "data-status")), "a dismissed confirmation cancelled the job");
    page.once("dialog", (d) => d.accept());
    await page.click("button.danger");
    await page.waitForFunction(() => document.getElementById("job-status")?.textContent?.trim() === "cancelled", null, { timeout: 120_000 });
    log("cancel asked for confirmation, then cancelled the job");
    // While the server was killed the browser logs its refused requests; anything else
    // (an uncaught exception included) is an error.
    const errors = page.errors.filter((e) => !e.includes("net::ERR_CONNECTION_REFUSED"));
    check(errors.length === 0, `browser errors: ${errors.join("; ")}`);
  } catch (e) {
    await page.screenshot({ path: join(artifacts, "workflow-failed.png"), fullPage: true }).catch(() => {});
    throw e;
  }
}

async function stepImport(browser, url) {
  const page = await newPage(browser, "step");
  try {
    await register(page, url, "step@example.org");
    const project = await createProject(page, url, "STEP import e2e");
    log("importing the STEP fixture in the browser");
    await page.setInputFiles("#upload-file", join(web, "e2e/fixtures/bracket.step"));
    await page.waitForSelector("#cad-quality:not([hidden])");
    await page.selectOption("#upload-scale", "1");
    await page.selectOption("#upload-quality", "medium");
    await page.click("#upload button[type=submit]");
    await page.waitForSelector("tr[data-geometry][data-status=ready]", { timeout: 120_000 });
    const g = await page.evaluate(async (pid) => {
      const r = await fetch(`/api/projects/${pid}/geometries`);
      return (await r.json())[0];
    }, project);
    const names = g.surface_groups.map((x) => x.name);
    log("surface groups at the server:", names.join(", "));
    check(names.length === 8, `expected the 8 B-rep faces as groups, got ${names.length}`);
    check(names.every((n, i) => n === `face_${i + 1}`), `unexpected group names ${names}`);
    check(g.cad_name === "bracket.step", `the original was not kept: ${g.cad_name}`);
    const size = g.bounding_box.max.map((x, i) => x - g.bounding_box.min[i]);
    check(Math.abs(size[0] - 0.06) < 1e-6 && Math.abs(size[2] - 0.035) < 1e-6, `wrong size ${size} (mm → m)`);
    const cad = await page.evaluate(async (id) => (await fetch(`/api/geometries/${id}/cad`)).text(), g.id);
    check(cad.startsWith("ISO-10303-21") && cad === readFileSync(join(web, "e2e/fixtures/bracket.step"), "utf8"), "the kept original differs");
    await Promise.all([page.waitForURL(/\/geometries\//), page.click("tr[data-geometry] a")]);
    await page.waitForSelector("#viewer[data-ready=true]");
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(artifacts, "step-import.png") });
    check(page.errors.length === 0, `browser errors: ${page.errors.join("; ")}`);
    log("STEP import ok");
  } catch (e) {
    await page.screenshot({ path: join(artifacts, "step-failed.png"), fullPage: true }).catch(() => {});
    throw e;
  }
}

async function signIn(page, url, email, password = "laminar-flow-2026") {
  await page.goto(`${url}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);
}

async function accountOrgAdmin(browser, url, adminEmail) {
  const page = await newPage(browser, "pages");
  const confirmAll = () => page.on("dialog", (d) => d.accept());
  try {
    if (adminEmail === "admin@example.org") await register(page, url, adminEmail);
    const ctx2 = await newPage(browser, "owner");
    await register(ctx2, url, "owner@example.org");
    await ctx2.close();
    await signIn(page, url, "owner@example.org");
    confirmAll();

    // The account page, from the name in the top bar.
    await Promise.all([page.waitForURL(`${url}/account`), page.click("nav a.who")]);
    check(await page.isVisible("text=(this browser)"), "the current browser is not marked among the sign-ins");
    await page.fill("#profile input[name=name]", "Olivia Owner");
    await page.uncheck("#profile input[name=notify_jobs]");
    await page.click("#profile button[type=submit]");
    await page.waitForSelector("p.notice");
    check(!(await page.isChecked("#profile input[name=notify_jobs]")), "job mail stayed on");
    check((await page.textContent("nav a.who")).includes("Olivia Owner"), "the new name is not in the top bar");
    await page.fill("#create-token input[name=name]", "lab pipeline");
    await page.click("#create-token button[type=submit]");
    const token = await page.inputValue("#new-token");
    check(token.startsWith("fcfd_"), `no token shown: ${token}`);
    const me = await (await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json();
    check(me.user.email === "owner@example.org", "the new token does not sign in");
    await page.click("tr[data-token] button");
    await page.waitForSelector("text=Token revoked.");
    check((await page.locator("tr[data-token]").count()) === 0, "the revoked token is still listed");
    const gone = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    check(gone.status === 401, `a revoked token still works (${gone.status})`);
    await page.fill("#password input[name=current_password]", "laminar-flow-2026");
    await page.fill("#password input[name=new_password]", "turbulent-wake-2027");
    await Promise.all([page.waitForURL(/\/account\?changed=password/), page.click("#password button[type=submit]")]);
    check(await page.isVisible("#profile"), "signed out by one's own password change");
    await page.screenshot({ path: join(artifacts, "account.png"), fullPage: true });
    log("account: name, job mail, token shown once and revoked, password changed");

    // An org from the dashboard: invite, revoke, rename, delete confirmed by its name.
    await page.goto(`${url}/`);
    await page.fill("#new-org input[name=name]", "Wake lab");
    await page.fill("#new-org input[name=slug]", "wake-lab");
    await Promise.all([page.waitForURL(/\/orgs\/[^/]+$/), page.click("#new-org button[type=submit]")]);
    const org = page.url();
    await page.fill("#invite input[name=email]", "ed@example.org");
    await page.selectOption("#invite select[name=role]", "viewer");
    await page.click("#invite button[type=submit]");
    await page.waitForSelector("tr[data-invitation]");
    check((await page.textContent("tr[data-invitation]")).includes("viewer"), "the invitation's role is not shown");
    await page.click("tr[data-invitation] button");
    await page.waitForSelector("text=Invitation revoked.");
    await page.fill("#rename input[name=name]", "Wake and wing lab");
    await page.click("#rename button[type=submit]");
    await page.waitForSelector("h1:has-text('Wake and wing lab')");
    await page.fill("#delete input[name=confirm]", "Wake lab");
    await page.click("#delete button[type=submit]");
    await page.waitForSelector("p.error:has-text('nothing was deleted')");
    check(page.url() === org, "a wrong confirmation left the page");
    await page.screenshot({ path: join(artifacts, "org.png"), fullPage: true });
    await page.fill("#delete input[name=confirm]", "Wake and wing lab");
    await Promise.all([page.waitForURL(`${url}/`), page.click("#delete button[type=submit]")]);
    check(!(await page.isVisible("#orgs")), "the deleted org is still listed");
    log("org: invitation made and revoked, renamed, deleted after typing its name");

    // A webhook to a loopback address is refused, saying why.
    await createProject(page, url, "Webhooks e2e");
    await page.fill("#add-webhook input[name=url]", "http://127.0.0.1:9/hook");
    await page.click("#add-webhook button[type=submit]");
    await page.waitForSelector("p.error:has-text('loopback')");
    log("webhook to a loopback URL refused:", (await page.textContent("p.error")).trim());

    // The admin page: clusters' health and every job.
    await page.context().clearCookies();
    await signIn(page, url, adminEmail);
    await page.goto(`${url}/admin`);
    await Promise.all([page.waitForURL(/check=clusters/), page.click("#check-clusters")]);
    await page.waitForSelector("tr[data-cluster=local][data-ok=true]");
    await page.fill("#all-jobs input[name=user]", "no-such-user");
    await Promise.all([page.waitForURL(/user=no-such-user/), page.click("#all-jobs button[type=submit]")]);
    await page.waitForSelector("#all-jobs td:has-text('No job matches.')");
    await page.screenshot({ path: join(artifacts, "admin.png"), fullPage: true });
    log("admin: local executor healthy, job filter applied");
    // The refusals above answer 422 on purpose; anything else is an error.
    const errors = page.errors.filter((e) => !e.includes("status of 422"));
    check(errors.length === 0, `browser errors: ${errors.join("; ")}`);
  } catch (e) {
    await page.screenshot({ path: join(artifacts, "pages-failed.png"), fullPage: true }).catch(() => {});
    throw e;
  }
}

const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.error(`chromium not found at ${chromiumPath}: apt-get install chromium (or set CHROMIUM)`);
  process.exit(2);
}
const bin = binary();
const server = await startServer(bin);
log("flowcfd serving at", server.url);
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"],
});
let failed = false;
try {
  if (!only || only === "step") await stepImport(browser, server.url);
  if (!only || only === "workflow") await workflow(browser, server);
  // The first account is the server's administrator: the STEP test's, or this test's own.
  if (!only || only === "pages") await accountOrgAdmin(browser, server.url, only ? "admin@example.org" : "step@example.org");
  log(`all passed; screenshots in ${artifacts}`);
} catch (e) {
  failed = true;
  console.error(`E2E FAILED: ${e.message}\nscreenshots in ${artifacts}`);
} finally {
  await browser.close();
  await stopServer(server);
}
process.exit(failed ? 1 : 0);
