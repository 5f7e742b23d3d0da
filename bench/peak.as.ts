// @ts-nocheck -- AssemblyScript, compiled by bench/kernels.ts (not part of the TypeScript build).
// Register-only 128-bit SIMD peak: independent chains c = c·m + a (one f32x4 mul + one f32x4 add,
// 8 flops per chain per step), no memory traffic. m and a come from the caller so nothing folds;
// the sum of all lanes is returned so nothing is dead. Enough chains must cover the mul→add
// latency, too many spill registers in V8 (measured on Zen 5: 8 chains are latency-bound at ~80%,
// 10–12 saturate, 14+ spill and halve), so three widths are timed and the best is the peak.

export function peak8(steps: i32, mf: f32, af: f32): f32 {
  const m = f32x4.splat(mf), a = f32x4.splat(af);
  let c0 = f32x4.splat(0.0), c1 = f32x4.splat(0.1), c2 = f32x4.splat(0.2), c3 = f32x4.splat(0.3);
  let c4 = f32x4.splat(0.4), c5 = f32x4.splat(0.5), c6 = f32x4.splat(0.6), c7 = f32x4.splat(0.7);
  for (let i = 0; i < steps; i++) {
    c0 = f32x4.add(f32x4.mul(c0, m), a); c1 = f32x4.add(f32x4.mul(c1, m), a);
    c2 = f32x4.add(f32x4.mul(c2, m), a); c3 = f32x4.add(f32x4.mul(c3, m), a);
    c4 = f32x4.add(f32x4.mul(c4, m), a); c5 = f32x4.add(f32x4.mul(c5, m), a);
    c6 = f32x4.add(f32x4.mul(c6, m), a); c7 = f32x4.add(f32x4.mul(c7, m), a);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)),
                      f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) +
         f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

export function peak10(steps: i32, mf: f32, af: f32): f32 {
  const m = f32x4.splat(mf), a = f32x4.splat(af);
  let c0 = f32x4.splat(0.0), c1 = f32x4.splat(0.1), c2 = f32x4.splat(0.2), c3 = f32x4.splat(0.3);
  let c4 = f32x4.splat(0.4), c5 = f32x4.splat(0.5), c6 = f32x4.splat(0.6), c7 = f32x4.splat(0.7);
  let c8 = f32x4.splat(0.8), c9 = f32x4.splat(0.9);
  for (let i = 0; i < steps; i++) {
    c0 = f32x4.add(f32x4.mul(c0, m), a); c1 = f32x4.add(f32x4.mul(c1, m), a);
    c2 = f32x4.add(f32x4.mul(c2, m), a); c3 = f32x4.add(f32x4.mul(c3, m), a);
    c4 = f32x4.add(f32x4.mul(c4, m), a); c5 = f32x4.add(f32x4.mul(c5, m), a);
    c6 = f32x4.add(f32x4.mul(c6, m), a); c7 = f32x4.add(f32x4.mul(c7, m), a);
    c8 = f32x4.add(f32x4.mul(c8, m), a); c9 = f32x4.add(f32x4.mul(c9, m), a);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)),
                      f32x4.add(f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)), f32x4.add(c8, c9)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) +
         f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

export function peak12(steps: i32, mf: f32, af: f32): f32 {
  const m = f32x4.splat(mf), a = f32x4.splat(af);
  let c0 = f32x4.splat(0.0), c1 = f32x4.splat(0.1), c2 = f32x4.splat(0.2), c3 = f32x4.splat(0.3);
  let c4 = f32x4.splat(0.4), c5 = f32x4.splat(0.5), c6 = f32x4.splat(0.6), c7 = f32x4.splat(0.7);
  let c8 = f32x4.splat(0.8), c9 = f32x4.splat(0.9), c10 = f32x4.splat(1.0), c11 = f32x4.splat(1.1);
  for (let i = 0; i < steps; i++) {
    c0 = f32x4.add(f32x4.mul(c0, m), a); c1 = f32x4.add(f32x4.mul(c1, m), a);
    c2 = f32x4.add(f32x4.mul(c2, m), a); c3 = f32x4.add(f32x4.mul(c3, m), a);
    c4 = f32x4.add(f32x4.mul(c4, m), a); c5 = f32x4.add(f32x4.mul(c5, m), a);
    c6 = f32x4.add(f32x4.mul(c6, m), a); c7 = f32x4.add(f32x4.mul(c7, m), a);
    c8 = f32x4.add(f32x4.mul(c8, m), a); c9 = f32x4.add(f32x4.mul(c9, m), a);
    c10 = f32x4.add(f32x4.mul(c10, m), a); c11 = f32x4.add(f32x4.mul(c11, m), a);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)),
                      f32x4.add(f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)),
                                f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) +
         f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
