// The browser test of the job page's "Download report (PDF)" (issue 21), in Debian's
// chromium driven by playwright-core. The Rust test (tests/report_api.rs) has run a job to
// its end; this signs in, opens the job page, clicks the button and checks that it shows
// its "preparing" state while the server answers (the answer is held back a second so the
// state can be seen), then that the browser gets the PDF as a download.
// Usage: node report-flow.mjs BASE_URL EMAIL PASSWORD JOB_ID SCREENSHOT_DIR
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [base, email, password, job, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(30000);
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
const fail = async (msg) => {
  await page.screenshot({ path: join(shots, "report-failed.png"), fullPage: true }).catch(() => {});
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

await page.route("**/report.pdf", async (route) => {
  const answer = await route.fetch();
  await new Promise((r) => setTimeout(r, 1000));
  await route.fulfill({ response: answer });
});
await page.goto(`${base}/jobs/${job}`);
const button = page.locator("#report-download");
await check(await button.isVisible(), "the job page of an ended job has the report button");
const download = page.waitForEvent("download");
await button.click();
await page.waitForSelector("#report-download.busy .spinner");
const busy = await button.textContent();
await check(busy.includes("Preparing the report"), `while it is made: ${busy}`);
await check((await page.textContent("#report-state")).includes("few seconds"), "the note under the button");
await page.screenshot({ path: join(shots, "report-preparing.png") });
const file = await download;
const name = file.suggestedFilename();
await check(/^[A-Za-z0-9._-]+-report\.pdf$/.test(name), `file name: ${name}`);
const bytes = readFileSync(await file.path());
await check(bytes.subarray(0, 5).toString() === "%PDF-", "the download is a PDF");
await page.waitForSelector("#report-download:not(.busy)");
await check((await button.textContent()).includes("Download report (PDF)"), "the button is back");
await check(errors.length === 0, `page errors: ${errors.join("; ")}`);
await page.screenshot({ path: join(shots, "report-downloaded.png"), fullPage: true });
console.log(`ok: report ${name} ${bytes.length} bytes`);
await browser.close();
