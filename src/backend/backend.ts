// The Backend interface: one method per kernel, operating on byte offsets (pointers) into the
// backend's own linear memory. `wasm` runs the AssemblyScript SIMD kernels; `js` runs the same
// formulas as plain loops (the test oracle and the JS side of benchmarks). Shapes are checked by
// the ops layer before any call reaches a backend. Each kernel's signature and comment live once,
// in assembly/; the Kernels type is generated from there.
import type { Heap } from "./heap.js";
import type { KernelExports } from "./kernel-exports.generated.js";
import { ValueError } from "../errors.js";

export type GemmForm = "nn" | "nt" | "tn";
/** rowwise kernel modes: 0 add, 1 multiply, 2 subtract the row */
export type RowwiseMode = 0 | 1 | 2;

/** Exports of the kernel module that only the wasm backend itself calls (gemm's paths and scratch). */
type InternalExport = "heapBase" | "gemmScratchBytes" | "gemmNn" | "gemmNt" | "gemmTn" | "gemmNtDot";

/**
 * Every kernel, as the ops layer calls it: the module's exports (signatures generated from
 * assembly/, see scripts/kernel-types.mjs) with gemm's three forms and paths behind one method.
 */
export type Kernels = Omit<KernelExports, InternalExport> & {
  /**
   * C (M,N) = act((accumulate ? C : 0) + bias + op(A)·op(B)) with
   * nn: A (M,K) · B (K,N);  nt: A (M,K) · B (N,K)ᵀ;  tn: A (K,M)ᵀ · B (K,N).
   * lda/ldb/ldc are row strides in elements; bias is a length-N row or 0; act is max(·, 0) with
   * `relu` (the same bits as the relu kernel on the result), else the identity.
   */
  gemm(
    form: GemmForm,
    M: number,
    N: number,
    K: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    bias: number,
    accumulate: boolean,
    relu?: boolean,
  ): void;
};

/** The two backends: the wasm SIMD kernels, or their plain-JavaScript twins. */
export type BackendName = "wasm" | "js";

/** A backend: one linear memory with its heap and every kernel working in it (setBackend, createBackend). */
export interface Backend extends Kernels {
  readonly name: BackendName;
  /** Whether this backend runs the fast-math (relaxed-SIMD, fused multiply-add) kernels: see initFastMath. */
  readonly fastMath: boolean;
  readonly heap: Heap;
  readonly memory: WebAssembly.Memory;
  /** Threads gemm may use (see threads.ts); returns how many it will really use (1 if unsupported). */
  setNumThreads(n: number): number;
  /** Threads the gemm may use on this backend (setNumThreads). */
  getNumThreads(): number;
  /** @internal The live thread pool (tests look inside), or null. */
  threadPool?(): import("./threads.js").ThreadPool | null;
  /** Counters of the thread pool since it started (null without a pool). */
  threadStats(): import("./threads.js").ThreadStats | null;
  /**
   * Copies a strided kernel's int32 meta block (shapes, strides, scratch; see
   * assembly/strided.ts) into this backend's meta buffer and returns its pointer. The block is
   * valid until the next call.
   */
  writeMeta(values: Int32Array): number;
  /** Views over the whole memory, rebuilt after the memory grows. */
  f32(): Float32Array;
  /** The memory as int32 (a fresh view after the memory grows). */
  i32(): Int32Array;
  /** The memory as bytes (a fresh view after the memory grows). */
  u8(): Uint8Array;
}

/** Holds typed-array views over a memory and rebuilds them when `memory.grow` detaches them. */
export class MemoryViews {
  private buffer: ArrayBuffer | SharedArrayBuffer;
  private f32View: Float32Array;
  private i32View: Int32Array;
  private u8View: Uint8Array;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.buffer = memory.buffer;
    this.f32View = new Float32Array(this.buffer);
    this.i32View = new Int32Array(this.buffer);
    this.u8View = new Uint8Array(this.buffer);
  }

  private refresh(): void {
    this.buffer = this.memory.buffer;
    this.f32View = new Float32Array(this.buffer);
    this.i32View = new Int32Array(this.buffer);
    this.u8View = new Uint8Array(this.buffer);
  }

  f32(): Float32Array {
    if (this.buffer !== this.memory.buffer) this.refresh();
    return this.f32View;
  }
  i32(): Int32Array {
    if (this.buffer !== this.memory.buffer) this.refresh();
    return this.i32View;
  }
  u8(): Uint8Array {
    if (this.buffer !== this.memory.buffer) this.refresh();
    return this.u8View;
  }
}

/** Options of createBackend: memory limit and sharing. */
export interface MemoryOptions {
  /** Upper bound of the backend's memory in bytes (default 4 GiB − 64 KiB, the wasm32 limit). */
  maxMemoryBytes?: number;
}

export const WASM32_MAX_BYTES = 65535 * 65536;

/** A memory for a backend; `shared` (for the thread pool) needs a SharedArrayBuffer-capable runtime. */
export function createMemory(options: MemoryOptions = {}, shared = false): { memory: WebAssembly.Memory; max: number } {
  const limit = options?.maxMemoryBytes;
  if (limit !== undefined && (typeof limit !== "number" || !(limit >= 65536))) {
    throw new ValueError(`createBackend: maxMemoryBytes must be a number of bytes ≥ 65536 (one wasm page), got ${String(limit)}`);
  }
  const max = Math.min(limit ?? WASM32_MAX_BYTES, WASM32_MAX_BYTES);
  const maximum = Math.max(1, Math.floor(max / 65536));
  const memory = new WebAssembly.Memory({ initial: Math.min(32, maximum), maximum, shared });
  return { memory, max: maximum * 65536 };
}

/** Bytes of the meta buffer: 8 dims × (4 operands + 2) + 4 offsets int32s, with room to spare. */
const META_BYTES = 1024;

/** The writeMeta of a backend: one buffer, allocated on first use and reused by every call. */
export function metaWriter(heap: Heap, views: MemoryViews): (values: Int32Array) => number {
  let ptr = 0;
  return (values) => {
    if (values.length * 4 > META_BYTES) throw new ValueError(`writeMeta: ${values.length} int32s do not fit the ${META_BYTES}-byte meta buffer`);
    if (ptr === 0) ptr = heap.alloc(META_BYTES);
    views.i32().set(values, ptr >>> 2);
    return ptr;
  };
}
