// Single-precision GEMM, row-major, in the three forms backprop needs:
//   gemmNn: C (M,N) = A (M,K) · B (K,N)
//   gemmNt: C (M,N) = A (M,K) · B (N,K)ᵀ      linear forward   x · Wᵀ
//   gemmTn: C (M,N) = A (K,M)ᵀ · B (K,N)      weight gradient  dyᵀ · x
// In every form C = act((accumulate ? C : 0) + bias + A·B), with bias a length-N row (0 = none).
// `flags`: GEMM_ACCUMULATE (1) reads C; GEMM_RELU (2) applies act = max(·, 0) as the sum is
// stored for the last time (the fused linear + ReLU epilogue: the same max as the relu kernel,
// so the bits equal gemm then relu, without another pass over C).
// Pointers are byte offsets into linear memory; lda/ldb/ldc are row strides in elements.
// `scratch` is gemmScratchBytes(M) bytes of caller-owned memory (one per thread): kernels keep
// no state.
//
// Blocking: K is cut into equal slices of at most KC; for each slice and each 8-wide column
// panel of B the panel is packed (kc×8 contiguous, zero-padded past N) and swept by a 4×8
// register tile (8 f32x4 accumulators; more spill in V8) down all rows of A. A is packed too,
// once per slice, into 4-row blocks (kc×4 contiguous), so the tile's four broadcasts share one
// base register with immediate offsets and Aᵀ's power-of-two strides do not thrash the cache;
// with at most two panels (N ≤ 16) packing A costs more than it saves and A is read in place.
// Every C element is summed in increasing k with a separate mul and add (no FMA; the opt-in
// fast-math build fuses them, see madd.ts) on every path,
// so the bits do not depend on the path, on how rows are split between tiles or threads, nor on
// the runtime.
import { madd } from "./madd";

const GEMM_ACCUMULATE: i32 = 1;
const GEMM_RELU: i32 = 2;

const KC: i32 = 256;
const NR: i32 = 8;
const MR: i32 = 4;
const DIRECT_MAX_N: i32 = 2 * NR;
const PANEL_BYTES: usize = <usize>(KC * NR * 4);
const TILE_BYTES: usize = <usize>(MR * NR * 4);
const INIT_BYTES: usize = <usize>(NR * 4);

// Bytes of scratch one gemm call with M rows needs: a packed B panel, a tile buffer, an
// accumulator start row and M (rounded up to 4) rows of packed A for one K slice.
export function gemmScratchBytes(M: i32): i32 {
  return <i32>(PANEL_BYTES + TILE_BYTES + INIT_BYTES + <usize>((M + MR - 1) & ~(MR - 1)) * <usize>KC * 4);
}

// C (M,N) = act((accumulate ? C : 0) + bias + A (M,K) · B (K,N))
export function gemmNn(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32,
                        c: usize, ldc: i32, bias: usize, flags: i32, scratch: usize): void {
  gemm(false, false, M, N, K, a, lda, b, ldb, c, ldc, bias, (flags & GEMM_ACCUMULATE) != 0, (flags & GEMM_RELU) != 0, scratch);
}

// C (M,N) = act((accumulate ? C : 0) + bias + A (M,K) · B (N,K)ᵀ)   (linear forward x · Wᵀ)
export function gemmNt(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32,
                        c: usize, ldc: i32, bias: usize, flags: i32, scratch: usize): void {
  gemm(false, true, M, N, K, a, lda, b, ldb, c, ldc, bias, (flags & GEMM_ACCUMULATE) != 0, (flags & GEMM_RELU) != 0, scratch);
}

// C (M,N) = act((accumulate ? C : 0) + bias + A (K,M)ᵀ · B (K,N))   (weight gradient dyᵀ · x)
export function gemmTn(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32,
                        c: usize, ldc: i32, bias: usize, flags: i32, scratch: usize): void {
  gemm(true, false, M, N, K, a, lda, b, ldb, c, ldc, bias, (flags & GEMM_ACCUMULATE) != 0, (flags & GEMM_RELU) != 0, scratch);
}

