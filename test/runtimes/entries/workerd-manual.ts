// workerd through the default entry, the kernels handed in by hand: `import kernels from
// "wasmgrad/kernels.wasm"` (a compiled module in workerd) and useWasmModule() before any tensor —
// the README's recipe for bundlers without the "workerd" condition.
import kernels from "wasmgrad/kernels.wasm";
import * as wasmgrad from "wasmgrad";
import { runDeterminism } from "../determinism.js";

wasmgrad.useWasmModule(kernels);

export default {
  async fetch(): Promise<Response> {
    try {
      return new Response(JSON.stringify(runDeterminism(wasmgrad, "workerd-manual")), { headers: { "content-type": "application/json" } });
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
      return new Response(JSON.stringify({ error }), { status: 500, headers: { "content-type": "application/json" } });
    }
  },
};
