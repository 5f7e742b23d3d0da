// a·b + c on four f32 lanes, the inner step of gemm and attention. The default builds multiply
// then add (two roundings, the same bits in every runtime, as the js twin). The fast-math builds
// (asconfig targets "relaxed" and "threads-relaxed", --enable relaxed-simd) use relaxed_madd,
// which the engine may fuse into one FMA (one rounding): results differ in the last bits, and
// between runtimes and CPUs, so that build is opt-in (createBackend("wasm", { fastMath: true })).
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