// C (M,N) = A (M,K) · B (N,K)ᵀ as row-by-row dot products: for small M, where transposing B
// into panels would cost as much as the product itself. Sums in a different order than gemmNt,
// so callers pick one path from the full problem's M, never per row block.
export function gemmNtDot(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32,
                            c: usize, ldc: i32, bias: usize, flags: i32): void {
  const accumulate = (flags & GEMM_ACCUMULATE) != 0;
  const relu = (flags & GEMM_RELU) != 0;
  const k4 = K & ~3;
  for (let i = 0; i < M; i++) {
    const ar = a + ((<usize>i * <usize>lda) << 2);
    const cr = c + ((<usize>i * <usize>ldc) << 2);
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const b0 = b + ((<usize>j * <usize>ldb) << 2);
      const b1 = b0 + (<usize>ldb << 2);
      const b2 = b1 + (<usize>ldb << 2);
      const b3 = b2 + (<usize>ldb << 2);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let k = 0; k < k4; k += 4) {
        const o = <usize>k << 2;
        const x = v128.load(ar + o);
        s0 = madd(x, v128.load(b0 + o), s0);
        s1 = madd(x, v128.load(b1 + o), s1);
        s2 = madd(x, v128.load(b2 + o), s2);
        s3 = madd(x, v128.load(b3 + o), s3);
      }
      let d0 = hsum(s0), d1 = hsum(s1), d2 = hsum(s2), d3 = hsum(s3);
      for (let k = k4; k < K; k++) {
        const o = <usize>k << 2;
        const x = load<f32>(ar + o);
        d0 += x * load<f32>(b0 + o);
        d1 += x * load<f32>(b1 + o);
        d2 += x * load<f32>(b2 + o);
        d3 += x * load<f32>(b3 + o);
      }
      storeDot(cr, j, d0, bias, accumulate, relu);
      storeDot(cr, j + 1, d1, bias, accumulate, relu);
      storeDot(cr, j + 2, d2, bias, accumulate, relu);
      storeDot(cr, j + 3, d3, bias, accumulate, relu);
    }
    for (; j < N; j++) {
      const br = b + ((<usize>j * <usize>ldb) << 2);
      let s = f32x4.splat(0);
      for (let k = 0; k < k4; k += 4) {
        const o = <usize>k << 2;
        s = madd(v128.load(ar + o), v128.load(br + o), s);
      }
      let d = hsum(s);
      for (let k = k4; k < K; k++) d += load<f32>(ar + (<usize>k << 2)) * load<f32>(br + (<usize>k << 2));
      storeDot(cr, j, d, bias, accumulate, relu);
    }
  }
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
         (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

@inline function storeDot(cr: usize, j: i32, d: f32, bias: usize, accumulate: bool, relu: bool): void {
  const p = cr + (<usize>j << 2);
  let v: f32 = accumulate ? load<f32>(p) : 0;
  if (bias) v += load<f32>(bias + (<usize>j << 2));
  v += d;
  store<f32>(p, relu ? max<f32>(v, 0) : v);
}

function gemm(transA: bool, transB: bool, M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize,
              ldb: i32, c: usize, ldc: i32, bias: usize, accumulate: bool, relu: bool, scratch: usize): void {
  if (M <= 0 || N <= 0) return;
  const ldcB: usize = <usize>ldc << 2;
  const panel = scratch;
  const tile = scratch + PANEL_BYTES;
  const init = tile + TILE_BYTES;
  const packedA = init + INIT_BYTES;
  if (K <= 0 || (accumulate && bias)) {
    // C += bias first, so every path sums (C + bias) + a·b in the same order.
    addBiasOnly(M, N, c, ldcB, bias, accumulate, relu && K <= 0);
    if (K <= 0) return;
  }
  const packA = N > DIRECT_MAX_N;
  // In place, A(i,k) is at a + i*aRow + k*aCol; Aᵀ swaps the strides.
  const aRow: usize = transA ? 4 : <usize>lda << 2;
  const aCol: usize = transA ? <usize>lda << 2 : 4;
  const slices = (K + KC - 1) / KC;
  const kcMax = (K + slices - 1) / slices;
  for (let k0 = 0; k0 < K; k0 += kcMax) {
    const kc = min(kcMax, K - k0);
    const loadC = accumulate || k0 > 0;
    const act = relu && k0 + kc >= K; // the last slice stores C for good
    if (packA) {
      if (transA) packAT(a, lda, M, k0, kc, packedA);
      else packAN(a, lda, M, k0, kc, packedA);
    }
    const aSlice = a + <usize>k0 * aCol;
    for (let j0 = 0; j0 < N; j0 += NR) {
      const nr = min(NR, N - j0);
      packB(transB, b, ldb, k0, kc, j0, nr, panel);
      if (!loadC) fillInit(init, bias, j0, nr);
      const cCol = c + (<usize>j0 << 2);
      if (packA) sweepRows(true, packedA, 4, 16, <usize>kc << 4, M, panel, kc, cCol, ldcB, nr, loadC, act, init, tile);
      else sweepRows(false, aSlice, aRow, aCol, aRow * MR, M, panel, kc, cCol, ldcB, nr, loadC, act, init, tile);
    }
  }
}

// All rows of C against one panel: 4-row tiles, then single rows. Row block r of A starts at
// a + r*aBlock; within it rows are aRow apart and k steps by aCol (`packed`: 4 and 16, known
// at compile time). Partial panels (nr < 8) go through the tile buffer so C is never written
// past column N.
@inline function sweepRows(packed: bool, a: usize, aRow: usize, aCol: usize, aBlock: usize, M: i32, panel: usize,
                           kc: i32, cCol: usize, ldcB: usize, nr: i32, loadC: bool, act: bool,
                           init: usize, tile: usize): void {
  const tileStride = <usize>(NR << 2);
  let i = 0;
  for (; i + MR <= M; i += MR) {
    const ap = a + <usize>(i / MR) * aBlock;
    const cp = cCol + <usize>i * ldcB;
    const full = nr == NR;
    const cDst = full ? cp : tile;
    const cStride = full ? ldcB : tileStride;
    if (!full && loadC) copyTile(cp, ldcB, tile, tileStride, MR, nr);
    kernel4x8(packed, ap, aRow, aCol, panel, kc, cDst, cStride, loadC, act, init);
    if (!full) copyTile(tile, tileStride, cp, ldcB, MR, nr);
  }
  for (; i < M; i++) {
    const ap = a + <usize>(i / MR) * aBlock + <usize>(i % MR) * aRow;
    const cp = cCol + <usize>i * ldcB;
    if (nr == NR) {
      kernel1x8(ap, aCol, panel, kc, cp, loadC, act, init);
    } else {
      if (loadC) copyTile(cp, ldcB, tile, tileStride, 1, nr);
      kernel1x8(ap, aCol, panel, kc, tile, loadC, act, init);
      copyTile(tile, tileStride, cp, ldcB, 1, nr);
    }
  }
}

// 4×8 tile of C (rows ldc bytes apart) += A rows (aRow apart, k step aCol) · panel (kc×8).
// `packed` (a compile-time constant at each call): A is a packed 4-row block, aRow = 4 and
// aCol = 16, and the four broadcasts become one base register plus immediate offsets, which
// a + aRow cannot express (it may wrap, so Binaryen does not fold it into the offset).
@inline function kernel4x8(packed: bool, a: usize, aRow: usize, aCol: usize, p: usize, kc: i32, c: usize,
                           ldc: usize, loadC: bool, act: bool, init: usize): void {
  let c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128;
  if (loadC) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc); c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc); c31 = v128.load(c + 3 * ldc, 16);
  } else {
    c00 = v128.load(init); c01 = v128.load(init, 16);
    c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
  }
  const end = p + (<usize>kc << 5);
  while (p < end) {
    const b0 = v128.load(p);
    const b1 = v128.load(p, 16);
    let x = v128.load32_splat(a);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = packed ? v128.load32_splat(a, 4) : v128.load32_splat(a + aRow);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = packed ? v128.load32_splat(a, 8) : v128.load32_splat(a + 2 * aRow);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = packed ? v128.load32_splat(a, 12) : v128.load32_splat(a + 3 * aRow);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    a += packed ? 16 : aCol;
    p += 32;
  }
  if (act) {
    const z = f32x4.splat(0);
    c00 = f32x4.max(c00, z); c01 = f32x4.max(c01, z);
    c10 = f32x4.max(c10, z); c11 = f32x4.max(c11, z);
    c20 = f32x4.max(c20, z); c21 = f32x4.max(c21, z);
    c30 = f32x4.max(c30, z); c31 = f32x4.max(c31, z);
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
}

