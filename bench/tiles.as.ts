// @ts-nocheck -- AssemblyScript, compiled by bench/kernels.ts (not part of the TypeScript build).
// The gemm's inner loop with register tiles of other shapes, on data that stays in L1 (packed A:
// MR floats per k; packed B: NR floats per k; C read once and written once per call), compiled
// with mul+add and with relaxed_madd (FMA). Why the gemm keeps the 4×8 tile (8 accumulators):
// tiles with 10–12 accumulators, which an FMA chain's latency would want, run far slower in V8.
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// 4×8 (the gemm's tile): 8 accumulators, two B vectors and four broadcasts per k.
export function k4x8(a: usize, p: usize, kc: i32, c: usize, reps: i32): void {
  for (let r = 0; r < reps; r++) {
    let c00 = v128.load(c), c01 = v128.load(c, 16), c10 = v128.load(c, 32), c11 = v128.load(c, 48);
    let c20 = v128.load(c, 64), c21 = v128.load(c, 80), c30 = v128.load(c, 96), c31 = v128.load(c, 112);
    let ap = a, pp = p;
    const end = p + (<usize>kc << 5);
    while (pp < end) {
      const b0 = v128.load(pp), b1 = v128.load(pp, 16);
      let x = v128.load32_splat(ap);
      c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
      x = v128.load32_splat(ap, 4);
      c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
      x = v128.load32_splat(ap, 8);
      c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
      x = v128.load32_splat(ap, 12);
      c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
      ap += 16; pp += 32;
    }
    v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c10, 32); v128.store(c, c11, 48);
    v128.store(c, c20, 64); v128.store(c, c21, 80); v128.store(c, c30, 96); v128.store(c, c31, 112);
  }
}
// 6×8: 12 accumulators.
export function k6x8(a: usize, p: usize, kc: i32, c: usize, reps: i32): void {
  for (let r = 0; r < reps; r++) {
    let c00 = v128.load(c), c01 = v128.load(c, 16), c10 = v128.load(c, 32), c11 = v128.load(c, 48);
    let c20 = v128.load(c, 64), c21 = v128.load(c, 80), c30 = v128.load(c, 96), c31 = v128.load(c, 112);
    let c40 = v128.load(c, 128), c41 = v128.load(c, 144), c50 = v128.load(c, 160), c51 = v128.load(c, 176);
    let ap = a, pp = p;
    const end = p + (<usize>kc << 5);
    while (pp < end) {
      const b0 = v128.load(pp), b1 = v128.load(pp, 16);
      let x = v128.load32_splat(ap);
      c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
      x = v128.load32_splat(ap, 4);
      c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
      x = v128.load32_splat(ap, 8);
      c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
      x = v128.load32_splat(ap, 12);
      c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
      x = v128.load32_splat(ap, 16);
      c40 = madd(x, b0, c40); c41 = madd(x, b1, c41);
      x = v128.load32_splat(ap, 20);
      c50 = madd(x, b0, c50); c51 = madd(x, b1, c51);
      ap += 24; pp += 32;
    }
    v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c10, 32); v128.store(c, c11, 48);
    v128.store(c, c20, 64); v128.store(c, c21, 80); v128.store(c, c30, 96); v128.store(c, c31, 112);
    v128.store(c, c40, 128); v128.store(c, c41, 144); v128.store(c, c50, 160); v128.store(c, c51, 176);
  }
}
// 5×8: 10 accumulators.
export function k5x8(a: usize, p: usize, kc: i32, c: usize, reps: i32): void {
  for (let r = 0; r < reps; r++) {
    let c00 = v128.load(c), c01 = v128.load(c, 16), c10 = v128.load(c, 32), c11 = v128.load(c, 48);
    let c20 = v128.load(c, 64), c21 = v128.load(c, 80), c30 = v128.load(c, 96), c31 = v128.load(c, 112);
    let c40 = v128.load(c, 128), c41 = v128.load(c, 144);
    let ap = a, pp = p;
    const end = p + (<usize>kc << 5);
    while (pp < end) {
      const b0 = v128.load(pp), b1 = v128.load(pp, 16);
      let x = v128.load32_splat(ap);
      c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
      x = v128.load32_splat(ap, 4);
      c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
      x = v128.load32_splat(ap, 8);
      c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
      x = v128.load32_splat(ap, 12);
      c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
      x = v128.load32_splat(ap, 16);
      c40 = madd(x, b0, c40); c41 = madd(x, b1, c41);
      ap += 20; pp += 32;
    }
    v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c10, 32); v128.store(c, c11, 48);
    v128.store(c, c20, 64); v128.store(c, c21, 80); v128.store(c, c30, 96); v128.store(c, c31, 112);
    v128.store(c, c40, 128); v128.store(c, c41, 144);
  }
}
// 12×4: 12 accumulators, one B vector per k.
export function k12x4(a: usize, p: usize, kc: i32, c: usize, reps: i32): void {
  for (let r = 0; r < reps; r++) {
    let c0 = v128.load(c), c1 = v128.load(c, 16), c2 = v128.load(c, 32), c3 = v128.load(c, 48);
    let c4 = v128.load(c, 64), c5 = v128.load(c, 80), c6 = v128.load(c, 96), c7 = v128.load(c, 112);
    let c8 = v128.load(c, 128), c9 = v128.load(c, 144), c10 = v128.load(c, 160), c11 = v128.load(c, 176);
    let ap = a, pp = p;
    const end = p + (<usize>kc << 4);
    while (pp < end) {
      const b = v128.load(pp);
      c0 = madd(v128.load32_splat(ap), b, c0); c1 = madd(v128.load32_splat(ap, 4), b, c1);
      c2 = madd(v128.load32_splat(ap, 8), b, c2); c3 = madd(v128.load32_splat(ap, 12), b, c3);
      c4 = madd(v128.load32_splat(ap, 16), b, c4); c5 = madd(v128.load32_splat(ap, 20), b, c5);
      c6 = madd(v128.load32_splat(ap, 24), b, c6); c7 = madd(v128.load32_splat(ap, 28), b, c7);
      c8 = madd(v128.load32_splat(ap, 32), b, c8); c9 = madd(v128.load32_splat(ap, 36), b, c9);
      c10 = madd(v128.load32_splat(ap, 40), b, c10); c11 = madd(v128.load32_splat(ap, 44), b, c11);
      ap += 48; pp += 16;
    }
    v128.store(c, c0); v128.store(c, c1, 16); v128.store(c, c2, 32); v128.store(c, c3, 48);
    v128.store(c, c4, 64); v128.store(c, c5, 80); v128.store(c, c6, 96); v128.store(c, c7, 112);
    v128.store(c, c8, 128); v128.store(c, c9, 144); v128.store(c, c10, 160); v128.store(c, c11, 176);
  }
}
