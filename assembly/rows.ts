// Internal: helpers over one contiguous row of floats, shared by kernel files (not a kernel: the
// module does not export it).

// The maximum of a contiguous row of n floats (NaN if any element is NaN; four lanes, then the
// tail: the order does not matter for max).
@inline export function rowMax(x: usize, n: i32): f32 {
  let vm = f32x4.splat(-Infinity);
  let k = 0;
  for (; k + 4 <= n; k += 4) vm = f32x4.max(vm, v128.load(x + (<usize>k << 2)));
  let m = max<f32>(max<f32>(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max<f32>(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
  for (; k < n; k++) m = max<f32>(m, load<f32>(x + (<usize>k << 2)));
  return m;
}