// One row of the 4×8 tile, for the M % 4 leftover rows. Same summation order as kernel4x8.
@inline function kernel1x8(a: usize, aCol: usize, p: usize, kc: i32, c: usize,
                           loadC: bool, act: bool, init: usize): void {
  let c0 = v128.load(loadC ? c : init);
  let c1 = v128.load(loadC ? c : init, 16);
  const end = p + (<usize>kc << 5);
  while (p < end) {
    const x = v128.load32_splat(a);
    c0 = madd(x, v128.load(p), c0);
    c1 = madd(x, v128.load(p, 16), c1);
    a += aCol;
    p += 32;
  }
  if (act) {
    c0 = f32x4.max(c0, f32x4.splat(0));
    c1 = f32x4.max(c1, f32x4.splat(0));
  }
  v128.store(c, c0);
  v128.store(c, c1, 16);
}

// Packs B(k0..k0+kc, j0..j0+nr) into panel[kk*8 + jj], zero-padding columns nr..7.
function packB(transB: bool, b: usize, ldb: i32, k0: i32, kc: i32, j0: i32, nr: i32,
               panel: usize): void {
  const ldbB = <usize>ldb << 2;
  if (!transB) {
    // B(k,j) at b + k*ldb + j: each panel row is 8 consecutive floats of a B row.
    let src = b + <usize>k0 * ldbB + (<usize>j0 << 2);
    let dst = panel;
    if (nr == NR) {
      for (let k = 0; k < kc; k++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += ldbB;
        dst += 32;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(dst + (<usize>j << 2), j < nr ? load<f32>(src + (<usize>j << 2)) : 0);
        }
        src += ldbB;
        dst += 32;
      }
    }
    return;
  }
  // B(k,j) at b + j*ldb + k: gather 8 rows of B and transpose 4×4 blocks into the panel.
  const row0 = b + <usize>j0 * ldbB + (<usize>k0 << 2);
  let k = 0;
  if (nr == NR) {
    for (; k + 4 <= kc; k += 4) {
      const s = row0 + (<usize>k << 2);
      const d = panel + (<usize>k << 5);
      transpose4(s, ldbB, d, 32);
      transpose4(s + 4 * ldbB, ldbB, d + 16, 32);
    }
  }
  for (; k < kc; k++) {
    const s = row0 + (<usize>k << 2);
    const d = panel + (<usize>k << 5);
    for (let j = 0; j < NR; j++) {
      store<f32>(d + (<usize>j << 2), j < nr ? load<f32>(s + <usize>j * ldbB) : 0);
    }
  }
}

