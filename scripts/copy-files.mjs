// node scripts/copy-files.mjs <dir> <file>...: copies each file into dir (npm run build:wasm uses it
// to ship the fast-math kernels, build/kernels*-relaxed.wasm, beside the bundles in dist/).
import { copyFileSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";

const [dir, ...files] = process.argv.slice(2);
if (dir === undefined || dir === "--help" || files.includes("--help")) {
  console.log("usage: node scripts/copy-files.mjs <dir> <file>...\nCopies each file into <dir> (creating it).");
  process.exit(dir === undefined ? 1 : 0);
}
mkdirSync(dir, { recursive: true });
for (const f of files) copyFileSync(f, join(dir, basename(f)));
