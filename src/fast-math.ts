// Fast math: the kernels built with relaxed SIMD (asconfig targets "relaxed" and
// "threads-relaxed"), whose gemm and attention inner loops use f32x4.relaxed_madd — one fused
// multiply-add where the engine and CPU fuse it. Opt-in, because fused and unfused results differ
// in the last bits (and between engines and CPUs): the default kernels give the same bits in every
// runtime, these only the same bits from run to run on one runtime and machine (threads included).
// The two modules are not embedded in the JavaScript (they would double its size): initFastMath
// compiles them from files shipped next to the bundle (dist/kernels-relaxed.wasm,
// dist/kernels-mt-relaxed.wasm) or from sources you pass. A runtime without relaxed SIMD (Safari,
// Node 20 without --experimental-wasm-relaxed-simd) gets `false` and keeps the default kernels.
import { setFastMathModules } from "./backend/current.js";
import { type WasmSource, compileWasm } from "./wasm-init.js";
import { checkArgCount, checkOptions } from "./check.js";

/** (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0)))) */
const PROBE = new Uint8Array([
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  5,
  1,
  96,
  0,
  1,
  123,
  3,
  2,
  1,
  0,
  10,
  61,
  1,
  59,
  0,
  ...[0, 1, 2].flatMap(() => [253, 12, ...new Array<number>(16).fill(0)]),
  253,
  133,
  2,
  11,
]);

/** Whether this runtime compiles relaxed-SIMD wasm (validates a one-instruction probe module). */
export function relaxedSimdSupported(): boolean {
  checkArgCount("relaxedSimdSupported", arguments, 0);
  return typeof WebAssembly === "object" && WebAssembly.validate(PROBE);
}

/** Where initFastMath finds the two fast-math modules (default: next to this bundle). */
export interface FastMathSources {
  /** the build for an unshared memory (kernels-relaxed.wasm) */
  plain?: WasmSource;
  /** the build for a shared memory, used by threads (kernels-mt-relaxed.wasm) */
  shared?: WasmSource;
}

/**
 * Loads the fast-math kernels so that `createBackend("wasm", { fastMath: true })` and
 * `setFastMath(true)` use them. Resolves to false, loading nothing, where the runtime has no
 * relaxed SIMD (those calls then fall back to the default kernels).
 *
 *   if (await initFastMath()) setFastMath(true);
 */
export async function initFastMath(sources: FastMathSources = {}): Promise<boolean> {
  checkArgCount("initFastMath", arguments, 1);
  checkOptions("initFastMath", sources, ["plain", "shared"]);
  if (!relaxedSimdSupported()) return false;
  const [plain, shared] = await Promise.all([
    compileWasm(sources.plain ?? new URL("./kernels-relaxed.wasm", import.meta.url), "initFastMath"),
    compileWasm(sources.shared ?? new URL("./kernels-mt-relaxed.wasm", import.meta.url), "initFastMath"),
  ]);
  setFastMathModules(plain, shared);
  return true;
}
