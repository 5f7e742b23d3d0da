// Browser bundle size of a program that trains the seed MLP (examples/browser-min/main.ts):
// esbuild --bundle --minify for the browser, then gzip -9. wasmgrad's kernels are inside the
// JavaScript (base64), so the bundle is everything a page downloads; wasmgrad/slim leaves them out
// (the page then fetches kernels.wasm: add its size). For comparison, the same
// program on TensorFlow.js core + its wasm backend, plus the .wasm file that backend fetches.
//
//   npm run size            (needs dist/: npm run build)
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface SizeRow {
  what: string;
  bytes: number;
  gzip: number;
}
export interface SizeReport {
  wasmgrad: { total: SizeRow; embedded: SizeRow; wasmFile: SizeRow; slim: SizeRow };
  /** Modules the seed-MLP page does not use whose code is in its bundle anyway (by UNUSED_PROBES): should be none. */
  unusedInBundle: string[];
  tfjs: { total: SizeRow; js: SizeRow; wasm: SizeRow; otherWasm: string[] } | { error: string };
}

const gz = (b: Uint8Array) => gzipSync(b, { level: 9 }).length;
const row = (what: string, b: Uint8Array): SizeRow => ({ what, bytes: b.length, gzip: gz(b) });

async function minified(entry: string, plugins: esbuild.Plugin[] = []): Promise<Uint8Array> {
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    plugins,
  });
  return r.outputFiles[0].contents;
}

/**
 * Code the seed-MLP page never reaches, each found by a string only that module has (the name it
 * gives in its errors): a bundler that drops unused modules of dist leaves none of them in.
 */
export const UNUSED_PROBES: Record<string, RegExp> = {
  "lora (src/lora/apply.ts)": /["'`]lora\.apply["'`]/,
  "BERT (src/models/bert.ts)": /["'`]Bert\.forward["'`]/,
  "GPT (src/models/gpt.ts)": /["'`]GPT\.generate["'`]/,
  "Hugging Face loading (src/models/hf-gpt2.ts)": /["'`]GPT\.fromPretrained["'`]/,
  "safetensors (src/io/safetensors.ts)": /["'`]__metadata__["'`]/,
};

/** "wasmgrad" → this repo's `dist/${file}`: index.js (the package's default export) or slim.js (wasmgrad/slim). */
const wasmgradFromDist = (file: string): esbuild.Plugin => ({
  name: "wasmgrad-dist",
  setup(build) {
    build.onResolve({ filter: /^wasmgrad$/ }, () => ({ path: join(root, "dist", file) }));
  },
});

export async function measure(): Promise<SizeReport> {
  if (!existsSync(join(root, "dist/index.js"))) throw new Error("dist/index.js is missing: run `npm run build` first");
  const js = await minified(join(root, "examples/browser-min/main.ts"), [wasmgradFromDist("index.js")]);
  // The same program on wasmgrad/slim: its JavaScript only (the page fetches kernels.wasm, below).
  const slimJs = await minified(join(root, "examples/browser-min/main.ts"), [wasmgradFromDist("slim.js")]);
  const wasm = readFileSync(join(root, "dist/kernels.wasm"));
  // The kernels are long base64 string literals inside the bundle.
  const embedded = [...new TextDecoder().decode(js).matchAll(/"([A-Za-z0-9+/]{1000,}={0,2})"/g)].map((m) => m[1]);
  const wasmgrad = {
    total: row("wasmgrad: examples/browser-min (JS + embedded wasm)", js),
    embedded: row(`  of which ${embedded.length} embedded wasm module(s), base64`, new TextEncoder().encode(embedded.join(""))),
    wasmFile: row("  (dist/kernels.wasm as a file, for reference)", wasm),
    slim: row("wasmgrad/slim: the same program, JS only (+ kernels.wasm)", slimJs),
  };
  const text = new TextDecoder().decode(js);
  const unusedInBundle = Object.entries(UNUSED_PROBES)
    .filter(([, probe]) => probe.test(text))
    .map(([what]) => what);

  let tfjs: SizeReport["tfjs"];
  const tfDir = join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist");
  try {
    const tjs = await minified(join(root, "scripts/size-fixtures/tfjs-mlp.ts"));
    const files = ["tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm.wasm", "tfjs-backend-wasm-threaded-simd.wasm"].map((f) => join(tfDir, f));
    const simd = readFileSync(files[0]);
    const all = new Uint8Array(tjs.length + simd.length);
    all.set(tjs);
    all.set(simd, tjs.length);
    tfjs = {
      total: { what: "TF.js 4.22 core + wasm backend (JS + simd .wasm)", bytes: all.length, gzip: gz(tjs) + gz(simd) },
      js: row("  JS (core + backend-wasm + emscripten glue)", tjs),
      wasm: row("  tfjs-backend-wasm-simd.wasm (fetched at run time)", simd),
      otherWasm: [
        `  (instead, without SIMD: tfjs-backend-wasm.wasm, ${kb(statSync(files[1]).size)}; with threads: tfjs-backend-wasm-threaded-simd.wasm, ${kb(statSync(files[2]).size)})`,
      ],
    };
  } catch (e) {
    tfjs = { error: `could not bundle TF.js for comparison: ${(e as Error).message}` };
  }
  return { wasmgrad, unusedInBundle, tfjs };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
export function format(r: SizeReport): string {
  const lines = ["bundle (esbuild --minify, browser)                        minified     gzip -9"];
  const line = (x: SizeRow) => lines.push(`${x.what.padEnd(56)} ${kb(x.bytes).padStart(9)} ${kb(x.gzip).padStart(11)}`);
  line(r.wasmgrad.total);
  line(r.wasmgrad.embedded);
  line(r.wasmgrad.wasmFile);
  line(r.wasmgrad.slim);
  lines.push(`  unused modules left in the bundle: ${r.unusedInBundle.length === 0 ? "none" : r.unusedInBundle.join(", ")}`);
  if ("error" in r.tfjs) lines.push(r.tfjs.error);
  else {
    line(r.tfjs.total);
    line(r.tfjs.js);
    line(r.tfjs.wasm);
    lines.push(...r.tfjs.otherWasm);
    lines.push(`wasmgrad is ${(r.tfjs.total.gzip / r.wasmgrad.total.gzip).toFixed(1)}× smaller gzipped`);
  }
  return lines.join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  parseFlags("npm run size --", "Bundle size of an app importing wasmgrad (esbuild, minified, raw and gzipped) next to TensorFlow.js's.", {});
  console.log(format(await measure()));
}
