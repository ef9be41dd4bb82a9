// Bundles the browser islands (web/src/*.ts) into web/dist with esbuild, and copies the
// vendored files that are loaded as they are (OpenCASCADE's WASM build). The binary embeds
// web/dist (src/web.rs), so nothing is fetched from a CDN at run time.
import * as esbuild from "esbuild";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "vendor"), { recursive: true });

await esbuild.build({
  absWorkingDir: here,
  entryPoints: ["src/geometry.ts", "src/job.ts", "src/import.ts", "src/results.ts", "src/usage.ts", "src/billing.ts"],
  outdir: "dist",
  bundle: true,
  format: "esm",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  target: ["chrome110", "firefox110", "safari16"],
  minify: true,
  sourcemap: false,
  legalComments: "linked",
  logLevel: "warning",
});

const occt = join(here, "node_modules/occt-import-js/dist");
for (const f of ["occt-import-js.js", "occt-import-js.wasm", "license.occt-import-js.txt", "license.occt.txt"]) {
  cpSync(join(occt, f), join(dist, "vendor", f));
}
cpSync(join(here, "src/occt-worker.js"), join(dist, "vendor/occt-worker.js"));
writeFileSync(join(dist, ".stamp"), new Date().toISOString() + "\n");
console.log("web/dist built");
