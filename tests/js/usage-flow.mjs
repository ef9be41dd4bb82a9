// The browser test of plans and usage (issue 20), in Debian's chromium driven by
// playwright-core. The Rust test (tests/browser.rs) has registered the user, uploaded a
// cube and recorded usage; this signs in and checks, by MODE:
//   usage:    the usage page's meter and daily chart render with the data, the billing
//             page lists the plans with the current one and an Upgrade button, and the
//             wizard states the plan's limits before anything is submitted (and warns
//             when the chosen cells or cores pass them);
//   checkout: the billing page's Upgrade button takes the browser to the Checkout URL
//             that Stripe (a stub) answered.
// Usage: node usage-flow.mjs MODE BASE_URL EMAIL PASSWORD GEOMETRY_ID SCREENSHOT_DIR [STUB_URL]
import { chromium } from "playwright-core";
import { join } from "node:path";

const [mode, base, email, password, geometry, shots, stub] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(30000);
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
page.on("console", (m) => {
  if (m.type() === "error") errors.push(`${m.text()} (${m.location().url})`);
});
const fail = async (msg) => {
  await page.screenshot({ path: join(shots, `usage-${mode}-failed.png`), fullPage: true }).catch(() => {});
  console.error(msg);
  await browser.close();
  process.exit(1);
};
const check = async (ok, msg) => {
  if (!ok) await fail(msg);
};

await page.goto(`${base}/login`);
await page.fill("input[name=email]", email);
await page.fill("input[name=password]", password);
await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);

if (mode === "usage") {
  // The usage page: a meter of used against included, and the daily chart drawn.
  await page.click("nav >> text=Usage");
  await page.waitForURL(`${base}/usage`);
  const meter = await page.$eval("#usage-meter", (m) => ({ value: m.value, max: m.max }));
  await check(meter.value > 0 && meter.max === 20, `meter: ${JSON.stringify(meter)}`);
  await page.waitForSelector("#usage-chart canvas");
  const chart = await page.$eval("#usage-chart", (e) => ({ ...e.dataset, width: e.querySelector("canvas").width }));
  await check(Number(chart.total) > 0 && Number(chart.days) >= 1 && Number(chart.points) >= 28 && chart.width > 100,
    `chart: ${JSON.stringify(chart)}`);
  const used = await page.textContent("#usage-used");
  await check(/core-hours used of 20 core-hours/.test(used), `used: ${used}`);
  await check((await page.textContent("#usage-jobs")).includes("core-hours"), "top jobs with units");
  await page.screenshot({ path: join(shots, "usage-page.png"), fullPage: true });
  console.log(`ok: usage ${used.replace(/\s+/g, " ").trim()}`);

  // The billing page: the plans, the current one marked, an Upgrade button per paid plan.
  await page.click("nav >> text=Billing");
  await page.waitForURL(`${base}/billing`);
  await check((await page.textContent("#current-plan")).trim() === "Free", "current plan");
  await check(await page.isVisible("tr.current[data-plan=free]"), "free marked current");
  await check(await page.isVisible("button[data-upgrade=engineer]"), "an Upgrade button for engineer");
  await page.screenshot({ path: join(shots, "billing-page.png"), fullPage: true });
  console.log("ok: billing");

  // The wizard: the plan's limits are on show in the mesh and solver steps, and a
  // choice past them is warned about at once, before anything is submitted.
  await page.goto(`${base}/geometries/${geometry}`);
  await page.click(".steps [data-go=mesh]");
  const cells = await page.textContent("#plan-cells");
  await check(await page.isVisible("#plan-cells") && cells.includes("2\u2009000\u2009000 cells"), `cells limit: ${cells}`);
  await page.$eval("#target-cells", (e) => { e.value = "7"; e.dispatchEvent(new Event("input", { bubbles: true })); });
  await page.waitForSelector("#warn-cells:not([hidden])");
  await check((await page.textContent("#warn-cells")).includes("more than the Free plan meshes"), "cells warning");
  await page.$eval("#target-cells", (e) => { e.value = "4.5"; e.dispatchEvent(new Event("input", { bubbles: true })); });
  await page.waitForSelector("#warn-cells", { state: "hidden" });
  await page.click(".steps [data-go=solver]");
  await page.waitForSelector("fieldset[data-step=solver]:not([hidden])");
  const cores = await page.textContent("#plan-cores");
  await check(await page.isVisible("#plan-cores") && cores.includes("up to 4 cores per job"), `cores limit: ${cores}`);
  await page.fill("#cores", "8");
  await page.waitForSelector("#warn-cores:not([hidden])");
  const warn = await page.textContent("#warn-cores");
  await check(warn.includes("8 cores is more than the Free plan allows per job (4)"), `cores warning: ${warn}`);
  await page.screenshot({ path: join(shots, "wizard-plan-limits.png"), fullPage: true });
  await check(page.url() === `${base}/geometries/${geometry}`, "nothing was submitted");
  console.log(`ok: wizard ${cores.replace(/\s+/g, " ").trim()}`);
} else if (mode === "checkout") {
  // Upgrade: the server asks Stripe (the stub) for a Checkout Session and the page goes
  // to its URL.
  await page.goto(`${base}/billing`);
  await Promise.all([
    page.waitForURL(`${stub}/checkout/cs_test_1`, { timeout: 20000 }).catch(async () => {
      await fail(`no redirect to Checkout; the page says: ${await page.textContent("#billing-error").catch(() => "")}`);
    }),
    page.click("button[data-upgrade=engineer]"),
  ]);
  await check((await page.textContent("h1")).includes("Checkout stub"), "the Checkout page");
  console.log(`ok: checkout ${page.url()}`);
} else {
  await fail(`unknown mode ${mode}`);
}
if (errors.length) await fail(`browser console errors: ${errors.join("; ")}`);
await browser.close();
