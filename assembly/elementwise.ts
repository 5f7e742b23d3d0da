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
