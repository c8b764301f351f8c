// Builds the console into daemon/src/console/assets/ (app.js, app.css), where the daemon embeds
// it. `node build.mjs --check` builds into a temporary folder and fails if the committed files
// differ (CI: the committed bundle is what the sources build to).
import * as esbuild from "esbuild";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const assets = join(here, "../daemon/src/console/assets");
const check = process.argv.includes("--check");
const out = check ? mkdtempSync(join(tmpdir(), "hookd-console-")) : assets;

await esbuild.build({
  entryPoints: { app: join(here, "src/main.tsx") },
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  legalComments: "eof",
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: out,
  logLevel: "warning",
});
await esbuild.build({
  entryPoints: { app: join(here, "src/app.css") },
  bundle: true,
  minify: true,
  outdir: out,
  logLevel: "warning",
});

if (check) {
  let stale = [];
  for (const f of ["app.js", "app.css"]) {
    let committed = "";
    try {
      committed = readFileSync(join(assets, f), "utf8");
    } catch {}
    if (readFileSync(join(out, f), "utf8") !== committed) stale.push(f);
  }
  rmSync(out, { recursive: true, force: true });
  if (stale.length) {
    console.error(
      `console: ${stale.join(", ")} in daemon/src/console/assets/ differ from what console/src builds to: run scripts/build-console and commit`,
    );
    process.exit(1);
  }
  console.log("console: the committed bundle is up to date");
}