// Packs Aᵀ(0..M, k0..k0+kc), A stored (K,M) with stride lda, as 4-row blocks: block r holds
// A(4r..4r+3, k) at packed + r*kc*16 + k*16, rows past M zero.
function packAT(a: usize, lda: i32, M: i32, k0: i32, kc: i32, packed: usize): void {
  const ldaB = <usize>lda << 2;
  const blockB = <usize>kc << 4;
  const src0 = a + <usize>k0 * ldaB;
  let i = 0;
  for (; i + MR <= M; i += MR) {
    let s = src0 + (<usize>i << 2);
    let d = packed + <usize>(i / MR) * blockB;
    for (let k = 0; k < kc; k++) {
      v128.store(d, v128.load(s));
      s += ldaB;
      d += 16;
    }
  }
  if (i < M) {
    let s = src0 + (<usize>i << 2);
    let d = packed + <usize>(i / MR) * blockB;
    const rows = M - i;
    for (let k = 0; k < kc; k++) {
      for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(s + (<usize>r << 2)) : 0);
      s += ldaB;
      d += 16;
    }
  }
}

// Packs A(0..M, k0..k0+kc), A stored (M,K) with stride lda, into the same 4-row blocks as
// packAT, by 4×4 transposes of rows i..i+3 × 4 consecutive k.
function packAN(a: usize, lda: i32, M: i32, k0: i32, kc: i32, packed: usize): void {
  const ldaB = <usize>lda << 2;
  const blockB = <usize>kc << 4;
  let i = 0;
  for (; i + MR <= M; i += MR) {
    const s0 = a + <usize>i * ldaB + (<usize>k0 << 2);
    const d0 = packed + <usize>(i / MR) * blockB;
    let k = 0;
    for (; k + 4 <= kc; k += 4) transpose4(s0 + (<usize>k << 2), ldaB, d0 + (<usize>k << 4), 16);
    for (; k < kc; k++) {
      for (let r = 0; r < MR; r++) store<f32>(d0 + (<usize>k << 4) + (<usize>r << 2), load<f32>(s0 + <usize>r * ldaB + (<usize>k << 2)));
    }
  }
  if (i < M) {
    const rows = M - i;
    const s0 = a + <usize>i * ldaB + (<usize>k0 << 2);
    const d0 = packed + <usize>(i / MR) * blockB;
    for (let k = 0; k < kc; k++) {
      for (let r = 0; r < MR; r++) {
        store<f32>(d0 + (<usize>k << 4) + (<usize>r << 2), r < rows ? load<f32>(s0 + <usize>r * ldaB + (<usize>k << 2)) : 0);
      }
    }
  }
}

