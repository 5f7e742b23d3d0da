// Chromium page that loads the kernels from a URL before running the determinism script, as the
// README shows: `import url from "wasmgrad/kernels.wasm"` bundled with esbuild's file loader (the
// import is the URL of the emitted file), then initWasm(url) — fetch + streaming compile, served as
// application/wasm. (The repo's ambient "*.wasm" type says Module; initWasm takes either.)
import kernelsUrl from "wasmgrad/kernels.wasm";
import * as wasmgrad from "wasmgrad";
import { runDeterminism } from "../determinism.js";

const results: { url?: unknown; done?: boolean } = {};
(window as unknown as { __results: typeof results }).__results = results;
try {
  if (typeof kernelsUrl !== "string") throw new Error(`expected the file loader's URL, got ${String(kernelsUrl)}`);
  await wasmgrad.initWasm(kernelsUrl);
  results.url = runDeterminism(wasmgrad, "chromium-initWasm");
} catch (e) {
  results.url = { error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e) };
}
results.done = true;
