// Chromium module Web Worker: runs the determinism script and posts the result to the page.
import * as wasmgrad from "wasmgrad";
import { runDeterminism } from "../determinism.js";

try {
  self.postMessage(runDeterminism(wasmgrad, "chromium-worker"));
} catch (e) {
  self.postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e) });
}
