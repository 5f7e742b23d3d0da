// Shared plumbing for the kernel tests (one file per kernel file of assembly/): both backends,
// buffers between guard cells holding a sentinel (so a SIMD body or tail writing past its end
// fails), seeded data and comparisons against float64 references.
import { expect } from "vitest";
import { createBackend, type Backend } from "../../src/backend/index.js";
import type { Generator } from "../../src/random.js";

export const wasm = createBackend("wasm");
export const js = createBackend("js");
export const BACKENDS: readonly Backend[] = [wasm, js];
/** Odd lengths (SIMD tails of 1, 3, 1 and 1 elements) plus aligned ones. */
export const ODD = [1, 3, 5, 17, 1001];
export const LENGTHS = [...ODD, 4, 8, 64];
export const SENTINEL = 987654.3125;
export const U = 2 ** -24; // unit roundoff of float32
export const f32 = Math.fround;

// ---- buffers with guard cells ----------------------------------------------------------------

export interface Buf {
  be: Backend;
  base: number;
  /** byte offset of element 0 */
  ptr: number;
  n: number;
  pre: number;
  post: number;
  guard: number;
}

/**
 * n elements (float32, or int32 with `int`) between `pre` and `post` guard cells holding `guard`.
 * pre = 16 keeps element 0 on a 64-byte boundary; other values misalign it.
 */
export function alloc(be: Backend, n: number, init?: ArrayLike<number> | null, opts: { pre?: number; post?: number; int?: boolean; guard?: number } = {}): Buf {
  const pre = opts.pre ?? 16;
  const post = opts.post ?? 16;
  const guard = opts.guard ?? SENTINEL;
  const base = be.heap.alloc((pre + n + post) * 4);
  const e0 = base >> 2;
  be.f32().fill(guard, e0, e0 + pre + n + post);
  if (init) {
    if (opts.int) be.i32().set(init, e0 + pre);
    else be.f32().set(init, e0 + pre);
  }
  return { be, base, ptr: base + pre * 4, n, pre, post, guard };
}

export function read(b: Buf): Float32Array {
  const p = b.ptr >> 2;
  return b.be.f32().slice(p, p + b.n);
}

export function readI32(b: Buf): Int32Array {
  const p = b.ptr >> 2;
  return b.be.i32().slice(p, p + b.n);
}

/** Index (relative to element 0) of the first guard cell that changed, or null. */
export function guardBroken(b: Buf): number | null {
  const f = b.be.f32();
  const e0 = b.base >> 2;
  const same = (v: number) => Object.is(v, f32(b.guard));
  for (let i = 0; i < b.pre; i++) if (!same(f[e0 + i])) return i - b.pre;
  const after = (b.ptr >> 2) + b.n;
  for (let i = 0; i < b.post; i++) if (!same(f[after + i])) return b.n + i;
  return null;
}

export function expectGuards(label: string, ...bufs: Buf[]): void {
  for (const b of bufs) {
    const at = guardBroken(b);
    expect(at, `${label}: wrote outside its buffer at element ${at}`).toBeNull();
  }
}

export function freeAll(...bufs: Buf[]): void {
  for (const b of bufs) b.be.heap.free(b.base);
}

// ---- data and comparisons --------------------------------------------------------------------

export function randArray(g: Generator, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.uniform(lo, hi);
  return a;
}

export function randLabels(g: Generator, M: number, C: number): Int32Array {
  const a = new Int32Array(M);
  for (let i = 0; i < M; i++) a[i] = g.randint(C);
  return a;
}

/** First element where |got - ref| > tol(i) (NaN must match NaN), as a message; null if none. */
export function mismatch(label: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: (i: number) => number): string | null {
  if (got.length !== ref.length) return `${label}: length ${got.length} ≠ ${ref.length}`;
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ref[i])) {
      if (!Number.isNaN(got[i])) return `${label}: [${i}] got ${got[i]}, expected NaN`;
      continue;
    }
    const err = Math.abs(got[i] - ref[i]);
    if (!(err <= tol(i))) return `${label}: [${i}] got ${got[i]}, expected ${ref[i]} (|err| ${err} > tol ${tol(i)})`;
  }
  return null;
}

export function expectClose(label: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: (i: number) => number): void {
  expect(mismatch(label, got, ref, tol)).toBeNull();
}

/** Bitwise equality (Object.is: NaN equals NaN, -0 differs from +0). */
export function expectBitwise(label: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  let bad: string | null = got.length === ref.length ? null : `${label}: length ${got.length} ≠ ${ref.length}`;
  for (let i = 0; bad === null && i < ref.length; i++) {
    if (!Object.is(got[i], ref[i])) bad = `${label}: [${i}] got ${got[i]}, expected exactly ${ref[i]}`;
  }
  expect(bad).toBeNull();
}
