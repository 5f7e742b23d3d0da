import { innerStride, metaAt, nextRow, rowOffset, startRows } from "./strided";

// Elementwise kernels over n float32s. Pointers are byte offsets; dst may alias an input.
// Each loop runs f32x4 over the bulk and scalar over the n % 4 tail, with the same formula.

// dst = value
export function fill(dst: usize, n: i32, value: f32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), value);
}

// dst = src (byte count; regions may overlap)
export function copy(dst: usize, src: usize, bytes: i32): void {
  memory.copy(dst, src, <usize>bytes);
}

const ADD = 0, SUB = 1, MUL = 2;

// dst = a op b; `op` is a compile-time constant at every call site, so each export gets its own
// branch-free loop after inlining.
@inline function binary(op: i32, dst: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const x = v128.load(a + o), y = v128.load(b + o);
    v128.store(dst + o, op == ADD ? f32x4.add(x, y) : op == SUB ? f32x4.sub(x, y) : f32x4.mul(x, y));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(a + o), y = load<f32>(b + o);
    store<f32>(dst + o, op == ADD ? x + y : op == SUB ? x - y : x * y);
  }
}

// dst = a + b
export function add(dst: usize, a: usize, b: usize, n: i32): void {
  binary(ADD, dst, a, b, n);
}

// dst = a - b
export function sub(dst: usize, a: usize, b: usize, n: i32): void {
  binary(SUB, dst, a, b, n);
}

// dst = a * b
export function mul(dst: usize, a: usize, b: usize, n: i32): void {
  binary(MUL, dst, a, b, n);
}

// dst = a * s + t
export function affine(dst: usize, a: usize, s: f32, t: f32, n: i32): void {
  const vs = f32x4.splat(s), vt = f32x4.splat(t);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(f32x4.mul(v128.load(a + o), vs), vt));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(a + o) * s + t);
  }
}

// dst += alpha * x
export function axpy(dst: usize, x: usize, alpha: f32, n: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), f32x4.mul(va, v128.load(x + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + alpha * load<f32>(x + o));
  }
}

// dst (M,N) = a (M,N) op row (N) broadcast over rows: mode 0 a + row, 1 a * row, 2 a - row.
export function rowwise(dst: usize, a: usize, row: usize, M: i32, N: i32, mode: i32): void {
  for (let i = 0; i < M; i++) {
    const base = <usize>i * <usize>N << 2;
    if (mode == 1) mul(dst + base, a + base, row, N);
    else if (mode == 2) sub(dst + base, a + base, row, N);
    else add(dst + base, a + base, row, N);
  }
}

// dst = max(x, 0); NaN stays NaN, as in PyTorch.
export function relu(dst: usize, x: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.max(v128.load(x + o), z));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, max<f32>(load<f32>(x + o), 0));
  }
}

