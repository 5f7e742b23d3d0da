#!/usr/bin/env node
// Entry point of `npx wasmgrad` (package.json "bin" → dist/cli.js, bundled from this file).
import { main } from "./main.js";

// `wasmgrad eval ... | head`: a closed pipe ends the program quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
process.exitCode = await main(process.argv.slice(2));
