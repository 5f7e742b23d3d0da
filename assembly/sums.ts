// Internal helpers shared by kernel files (not exported from the module).

// Σ of n floats from p in float64, two f64x2 accumulators in a fixed order (shared by the
// channel sums of batch norm).
@inline export function sumF64(p: usize, n: i32): f64 {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const v = v128.load(p + (<usize>k << 2));
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
  }
  let s = (f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a1, 0)) + (f64x2.extract_lane(a0, 1) + f64x2.extract_lane(a1, 1));
  for (; k < n; k++) s += <f64>load<f32>(p + (<usize>k << 2));
  return s;
}