// Reads a 4×4 block (4 rows of 4 floats, rows `stride` bytes apart) and writes its transpose
// as four 16-byte rows 32 bytes apart (one half of four consecutive panel rows).
@inline function transpose4(s: usize, stride: usize, d: usize, dstride: usize): void {
  const r0 = v128.load(s);
  const r1 = v128.load(s + stride);
  const r2 = v128.load(s + 2 * stride);
  const r3 = v128.load(s + 3 * stride);
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(d, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(d + dstride, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(d + 2 * dstride, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(d + 3 * dstride, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

// The accumulator start for a panel when C is not read: bias[j0..j0+nr] or zeros, padded to 8.
function fillInit(init: usize, bias: usize, j0: i32, nr: i32): void {
  for (let j = 0; j < NR; j++) {
    store<f32>(init + (<usize>j << 2), bias && j < nr ? load<f32>(bias + (<usize>(j0 + j) << 2)) : 0);
  }
}

function copyTile(src: usize, srcStride: usize, dst: usize, dstStride: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
    }
    src += srcStride;
    dst += dstStride;
  }
}

// C = (accumulate ? C : 0) + bias: the whole result when K == 0 (then with the ReLU if asked),
// the first step otherwise.
function addBiasOnly(M: i32, N: i32, c: usize, ldcB: usize, bias: usize, accumulate: bool, relu: bool): void {
  for (let i = 0; i < M; i++) {
    const cr = c + <usize>i * ldcB;
    for (let j = 0; j < N; j++) {
      const p = cr + (<usize>j << 2);
      let v: f32 = accumulate ? load<f32>(p) : 0;
      if (bias) v += load<f32>(bias + (<usize>j << 2));
      store<f32>(p, relu ? max<f32>(v, 0) : v);
    }
  }
}
