#!/usr/bin/env node
// Entry point of `npx wasmgrad` (package.json "bin" → dist/cli.js, bundled from this file).
import { main } from "./main.js";
import { useEmbeddedKernels } from "../backend/embedded.js";

// The command line bundles its own copy of the library modules it uses: give it the kernels.
useEmbeddedKernels();

// `wasmgrad eval ... | head`: a closed pipe ends the program quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
process.exitCode = await main(process.argv.slice(2));
