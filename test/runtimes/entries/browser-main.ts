// Chromium page: runs the determinism script on the main thread, then in a module Web Worker
// (worker.js, the bundle of browser-worker.ts), and leaves both results on window.__results.
import * as wasmgrad from "wasmgrad";
import { type DeterminismResult, runDeterminism } from "../determinism.js";

type Outcome = DeterminismResult | { error: string };
const results: { main?: Outcome; worker?: Outcome; done?: boolean } = {};
(window as unknown as { __results: typeof results }).__results = results;

const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e));
try {
  results.main = runDeterminism(wasmgrad, "chromium-main");
} catch (e) {
  results.main = { error: describe(e) };
}
const worker = new Worker("./worker.js", { type: "module" });
worker.onmessage = (ev: MessageEvent<Outcome>) => {
  results.worker = ev.data;
  results.done = true;
};
worker.onerror = (ev: ErrorEvent) => {
  results.worker = { error: `worker error: ${ev.message}` };
  results.done = true;
};