// dx = y > 0 ? dy : 0, with y = relu(x) the forward output.
export function reluBackward(dx: usize, dy: usize, y: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(y + o), z)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(y + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

// ---- broadcasting binary ops over strided operands ---------------------------------------------

// The ops of binaryStrided. Float32 operands: Add..Pow write float32, Eq..Ge write bool (int32
// 0/1). Int32/bool operands: Add, Sub, Mul (wrapping), Maximum, Minimum, And, Or, Xor write
// int32; Eq..Ge write bool.
export enum BinaryOp {
  Add = 0, Sub = 1, Mul = 2, Div = 3, Maximum = 4, Minimum = 5, Pow = 6,
  Eq = 7, Ne = 8, Lt = 9, Le = 10, Gt = 11, Ge = 12, And = 13, Or = 14, Xor = 15,
}

// dst = a op b over `shape` (broadcast: stride 0): meta = [shape (nd), dst strides, a strides,
// b strides, scratch (nd + 3)] (see assembly/strided.ts); isInt: a and b are int32 (or bool)
export function binaryStrided(op: i32, dst: usize, a: usize, b: usize, meta: usize, nd: i32, isInt: bool): void {
  if (isInt) {
    switch (op) {
      case BinaryOp.Add: stridedInt(BinaryOp.Add, dst, a, b, meta, nd); break;
      case BinaryOp.Sub: stridedInt(BinaryOp.Sub, dst, a, b, meta, nd); break;
      case BinaryOp.Mul: stridedInt(BinaryOp.Mul, dst, a, b, meta, nd); break;
      case BinaryOp.Maximum: stridedInt(BinaryOp.Maximum, dst, a, b, meta, nd); break;
      case BinaryOp.Minimum: stridedInt(BinaryOp.Minimum, dst, a, b, meta, nd); break;
      case BinaryOp.Eq: stridedInt(BinaryOp.Eq, dst, a, b, meta, nd); break;
      case BinaryOp.Ne: stridedInt(BinaryOp.Ne, dst, a, b, meta, nd); break;
      case BinaryOp.Lt: stridedInt(BinaryOp.Lt, dst, a, b, meta, nd); break;
      case BinaryOp.Le: stridedInt(BinaryOp.Le, dst, a, b, meta, nd); break;
      case BinaryOp.Gt: stridedInt(BinaryOp.Gt, dst, a, b, meta, nd); break;
      case BinaryOp.Ge: stridedInt(BinaryOp.Ge, dst, a, b, meta, nd); break;
      case BinaryOp.And: stridedInt(BinaryOp.And, dst, a, b, meta, nd); break;
      case BinaryOp.Or: stridedInt(BinaryOp.Or, dst, a, b, meta, nd); break;
      case BinaryOp.Xor: stridedInt(BinaryOp.Xor, dst, a, b, meta, nd); break;
    }
    return;
  }
  switch (op) {
    case BinaryOp.Add: stridedF32(BinaryOp.Add, dst, a, b, meta, nd); break;
    case BinaryOp.Sub: stridedF32(BinaryOp.Sub, dst, a, b, meta, nd); break;
    case BinaryOp.Mul: stridedF32(BinaryOp.Mul, dst, a, b, meta, nd); break;
    case BinaryOp.Div: stridedF32(BinaryOp.Div, dst, a, b, meta, nd); break;
    case BinaryOp.Maximum: stridedF32(BinaryOp.Maximum, dst, a, b, meta, nd); break;
    case BinaryOp.Minimum: stridedF32(BinaryOp.Minimum, dst, a, b, meta, nd); break;
    case BinaryOp.Pow: stridedF32(BinaryOp.Pow, dst, a, b, meta, nd); break;
    case BinaryOp.Eq: stridedF32(BinaryOp.Eq, dst, a, b, meta, nd); break;
    case BinaryOp.Ne: stridedF32(BinaryOp.Ne, dst, a, b, meta, nd); break;
    case BinaryOp.Lt: stridedF32(BinaryOp.Lt, dst, a, b, meta, nd); break;
    case BinaryOp.Le: stridedF32(BinaryOp.Le, dst, a, b, meta, nd); break;
    case BinaryOp.Gt: stridedF32(BinaryOp.Gt, dst, a, b, meta, nd); break;
    case BinaryOp.Ge: stridedF32(BinaryOp.Ge, dst, a, b, meta, nd); break;
  }
}

@inline function stridedF32(op: i32, dst: usize, a: usize, b: usize, meta: usize, nd: i32): void {
  const rows = startRows(meta, nd, 3);
  const n = metaAt(meta, nd - 1);
  const ds = innerStride(meta, nd, 0), as = innerStride(meta, nd, 1), bs = innerStride(meta, nd, 2);
  for (let r = 0; r < rows; r++) {
    const d = dst + rowOffset(meta, nd, 3, 0), x = a + rowOffset(meta, nd, 3, 1), y = b + rowOffset(meta, nd, 3, 2);
    let i = 0;
    if (ds == 1 && op != BinaryOp.Pow) {
      // Four lanes at a time where both operands are contiguous or broadcast along the row.
      if (as == 1 && bs == 1) {
        for (; i + 4 <= n; i += 4) v128.store(d + (<usize>i << 2), vecF32(op, v128.load(x + (<usize>i << 2)), v128.load(y + (<usize>i << 2))));
      } else if (as == 1 && bs == 0) {
        const vy = v128.load32_splat(y);
        for (; i + 4 <= n; i += 4) v128.store(d + (<usize>i << 2), vecF32(op, v128.load(x + (<usize>i << 2)), vy));
      } else if (as == 0 && bs == 1) {
        const vx = v128.load32_splat(x);
        for (; i + 4 <= n; i += 4) v128.store(d + (<usize>i << 2), vecF32(op, vx, v128.load(y + (<usize>i << 2))));
      }
    }
    for (; i < n; i++) {
      const r0 = load<f32>(x + (<usize>(i * as) << 2)), r1 = load<f32>(y + (<usize>(i * bs) << 2));
      const at = d + (<usize>(i * ds) << 2);
      if (op >= BinaryOp.Eq) store<i32>(at, cmpF32(op, r0, r1) ? 1 : 0);
      else store<f32>(at, scalarF32(op, r0, r1));
    }
    nextRow(meta, nd, 3);
  }
}

@inline function vecF32(op: i32, x: v128, y: v128): v128 {
  const one = i32x4.splat(1);
  switch (op) {
    case BinaryOp.Add: return f32x4.add(x, y);
    case BinaryOp.Sub: return f32x4.sub(x, y);
    case BinaryOp.Mul: return f32x4.mul(x, y);
    case BinaryOp.Div: return f32x4.div(x, y);
    case BinaryOp.Maximum: return f32x4.max(x, y);
    case BinaryOp.Minimum: return f32x4.min(x, y);
    case BinaryOp.Eq: return v128.and(f32x4.eq(x, y), one);
    case BinaryOp.Ne: return v128.and(f32x4.ne(x, y), one);
    case BinaryOp.Lt: return v128.and(f32x4.lt(x, y), one);
    case BinaryOp.Le: return v128.and(f32x4.le(x, y), one);
    case BinaryOp.Gt: return v128.and(f32x4.gt(x, y), one);
    default: return v128.and(f32x4.ge(x, y), one);
  }
}

@inline function scalarF32(op: i32, x: f32, y: f32): f32 {
  switch (op) {
    case BinaryOp.Add: return x + y;
    case BinaryOp.Sub: return x - y;
    case BinaryOp.Mul: return x * y;
    case BinaryOp.Div: return x / y;
    case BinaryOp.Maximum: return max<f32>(x, y);
    case BinaryOp.Minimum: return min<f32>(x, y);
    default: return Mathf.pow(x, y);
  }
}

@inline function cmpF32(op: i32, x: f32, y: f32): bool {
  switch (op) {
    case BinaryOp.Eq: return x == y;
    case BinaryOp.Ne: return x != y;
    case BinaryOp.Lt: return x < y;
    case BinaryOp.Le: return x <= y;
    case BinaryOp.Gt: return x > y;
    default: return x >= y;
  }
}

@inline function stridedInt(op: i32, dst: usize, a: usize, b: usize, meta: usize, nd: i32): void {
  const rows = startRows(meta, nd, 3);
  const n = metaAt(meta, nd - 1);
  const ds = innerStride(meta, nd, 0), as = innerStride(meta, nd, 1), bs = innerStride(meta, nd, 2);
  for (let r = 0; r < rows; r++) {
    const d = dst + rowOffset(meta, nd, 3, 0), x = a + rowOffset(meta, nd, 3, 1), y = b + rowOffset(meta, nd, 3, 2);
    let i = 0;
    if (ds == 1 && as == 1 && bs == 1) {
      for (; i + 4 <= n; i += 4) v128.store(d + (<usize>i << 2), vecInt(op, v128.load(x + (<usize>i << 2)), v128.load(y + (<usize>i << 2))));
    }
    for (; i < n; i++) {
      store<i32>(d + (<usize>(i * ds) << 2), scalarInt(op, load<i32>(x + (<usize>(i * as) << 2)), load<i32>(y + (<usize>(i * bs) << 2))));
    }
    nextRow(meta, nd, 3);
  }
}

@inline function vecInt(op: i32, x: v128, y: v128): v128 {
  const one = i32x4.splat(1);
  switch (op) {
    case BinaryOp.Add: return i32x4.add(x, y);
    case BinaryOp.Sub: return i32x4.sub(x, y);
    case BinaryOp.Mul: return i32x4.mul(x, y);
    case BinaryOp.Maximum: return i32x4.max_s(x, y);
    case BinaryOp.Minimum: return i32x4.min_s(x, y);
    case BinaryOp.Eq: return v128.and(i32x4.eq(x, y), one);
    case BinaryOp.Ne: return v128.and(i32x4.ne(x, y), one);
    case BinaryOp.Lt: return v128.and(i32x4.lt_s(x, y), one);
    case BinaryOp.Le: return v128.and(i32x4.le_s(x, y), one);
    case BinaryOp.Gt: return v128.and(i32x4.gt_s(x, y), one);
    case BinaryOp.Ge: return v128.and(i32x4.ge_s(x, y), one);
    case BinaryOp.And: return v128.and(x, y);
    case BinaryOp.Or: return v128.or(x, y);
    default: return v128.xor(x, y);
  }
}

@inline function scalarInt(op: i32, x: i32, y: i32): i32 {
  switch (op) {
    case BinaryOp.Add: return x + y;
    case BinaryOp.Sub: return x - y;
    case BinaryOp.Mul: return x * y;
    case BinaryOp.Maximum: return max<i32>(x, y);
    case BinaryOp.Minimum: return min<i32>(x, y);
    case BinaryOp.Eq: return x == y ? 1 : 0;
    case BinaryOp.Ne: return x != y ? 1 : 0;
    case BinaryOp.Lt: return x < y ? 1 : 0;
    case BinaryOp.Le: return x <= y ? 1 : 0;
    case BinaryOp.Gt: return x > y ? 1 : 0;
    case BinaryOp.Ge: return x >= y ? 1 : 0;
    case BinaryOp.And: return x & y;
    case BinaryOp.Or: return x | y;
    default: return x ^ y;
  }
}

// dst = cond ? a : b over `shape` (4-byte elements of any dtype, cond bool): meta = [shape (nd),
// dst strides, cond strides, a strides, b strides, scratch (nd + 4)]
export function whereStrided(dst: usize, cond: usize, a: usize, b: usize, meta: usize, nd: i32): void {
  const rows = startRows(meta, nd, 4);
  const n = metaAt(meta, nd - 1);
  const ds = innerStride(meta, nd, 0), cs = innerStride(meta, nd, 1), as = innerStride(meta, nd, 2), bs = innerStride(meta, nd, 3);
  for (let r = 0; r < rows; r++) {
    const d = dst + rowOffset(meta, nd, 4, 0), c = cond + rowOffset(meta, nd, 4, 1);
    const x = a + rowOffset(meta, nd, 4, 2), y = b + rowOffset(meta, nd, 4, 3);
    let i = 0;
    if (ds == 1 && cs == 1 && as == 1 && bs == 1) {
      const zero = i32x4.splat(0);
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        v128.store(d + o, v128.bitselect(v128.load(x + o), v128.load(y + o), i32x4.ne(v128.load(c + o), zero)));
      }
    }
    for (; i < n; i++) {
      const v = load<i32>(c + (<usize>(i * cs) << 2)) != 0 ? load<u32>(x + (<usize>(i * as) << 2)) : load<u32>(y + (<usize>(i * bs) << 2));
      store<u32>(d + (<usize>(i * ds) << 2), v);
    }
    nextRow(meta, nd, 4);
  }
}
