// The package entry for Cloudflare workerd (the "workerd" export condition, which the bundlers of
// wrangler and of our miniflare test select). workerd forbids compiling WebAssembly from bytes, so
// the copy embedded in the JavaScript cannot be used there. Instead the kernels are imported as a
// module: esbuild copies build/kernels.wasm to dist/kernels.wasm and keeps the import, and workerd
// (with wrangler's default rule for *.wasm) hands it over already compiled. Same API as index.ts,
// without its base64 copy of the kernels, which workerd could not use.
import kernels from "../build/kernels.wasm";
import { useWasmModule } from "./backend/current.js";

useWasmModule(kernels);

export * from "./api.js";
