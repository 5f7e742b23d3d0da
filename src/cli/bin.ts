#!/usr/bin/env node
// Entry point of `npx wasmgrad` (package.json "bin" → dist/cli.js: src/cli/ bundled, importing the
// library modules beside it in dist).
import { main } from "./main.js";
import { useEmbeddedKernels } from "../backend/embedded.js";

// The embedded kernels. "wasmgrad" (dist/index.js, or src/index.ts in this repository) hands the
// same strings to the same backend module; setting them again here is harmless and keeps the
// program from depending on which entry that is.
useEmbeddedKernels();

// `wasmgrad eval ... | head`: a closed pipe ends the program quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
process.exitCode = await main(process.argv.slice(2));
