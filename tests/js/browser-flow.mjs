// The browser test: register -> sign in -> create a project -> upload an STL -> see it
// ready, in Debian's chromium driven by playwright-core. Saves a screenshot.
// Usage: node browser-flow.mjs BASE_URL STL_PATH SCREENSHOT_PATH
import { chromium } from "playwright-core";

const [base, stl, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update"],
});
const fail = async (page, msg) => {
  await page.screenshot({ path: shot.replace(/\.png$/, "-failed.png"), fullPage: true }).catch(() => {});
  console.error(msg);
  await browser.close();
  process.exit(1);
};
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.setDefaultTimeout(30000);
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
// The wrong-password step answers 401 on purpose; anything else logged as an error counts.
page.on("console", (m) => {
  if (m.type() === "error" && !m.text().includes("status of 401")) errors.push(`${m.text()} (${m.location().url})`);
});

// Register.
await page.goto(`${base}/register`);
await page.fill("input[name=name]", "Browser Tester");
await page.fill("input[name=email]", "browser@example.org");
await page.fill("input[name=password]", "laminar-flow-2026");
await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);

// Sign out and sign in again.
await Promise.all([page.waitForURL(`${base}/login`), page.click("text=Sign out")]);
await page.fill("input[name=email]", "browser@example.org");
await page.fill("input[name=password]", "wrong-password-00");
await page.click("button[type=submit]");
if (!(await page.textContent(".error")).includes("wrong email or password")) await fail(page, "no error on a wrong password");
await page.fill("input[name=password]", "laminar-flow-2026");
await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);

// Create a project.
await page.fill("input[name=name]", "Cube in a wind tunnel");
await page.fill("input[name=description]", "10 m/s, k-omega SST");
await Promise.all([page.waitForURL(/\/projects\/[0-9a-f-]+$/), page.click("text=Create project")]);

// Upload the STL and wait until processing reports it ready.
await page.setInputFiles("input[name=file]", stl);
await page.click("#upload button[type=submit]");
try {
  await page.waitForSelector("tr[data-geometry] .status.ready", { timeout: 60000 });
} catch (e) {
  await fail(page, `the geometry never showed as ready: ${await page.textContent("#geometries")}`);
}
const row = await page.textContent("tr[data-geometry]");
if (!row.includes("cube.stl") || !row.includes("12")) await fail(page, `unexpected row: ${row}`);
await page.screenshot({ path: shot, fullPage: true });
if (errors.length) await fail(page, `browser console errors: ${errors.join("; ")}`);
console.log(`ok: ${row.replace(/\s+/g, " ").trim()}`);
await browser.close();
