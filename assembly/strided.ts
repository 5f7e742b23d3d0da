// Internal helpers for kernels over strided operands (not exported from the module).
//
// Shapes and strides arrive in a small int32 block `meta` that the caller writes
// (src/layout.ts, writeMeta), for k operands over nd ≥ 1 dimensions:
//   meta = [shape (nd), strides of operand 0 (nd), ..., strides of operand k-1 (nd),
//           counters (nd), running offsets (k)]          — the last two are the kernel's scratch
// Strides are in elements (0 along a broadcast dimension). The caller merges every pair of
// dimensions it can first, so the innermost dimension is as long as possible: the kernels walk
// the outer dimensions with the counters and hand each innermost row to a row loop. Element
// offsets are i32 (memory is below 4 GiB and elements are 4 bytes).

@inline export function metaAt(meta: usize, k: i32): i32 {
  return load<i32>(meta + (<usize>k << 2));
}

@inline function setMeta(meta: usize, k: i32, v: i32): void {
  store<i32>(meta + (<usize>k << 2), v);
}

// Resets the counters and offsets; returns the number of innermost rows (0 if any dim is 0).
@inline export function startRows(meta: usize, nd: i32, k: i32): i32 {
  let outer = 1;
  for (let d = 0; d < nd; d++) outer *= metaAt(meta, d);
  if (outer == 0) return 0;
  const ctr = nd * (k + 1);
  for (let d = 0; d < nd; d++) setMeta(meta, ctr + d, 0);
  for (let j = 0; j < k; j++) setMeta(meta, ctr + nd + j, 0);
  return outer / metaAt(meta, nd - 1);
}

// Byte offset of operand j's current row.
@inline export function rowOffset(meta: usize, nd: i32, k: i32, j: i32): usize {
  return <usize>metaAt(meta, nd * (k + 2) + j) << 2;
}

// Moves the counters and every operand's offset on to the next innermost row.
@inline export function nextRow(meta: usize, nd: i32, k: i32): void {
  const ctr = nd * (k + 1), off = nd * (k + 2);
  for (let d = nd - 2; d >= 0; d--) {
    const c = metaAt(meta, ctr + d) + 1;
    if (c < metaAt(meta, d)) {
      setMeta(meta, ctr + d, c);
      for (let j = 0; j < k; j++) setMeta(meta, off + j, metaAt(meta, off + j) + metaAt(meta, nd * (j + 1) + d));
      return;
    }
    setMeta(meta, ctr + d, 0);
    const back = metaAt(meta, d) - 1;
    for (let j = 0; j < k; j++) setMeta(meta, off + j, metaAt(meta, off + j) - metaAt(meta, nd * (j + 1) + d) * back);
  }
}

// Stride of operand j along the innermost dimension.
@inline export function innerStride(meta: usize, nd: i32, j: i32): i32 {
  return metaAt(meta, nd * (j + 1) + nd - 1);
}
