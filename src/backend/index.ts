// Which backend new tensors go to. The wasm backend is created on first use from the kernels
// embedded in the package; runtimes that forbid compiling wasm from bytes (Cloudflare workerd)
// hand in a compiled WebAssembly.Module with useWasmModule() before that.
import { KERNELS_WASM_BASE64 } from "./kernels.generated.js";
import type { Backend, BackendName, MemoryOptions } from "./backend.js";
import { createJsBackend } from "./js.js";
import { createWasmBackend } from "./wasm.js";
import { ValueError } from "../errors.js";

export type { Backend, BackendName, GemmForm, Kernels, MemoryOptions } from "./backend.js";

let wasmSource: WebAssembly.Module | BufferSource | null = null;
const instances: Partial<Record<BackendName, Backend>> = {};
let current: BackendName = "wasm";

/** The embedded kernels as bytes. */
export function kernelsWasmBytes(): Uint8Array {
  const bin = atob(KERNELS_WASM_BASE64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * Supplies the kernels as a compiled module (or bytes) instead of the embedded copy. Call before
 * the first tensor is made; needed where compiling from bytes is forbidden (workerd).
 */
export function useWasmModule(source: WebAssembly.Module | BufferSource): void {
  if (instances.wasm) throw new ValueError("useWasmModule: the wasm backend is already running; call it before creating tensors");
  wasmSource = source;
}

/** Creates a new, independent backend instance with its own memory (for tests and benchmarks). */
export function createBackend(name: BackendName, options: MemoryOptions = {}): Backend {
  if (name === "js") return createJsBackend(options);
  if (name === "wasm") return createWasmBackend(wasmSource ?? kernelsWasmBytes(), options);
  throw new ValueError(`unknown backend '${String(name)}' (expected 'wasm' or 'js')`);
}

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  return (instances[current] ??= createBackend(current));
}

/**
 * Selects the backend for new tensors: 'wasm' (default, SIMD kernels) or 'js' (plain loops),
 * or a Backend made by createBackend. Tensors stay on the backend that made them.
 */
export function setBackend(backend: BackendName | Backend): Backend {
  if (typeof backend === "string") {
    if (backend !== "wasm" && backend !== "js") {
      throw new ValueError(`setBackend: unknown backend '${String(backend)}' (expected 'wasm' or 'js')`);
    }
    current = backend;
  } else {
    instances[backend.name] = backend;
    current = backend.name;
  }
  return getBackend();
}
