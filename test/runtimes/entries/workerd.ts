// Cloudflare workerd (miniflare): trains inside the fetch handler and answers with the figures as
// JSON. Bundled like wrangler does (conditions workerd, worker, browser; *.wasm left as a module
// import), so "wasmgrad" resolves to the package's workerd entry.
import * as wasmgrad from "wasmgrad";
import { runDeterminism } from "../determinism.js";

export default {
  async fetch(): Promise<Response> {
    try {
      return new Response(JSON.stringify(runDeterminism(wasmgrad, "workerd")), { headers: { "content-type": "application/json" } });
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
      return new Response(JSON.stringify({ error }), { status: 500, headers: { "content-type": "application/json" } });
    }
  },
};
