// Compiles a benchmark-only AssemblyScript file of bench/ (the SIMD peak loop, the direct conv
// kernel) to bench/results/<name>.wasm and instantiates it on its own memory. Kept out of
// common.ts so the benchmark children that import common.ts do not load the compiler.
import fs from "node:fs";
import path from "node:path";
import { benchDir, resultsDir } from "./common.js";

/** Options of compileAs: relaxed SIMD on, and a rewrite of the source text before compiling. */
export interface CompileOptions {
  relaxedSimd?: boolean;
  /** compiles rewrite(source text) instead, written to bench/results/<wasmName>.as.ts (ignored by git) */
  rewrite?: (text: string) => string;
}

export async function compileAs(source: string, wasmName: string, options: CompileOptions = {}): Promise<WebAssembly.Instance> {
  // Imported on first use: loading the compiler takes seconds, and --help must not wait for it.
  const { default: asc } = await import("assemblyscript/asc");
  fs.mkdirSync(resultsDir, { recursive: true });
  if (options.rewrite) {
    const rewritten = `results/${wasmName}.as.ts`;
    fs.writeFileSync(path.join(benchDir, rewritten), options.rewrite(fs.readFileSync(path.join(benchDir, source), "utf8")));
    source = rewritten;
  }
  // baseDir bench/ so asc does not merge in the package's asconfig.json (kernels, imported memory)
  const { error, stderr } = await asc.main([
    source,
    "--baseDir",
    benchDir,
    "-O3",
    "--noAssert",
    "--runtime",
    "stub",
    "--use",
    "abort=",
    "--enable",
    options.relaxedSimd ? "simd,relaxed-simd" : "simd",
    "-o",
    `results/${wasmName}`,
  ]);
  if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(path.join(resultsDir, wasmName)), {});
  return instance;
}
