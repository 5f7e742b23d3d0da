// Which backend new tensors go to. The wasm backend is created on first use from the kernels
// the entry embedded (embedKernels: the default entry does, wasmgrad/slim and the workerd entry
// do not); runtimes that forbid compiling wasm from bytes (Cloudflare workerd) and pages that
// load kernels.wasm themselves hand in a compiled WebAssembly.Module with useWasmModule() (or
// initWasm) before that. This module holds no kernels itself, so an entry without them stays small.
import type { Backend, BackendName, MemoryOptions } from "./backend.js";
import { createJsBackend } from "./js/index.js";
import { createWasmBackend } from "./wasm.js";
import { threadsSupported } from "./threads.js";
import { ValueError } from "../errors.js";
import { checkArgCount, checkOptions } from "../check.js";

export type { Backend, BackendName, GemmForm, Kernels, MemoryOptions } from "./backend.js";

let wasmSource: WebAssembly.Module | BufferSource | null = null;
/** The fast-math builds (initFastMath), or null until loaded or where relaxed SIMD is missing. */
let fastModules: { plain: WebAssembly.Module; shared: WebAssembly.Module } | null = null;
/** Whether the default wasm backend is to run the fast-math kernels (setFastMath). */
let fastMathDefault = false;
let embedded: { single: string; shared: string } | null = null;

/** @internal The kernels an entry carries inside its JavaScript (base64 of the plain and the shared-memory build). */
export function embedKernels(single: string, shared: string): void {
  embedded = { single, shared };
}
const instances: Partial<Record<BackendName, Backend>> = {};
let current: BackendName = "wasm";

/** The embedded kernels as bytes (`shared`: the build for a shared memory, used by threads); throws in wasmgrad/slim, which embeds none. */
export function kernelsWasmBytes(shared = false): Uint8Array {
  checkArgCount("kernelsWasmBytes", arguments, 1);
  if (embedded === null) {
    throw new ValueError(
      'this entry of wasmgrad (wasmgrad/slim) embeds no kernels: `await initWasm(new URL("wasmgrad/kernels.wasm", import.meta.url))` (or useWasmModule) before the first tensor, or import "wasmgrad"',
    );
  }
  const bin = atob(shared ? embedded.shared : embedded.single);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * Supplies the kernels as a compiled module (or bytes) instead of the embedded copy. Call before
 * the first tensor is made; needed where compiling from bytes is forbidden (workerd).
 */
export function useWasmModule(source: WebAssembly.Module | BufferSource): void {
  checkArgCount("useWasmModule", arguments, 1);
  if (instances.wasm) throw new ValueError("useWasmModule: the wasm backend is already running; call it before creating tensors");
  wasmSource = source;
}

/** @internal Registers the compiled fast-math modules (initFastMath). */
export function setFastMathModules(plain: WebAssembly.Module, shared: WebAssembly.Module): void {
  fastModules = { plain, shared };
}

/**
 * Makes the wasm backend run the fast-math kernels (true) or the default, bitwise-reproducible ones
 * (false). Call it before the first tensor, after `await initFastMath()`. Returns whether the fast
 * kernels will run: false where initFastMath found no relaxed SIMD (or was not called), in which
 * case the default kernels run.
 */
export function setFastMath(on: boolean): boolean {
  checkArgCount("setFastMath", arguments, 1);
  if (typeof on !== "boolean") throw new ValueError(`setFastMath: expected a boolean, got ${typeof on}`);
  const will = on && fastModules !== null;
  if (instances.wasm && instances.wasm.fastMath !== will) {
    throw new ValueError(
      `setFastMath(${on}): the wasm backend is already running ${instances.wasm.fastMath ? "fast-math" : "the default"} kernels; call it before creating tensors (or use createBackend("wasm", { fastMath }) and setBackend)`,
    );
  }
  fastMathDefault = on;
  return will;
}

/**
 * Creates a new, independent backend instance with its own memory (for tests and benchmarks).
 * The wasm backend runs on a shared memory, ready for setNumThreads, where the runtime allows
 * threads and no module was supplied with useWasmModule (pass `shared: false` to opt out).
 * `fastMath: true` runs the relaxed-SIMD kernels loaded by initFastMath, or the default ones where
 * they are not loaded or the runtime lacks relaxed SIMD (check `backend.fastMath`).
 */
export function createBackend(name: BackendName, options: MemoryOptions & { shared?: boolean; fastMath?: boolean } = {}): Backend {
  checkArgCount("createBackend", arguments, 2);
  checkOptions("createBackend", options, ["maxMemoryBytes", "shared", "fastMath"]);
  if (options.fastMath !== undefined && typeof options.fastMath !== "boolean") {
    throw new ValueError(`createBackend: fastMath must be a boolean, got ${typeof options.fastMath}`);
  }
  const { fastMath: wantFast, ...memory } = options;
  if (name === "js") return createJsBackend(memory);
  if (name === "wasm") {
    if (wantFast && fastModules !== null) {
      const shared = (memory.shared ?? true) && threadsSupported();
      return createWasmBackend(shared ? fastModules.shared : fastModules.plain, { ...memory, shared, fastMath: true });
    }
    const shared = (memory.shared ?? true) && wasmSource === null && threadsSupported();
    // (Without an embedded copy and a supplied module, kernelsWasmBytes says what to do.)
    return createWasmBackend(wasmSource ?? kernelsWasmBytes(shared), { ...memory, shared });
  }
  throw new ValueError(`unknown backend '${String(name)}' (expected 'wasm' or 'js')`);
}

let requestedThreads = 1;

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  checkArgCount("getBackend", arguments, 0);
  let b = instances[current];
  if (b === undefined) {
    b = instances[current] = createBackend(current, current === "wasm" && fastMathDefault ? { fastMath: true } : {});
    b.setNumThreads(requestedThreads);
  }
  return b;
}

/**
 * Lets big matrix products use n threads (torch.set_num_threads): a pool of n - 1 workers on
 * the wasm backend's shared memory. Results are bitwise identical to one thread. Returns the
 * number of threads that will be used: 1 where the runtime has no shared memory or workers
 * (workerd, pages that are not cross-origin isolated), or on the js backend.
 */
export function setNumThreads(n: number): number {
  checkArgCount("setNumThreads", arguments, 1);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new ValueError(`setNumThreads: expected an integer from 1 to 256, got ${n}`);
  requestedThreads = n;
  return getBackend().setNumThreads(n);
}

/** Threads the current backend uses for big matrix products. */
export function getNumThreads(): number {
  checkArgCount("getNumThreads", arguments, 0);
  return getBackend().getNumThreads();
}

/**
 * Selects the backend for new tensors: 'wasm' (default, SIMD kernels) or 'js' (plain loops),
 * or a Backend made by createBackend. Tensors stay on the backend that made them.
 */
export function setBackend(backend: BackendName | Backend): Backend {
  checkArgCount("setBackend", arguments, 1);
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
