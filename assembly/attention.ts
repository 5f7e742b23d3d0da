import { madd } from "./madd";
import { sexp, slog, vexp } from "./vmath";

// Fused scaled-dot-product attention (FlashAttention-style): for each (batch, head), blocks of
// ROWS queries walk the keys in tiles of TILE; a tile's scores live in `work` (ROWS × TILE floats)
// and are folded into a running max / sum / output (online softmax), so the T×S score matrix is
// never stored. Backward recomputes each tile's probabilities from the saved log-sum-exp.
//
// Layout: q (B,H,T,D), k and v (B,H,S,D), o (B,H,T,D) are read/written through element strides
// (the last dim is unit-stride), dout as o; lse (B,H,T) and the gradients dq (B,H,T,D), dk, dv
// (B,H,S,D) are dense. The additive float mask (0: none) has rows of S floats, T rows per (b, h),
// mB/mH its batch/head strides (0 when broadcast). causal hides key j from query i when
// j > i + causalOffset. Each export takes its arguments as one int32 record in memory (the
// pointers, sizes, scale's bits, then the strides [qB,qH,qT, kB,kH,kT, vB,vH,vT, oB,oH,oT, mB,mH])
// and a range bh0 ≤ b·H + h < bh1 of (batch, head) pairs, so threads can take disjoint ranges.
// Every float op is a float32 op in a fixed order (dots: four lanes over d, lanes added
// (0+1)+(2+3), then the d tail; a tile's probability sum: lanes j mod 4, then (0+1)+(2+3)), which
// src/backend/js/attention.ts repeats bit for bit. The four rows of a block go through each step
// together (four independent dependency chains), and rows past T repeat row T-1.

const ROWS: i32 = 4;
const TILE: i32 = 64;

// Floats of `work` attentionForward needs; attentionBackward needs twice as many.
export function attentionWorkFloats(): i32 {
  return ROWS * TILE;
}

@inline function meta(m: usize, i: i32): usize {
  return <usize>load<i32>(m + (<usize>i << 2)) << 2;
}

// work[r][j] = scale · a_r · b_(j0+j) for r < ROWS, j < nj: four rows a_r (pointers) against the
// rows of b (bRow bytes apart), each pair a float32 dot product over D.
@inline function dots4(
  work: usize, a0: usize, a1: usize, a2: usize, a3: usize, b: usize, bRow: usize, j0: i32, nj: i32, D: i32, scale: f32,
): void {
  const tileB = <usize>TILE << 2;
  dots2(work, work + tileB, a0, a1, b, bRow, j0, nj, D, scale);
  dots2(work + 2 * tileB, work + 3 * tileB, a2, a3, b, bRow, j0, nj, D, scale);
}

// The scores of two rows a, c against keys j0 .. j0+nj-1, four keys per pass (8 accumulators):
// each (row, key) sum keeps four lanes over d, reduced (0+1)+(2+3) for four keys at once by
// shuffles, then the d tail in order — the bits of one dot at a time — and stored as one vector
// per row (scalar stores read back by the vector loads that follow would stall store
// forwarding). Keys past nj repeat the last key; they land in the tile's unused slots.
@inline function dots2(
  wa: usize, wc: usize, a: usize, c: usize, b: usize, bRow: usize, j0: i32, nj: i32, D: i32, scale: f32,
): void {
  const D4 = D & ~3;
  const last = b + <usize>(j0 + nj - 1) * bRow;
  const vs = f32x4.splat(scale);
  for (let j = 0; j < nj; j += 4) {
    const k0 = b + <usize>(j0 + j) * bRow;
    const k1 = j + 1 < nj ? k0 + bRow : last, k2 = j + 2 < nj ? k0 + 2 * bRow : last, k3 = j + 3 < nj ? k0 + 3 * bRow : last;
    let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
    let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
    for (let d = 0; d < D4; d += 4) {
      const off = <usize>d << 2;
      const va = v128.load(a + off), vc = v128.load(c + off);
      const b0 = v128.load(k0 + off), b1 = v128.load(k1 + off), b2 = v128.load(k2 + off), b3 = v128.load(k3 + off);
      x0 = madd(va, b0, x0);
      x1 = madd(va, b1, x1);
      x2 = madd(va, b2, x2);
      x3 = madd(va, b3, x3);
      y0 = madd(vc, b0, y0);
      y1 = madd(vc, b1, y1);
      y2 = madd(vc, b2, y2);
      y3 = madd(vc, b3, y3);
    }
    let sa = hsum4(x0, x1, x2, x3), sc = hsum4(y0, y1, y2, y3);
    for (let d = D4; d < D; d++) {
      const off = <usize>d << 2;
      let kd = f32x4.splat(load<f32>(k0 + off));
      kd = f32x4.replace_lane(kd, 1, load<f32>(k1 + off));
      kd = f32x4.replace_lane(kd, 2, load<f32>(k2 + off));
      kd = f32x4.replace_lane(kd, 3, load<f32>(k3 + off));
      sa = madd(v128.load32_splat(a + off), kd, sa);
      sc = madd(v128.load32_splat(c + off), kd, sc);
    }
    v128.store(wa + (<usize>j << 2), f32x4.mul(sa, vs));
    v128.store(wc + (<usize>j << 2), f32x4.mul(sc, vs));
  }
}

// [hsum(c0), hsum(c1), hsum(c2), hsum(c3)] with hsum's order (lanes (0+1)+(2+3)), by shuffles.
@inline function hsum4(c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  const p01 = f32x4.add(v128.shuffle<f32>(c0, c1, 0, 2, 4, 6), v128.shuffle<f32>(c0, c1, 1, 3, 5, 7));
  const p23 = f32x4.add(v128.shuffle<f32>(c2, c3, 0, 2, 4, 6), v128.shuffle<f32>(c2, c3, 1, 3, 5, 7));
  return f32x4.add(v128.shuffle<f32>(p01, p23, 0, 2, 4, 6), v128.shuffle<f32>(p01, p23, 1, 3, 5, 7));
}

@inline function hsum(c: v128): f32 {
  return (f32x4.extract_lane(c, 0) + f32x4.extract_lane(c, 1)) + (f32x4.extract_lane(c, 2) + f32x4.extract_lane(c, 3));
}

// One float32 dot product over D, in dots4's order.
@inline function dot(a: usize, b: usize, D: i32): f32 {
  const D4 = D & ~3;
  let c = f32x4.splat(0);
  for (let d = 0; d < D4; d += 4) c = madd(v128.load(a + (<usize>d << 2)), v128.load(b + (<usize>d << 2)), c);
  let s = hsum(c);
  for (let d = D4; d < D; d++) s += load<f32>(a + (<usize>d << 2)) * load<f32>(b + (<usize>d << 2));
  return s;
}

// The scores of one row's tile w (n floats) after the mask: plus the additive mask row (0: none),
// and -inf where the causal rule hides the key (key j of the tile when j > limit).
@inline function applyMask(w: usize, maskRow: usize, n: i32, causal: bool, limit: i32): void {
  if (maskRow != 0) {
    let j = 0;
    for (; j + 4 <= n; j += 4) v128.store(w + (<usize>j << 2), f32x4.add(v128.load(w + (<usize>j << 2)), v128.load(maskRow + (<usize>j << 2))));
    for (; j < n; j++) store<f32>(w + (<usize>j << 2), load<f32>(w + (<usize>j << 2)) + load<f32>(maskRow + (<usize>j << 2)));
  }
  if (causal) for (let j = max(limit + 1, 0); j < n; j++) store<f32>(w + (<usize>j << 2), -Infinity);
}

// A tile's scores after the masks, for the four rows of the block starting at i0 (rows past T
// repeat row T-1, whose results are dropped): plus the additive mask row (if any), -inf where the
// causal rule hides the key, and -inf in the slots nj .. nj4-1 that pad the tile to whole vectors.
@inline function maskTile(
  work: usize, mb: usize, S: i32, T: i32, i0: i32, j0: i32, nj: i32, nj4: i32, causal: bool, causalOffset: i32,
): void {
  const tileB = <usize>TILE << 2;
  for (let r = 0; r < ROWS; r++) {
    const i = min(i0 + r, T - 1);
    const w = work + <usize>r * tileB;
    applyMask(w, mb != 0 ? mb + <usize>i * (<usize>S << 2) + (<usize>j0 << 2) : 0, nj, causal, i + causalOffset - j0);
    for (let j = nj; j < nj4; j++) store<f32>(w + (<usize>j << 2), -Infinity);
  }
}

// The four rows' maxima over a tile of n4 (a multiple of 4) scores, as four lanes. NaN scores are
// skipped (pmax keeps the running value): they make the row's sum NaN anyway.
@inline function tileMax(work: usize, n4: i32): v128 {
  const tileB = <usize>TILE << 2;
  let v0 = f32x4.splat(-Infinity), v1 = v0, v2 = v0, v3 = v0;
  for (let j = 0; j < n4; j += 4) {
    const w = work + (<usize>j << 2);
    v0 = f32x4.pmax(v0, v128.load(w));
    v1 = f32x4.pmax(v1, v128.load(w + tileB));
    v2 = f32x4.pmax(v2, v128.load(w + 2 * tileB));
    v3 = f32x4.pmax(v3, v128.load(w + 3 * tileB));
  }
  const a = f32x4.pmax(v128.shuffle<f32>(v0, v1, 0, 2, 4, 6), v128.shuffle<f32>(v0, v1, 1, 3, 5, 7));
  const c = f32x4.pmax(v128.shuffle<f32>(v2, v3, 0, 2, 4, 6), v128.shuffle<f32>(v2, v3, 1, 3, 5, 7));
  return f32x4.pmax(v128.shuffle<f32>(a, c, 0, 2, 4, 6), v128.shuffle<f32>(a, c, 1, 3, 5, 7));
}

// p = exp(s − shift_r) in place over a tile of n4 scores (a multiple of 4) for the four rows at
// once (four independent exps per step), 0 where s is -inf (a hidden key or padding: exp runs on 0
// there, as exp(-inf) would underflow through denormals, ~100× slower on x86); returns the
// rows' sums as four lanes, each summed in lanes j mod 4 then (0+1)+(2+3).
@inline function expTile(work: usize, n4: i32, shift0: f32, shift1: f32, shift2: f32, shift3: f32): v128 {
  const tileB = <usize>TILE << 2;
  const ninf = f32x4.splat(-Infinity), zero = f32x4.splat(0);
  const m0 = f32x4.splat(shift0), m1 = f32x4.splat(shift1), m2 = f32x4.splat(shift2), m3 = f32x4.splat(shift3);
  let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
  for (let j = 0; j < n4; j += 4) {
    const w = work + (<usize>j << 2);
    const s0 = v128.load(w), s1 = v128.load(w + tileB), s2 = v128.load(w + 2 * tileB), s3 = v128.load(w + 3 * tileB);
    const h0 = f32x4.eq(s0, ninf);
    const p0 = v128.bitselect(zero, vexp(v128.bitselect(zero, f32x4.sub(s0, m0), h0)), h0);
    const h1 = f32x4.eq(s1, ninf);
    const p1 = v128.bitselect(zero, vexp(v128.bitselect(zero, f32x4.sub(s1, m1), h1)), h1);
    const h2 = f32x4.eq(s2, ninf);
    const p2 = v128.bitselect(zero, vexp(v128.bitselect(zero, f32x4.sub(s2, m2), h2)), h2);
    const h3 = f32x4.eq(s3, ninf);
    const p3 = v128.bitselect(zero, vexp(v128.bitselect(zero, f32x4.sub(s3, m3), h3)), h3);
    v128.store(w, p0);
    v128.store(w + tileB, p1);
    v128.store(w + 2 * tileB, p2);
    v128.store(w + 3 * tileB, p3);
    a0 = f32x4.add(a0, p0);
    a1 = f32x4.add(a1, p1);
    a2 = f32x4.add(a2, p2);
    a3 = f32x4.add(a3, p3);
  }
  return hsum4(a0, a1, a2, a3);
}

// Keys a block of queries i0 .. i0+nr-1 can see: all S, or up to the last row's causal limit.
@inline function keyEnd(S: i32, i0: i32, nr: i32, causal: bool, causalOffset: i32): i32 {
  if (!causal) return S;
  const e = i0 + nr + causalOffset;
  return e < 0 ? 0 : e < S ? e : S;
}

@inline function arg(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

// o (B,H,T,D) = softmax(scale · q kᵀ + mask) v, lse (B,H,T) = the rows' log-sum-exp (for backward),
// for the pairs bh0 ≤ b·H + h < bh1; a row that sees no key gets NaN outputs and lse = -inf.
// args (int32): [o, lse, q, k, v, mask, B, H, T, S, D, scale bits, causal, causalOffset, strides ×14];
// work: attentionWorkFloats() floats.
export function attentionForward(args: usize, bh0: i32, bh1: i32, work: usize): void {
  forwardRange(
    <usize>arg(args, 0), <usize>arg(args, 1), <usize>arg(args, 2), <usize>arg(args, 3), <usize>arg(args, 4), <usize>arg(args, 5),
    args + 14 * 4, work, arg(args, 7), arg(args, 8), arg(args, 9), arg(args, 10), reinterpret<f32>(arg(args, 11)),
    arg(args, 12) != 0, arg(args, 13), bh0, bh1,
  );
}

function forwardRange(
  o: usize, lse: usize, q: usize, k: usize, v: usize, mask: usize, m: usize, work: usize,
  H: i32, T: i32, S: i32, D: i32, scale: f32, causal: bool, causalOffset: i32, bh0: i32, bh1: i32,
): void {
  const qT = meta(m, 2), kT = meta(m, 5), vT = meta(m, 8), oT = meta(m, 11);
  const rowB = <usize>D << 2, tileB = <usize>TILE << 2;
  for (let bh = bh0; bh < bh1; bh++) {
    {
      const b = bh / H, h = bh % H;
      const qb = q + <usize>b * meta(m, 0) + <usize>h * meta(m, 1);
      const kb = k + <usize>b * meta(m, 3) + <usize>h * meta(m, 4);
      const vb = v + <usize>b * meta(m, 6) + <usize>h * meta(m, 7);
      const ob = o + <usize>b * meta(m, 9) + <usize>h * meta(m, 10);
      const mb = mask != 0 ? mask + <usize>b * meta(m, 12) + <usize>h * meta(m, 13) : 0;
      for (let i0 = 0; i0 < T; i0 += ROWS) {
        const nr = min(ROWS, T - i0);
        // Rows past T repeat the last row; their results are dropped.
        const q0 = qb + <usize>i0 * qT, q1 = qb + <usize>min(i0 + 1, T - 1) * qT;
        const q2 = qb + <usize>min(i0 + 2, T - 1) * qT, q3 = qb + <usize>min(i0 + 3, T - 1) * qT;
        let m0: f32 = -Infinity, m1: f32 = -Infinity, m2: f32 = -Infinity, m3: f32 = -Infinity;
        let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0;
        for (let r = 0; r < nr; r++) memory.fill(ob + <usize>(i0 + r) * oT, 0, rowB);
        const jEnd = keyEnd(S, i0, nr, causal, causalOffset);
        for (let j0 = 0; j0 < jEnd; j0 += TILE) {
          const nj = min(TILE, jEnd - j0);
          const nj4 = (nj + 3) & ~3;
          dots4(work, q0, q1, q2, q3, kb, kT, j0, nj, D, scale);
          maskTile(work, mb, S, T, i0, j0, nj, nj4, causal, causalOffset);
          // Per row: the new running max, the old sums' rescale factor (0 while no key was seen).
          const tmax = tileMax(work, nj4);
          const n0 = max<f32>(m0, f32x4.extract_lane(tmax, 0)), n1 = max<f32>(m1, f32x4.extract_lane(tmax, 1));
          const n2 = max<f32>(m2, f32x4.extract_lane(tmax, 2)), n3 = max<f32>(m3, f32x4.extract_lane(tmax, 3));
          const a0: f32 = m0 == -Infinity ? 0 : sexp(m0 - n0), a1: f32 = m1 == -Infinity ? 0 : sexp(m1 - n1);
          const a2: f32 = m2 == -Infinity ? 0 : sexp(m2 - n2), a3: f32 = m3 == -Infinity ? 0 : sexp(m3 - n3);
          // Probabilities in place of the scores, and their sums.
          const sums = expTile(work, nj4, n0, n1, n2, n3);
          l0 = l0 * a0 + f32x4.extract_lane(sums, 0);
          l1 = l1 * a1 + f32x4.extract_lane(sums, 1);
          l2 = l2 * a2 + f32x4.extract_lane(sums, 2);
          l3 = l3 * a3 + f32x4.extract_lane(sums, 3);
          m0 = n0;
          m1 = n1;
          m2 = n2;
          m3 = n3;
          // o_r = o_r · alpha_r + Σ_j p_rj v_j, four output rows at once.
          const o1 = ob + <usize>min(i0 + 1, T - 1) * oT, o2 = ob + <usize>min(i0 + 2, T - 1) * oT, o3 = ob + <usize>min(i0 + 3, T - 1) * oT;
          rowsAccumulate4(ob + <usize>i0 * oT, o1, o2, o3, a0, a1, a2, a3, work, vb, vT, nr, j0, nj, D);
        }
        // Normalise: o_r /= l_r (times the reciprocal), lse_r = m_r + log l_r.
        for (let r = 0; r < nr; r++) {
          const l = r == 0 ? l0 : r == 1 ? l1 : r == 2 ? l2 : l3;
          const mr = r == 0 ? m0 : r == 1 ? m1 : r == 2 ? m2 : m3;
          const orow = ob + <usize>(i0 + r) * oT;
          const at = lse + (<usize>(bh * T + i0 + r) << 2);
          if (mr == -Infinity) {
            for (let d = 0; d < D; d++) store<f32>(orow + (<usize>d << 2), NaN);
            store<f32>(at, -Infinity);
            continue;
          }
          const inv: f32 = <f32>1 / l;
          scaleRow(orow, D, inv);
          store<f32>(at, mr + slog(l));
        }
      }
    }
  }
}

@inline function scaleRow(p: usize, D: i32, s: f32): void {
  const vs = f32x4.splat(s);
  const D4 = D & ~3;
  for (let d = 0; d < D4; d += 4) v128.store(p + (<usize>d << 2), f32x4.mul(v128.load(p + (<usize>d << 2)), vs));
  for (let d = D4; d < D; d++) store<f32>(p + (<usize>d << 2), load<f32>(p + (<usize>d << 2)) * s);
}

// dst_r (D) = dst_r · a_r + Σ_j c_rj · src_(j0+j) over j < nj (j in order) for four rows dst_0..3
// at once, the coefficient rows TILE floats apart; two chunks of d per pass share the coefficient
// loads. Rows past nr repeat the last and are stored first, so the real row's value stays.
@inline function rowsAccumulate4(
  d0: usize, d1: usize, d2: usize, d3: usize, a0: f32, a1: f32, a2: f32, a3: f32,
  coef: usize, src: usize, srcRow: usize, nr: i32, j0: i32, nj: i32, D: i32,
): void {
  const tileB = <usize>TILE << 2;
  const D4 = D & ~3, D8 = D & ~7;
  const va0 = f32x4.splat(a0), va1 = f32x4.splat(a1), va2 = f32x4.splat(a2), va3 = f32x4.splat(a3);
  for (let d = 0; d < D8; d += 8) {
    const off = <usize>d << 2, of2 = off + 16;
    let c0 = f32x4.mul(v128.load(d0 + off), va0), c1 = f32x4.mul(v128.load(d1 + off), va1);
    let c2 = f32x4.mul(v128.load(d2 + off), va2), c3 = f32x4.mul(v128.load(d3 + off), va3);
    let e0 = f32x4.mul(v128.load(d0 + of2), va0), e1 = f32x4.mul(v128.load(d1 + of2), va1);
    let e2 = f32x4.mul(v128.load(d2 + of2), va2), e3 = f32x4.mul(v128.load(d3 + of2), va3);
    for (let j = 0; j < nj; j++) {
      const w = coef + (<usize>j << 2);
      const row = src + <usize>(j0 + j) * srcRow;
      const kv = v128.load(row + off), kw = v128.load(row + of2);
      const p0 = v128.load32_splat(w), p1 = v128.load32_splat(w + tileB), p2 = v128.load32_splat(w + 2 * tileB), p3 = v128.load32_splat(w + 3 * tileB);
      c0 = madd(p0, kv, c0);
      e0 = madd(p0, kw, e0);
      c1 = madd(p1, kv, c1);
      e1 = madd(p1, kw, e1);
      c2 = madd(p2, kv, c2);
      e2 = madd(p2, kw, e2);
      c3 = madd(p3, kv, c3);
      e3 = madd(p3, kw, e3);
    }
    if (nr > 3) { v128.store(d3 + off, c3); v128.store(d3 + of2, e3); }
    if (nr > 2) { v128.store(d2 + off, c2); v128.store(d2 + of2, e2); }
    if (nr > 1) { v128.store(d1 + off, c1); v128.store(d1 + of2, e1); }
    v128.store(d0 + off, c0);
    v128.store(d0 + of2, e0);
  }
  for (let d = D8; d < D4; d += 4) {
    const off = <usize>d << 2;
    let c0 = f32x4.mul(v128.load(d0 + off), va0), c1 = f32x4.mul(v128.load(d1 + off), va1);
    let c2 = f32x4.mul(v128.load(d2 + off), va2), c3 = f32x4.mul(v128.load(d3 + off), va3);
    for (let j = 0; j < nj; j++) {
      const w = coef + (<usize>j << 2);
      const kv = v128.load(src + <usize>(j0 + j) * srcRow + off);
      c0 = madd(v128.load32_splat(w), kv, c0);
      c1 = madd(v128.load32_splat(w + tileB), kv, c1);
      c2 = madd(v128.load32_splat(w + 2 * tileB), kv, c2);
      c3 = madd(v128.load32_splat(w + 3 * tileB), kv, c3);
    }
    if (nr > 3) v128.store(d3 + off, c3);
    if (nr > 2) v128.store(d2 + off, c2);
    if (nr > 1) v128.store(d1 + off, c1);
    v128.store(d0 + off, c0);
  }
  for (let d = D4; d < D; d++) {
    const off = <usize>d << 2;
    let c0 = load<f32>(d0 + off) * a0, c1 = load<f32>(d1 + off) * a1, c2 = load<f32>(d2 + off) * a2, c3 = load<f32>(d3 + off) * a3;
    for (let j = 0; j < nj; j++) {
      const w = coef + (<usize>j << 2);
      const kd = load<f32>(src + <usize>(j0 + j) * srcRow + off);
      c0 += load<f32>(w) * kd;
      c1 += load<f32>(w + tileB) * kd;
      c2 += load<f32>(w + 2 * tileB) * kd;
      c3 += load<f32>(w + 3 * tileB) * kd;
    }
    if (nr > 3) store<f32>(d3 + off, c3);
    if (nr > 2) store<f32>(d2 + off, c2);
    if (nr > 1) store<f32>(d1 + off, c1);
    store<f32>(d0 + off, c0);
  }
}

// dst_j (D) += Σ_r c_rj · src_r over r < nr for each j < nj: the key-side gradients (dk, dv).
@inline function keyAccumulate(
  dst: usize, coef: usize, s0: usize, s1: usize, s2: usize, s3: usize, nr: i32, j0: i32, nj: i32, D: i32,
): void {
  const rowB = <usize>D << 2, tileB = <usize>TILE << 2;
  const D4 = D & ~3;
  let j = 0;
  if (nr == 4) {
    // Full blocks: two keys per pass share the four source chunks, no per-row branches.
    for (; j + 2 <= nj; j += 2) {
      const dj = dst + <usize>(j0 + j) * rowB, dk = dj + rowB;
      const w = coef + (<usize>j << 2);
      const p0 = v128.load32_splat(w), p1 = v128.load32_splat(w + tileB);
      const p2 = v128.load32_splat(w + 2 * tileB), p3 = v128.load32_splat(w + 3 * tileB);
      const q0 = v128.load32_splat(w + 4), q1 = v128.load32_splat(w + tileB + 4);
      const q2 = v128.load32_splat(w + 2 * tileB + 4), q3 = v128.load32_splat(w + 3 * tileB + 4);
      for (let d = 0; d < D4; d += 4) {
        const off = <usize>d << 2;
        const x0 = v128.load(s0 + off), x1 = v128.load(s1 + off), x2 = v128.load(s2 + off), x3 = v128.load(s3 + off);
        v128.store(dj + off, madd(p3, x3, madd(p2, x2, madd(p1, x1, madd(p0, x0, v128.load(dj + off))))));
        v128.store(dk + off, madd(q3, x3, madd(q2, x2, madd(q1, x1, madd(q0, x0, v128.load(dk + off))))));
      }
      for (let d = D4; d < D; d++) {
        const off = <usize>d << 2;
        const x0 = load<f32>(s0 + off), x1 = load<f32>(s1 + off), x2 = load<f32>(s2 + off), x3 = load<f32>(s3 + off);
        store<f32>(dj + off, load<f32>(dj + off) + load<f32>(w) * x0 + load<f32>(w + tileB) * x1 + load<f32>(w + 2 * tileB) * x2 + load<f32>(w + 3 * tileB) * x3);
        store<f32>(dk + off, load<f32>(dk + off) + load<f32>(w + 4) * x0 + load<f32>(w + tileB + 4) * x1 + load<f32>(w + 2 * tileB + 4) * x2 + load<f32>(w + 3 * tileB + 4) * x3);
      }
    }
  }
  for (; j < nj; j++) {
    const dj = dst + <usize>(j0 + j) * rowB;
    const w = coef + (<usize>j << 2);
    const p0 = v128.load32_splat(w), p1 = v128.load32_splat(w + tileB);
    const p2 = v128.load32_splat(w + 2 * tileB), p3 = v128.load32_splat(w + 3 * tileB);
    for (let d = 0; d < D4; d += 4) {
      const off = <usize>d << 2;
      let c = madd(p0, v128.load(s0 + off), v128.load(dj + off));
      if (nr > 1) c = madd(p1, v128.load(s1 + off), c);
      if (nr > 2) c = madd(p2, v128.load(s2 + off), c);
      if (nr > 3) c = madd(p3, v128.load(s3 + off), c);
      v128.store(dj + off, c);
    }
    for (let d = D4; d < D; d++) {
      const off = <usize>d << 2;
      let c = load<f32>(dj + off) + load<f32>(w) * load<f32>(s0 + off);
      if (nr > 1) c += load<f32>(w + tileB) * load<f32>(s1 + off);
      if (nr > 2) c += load<f32>(w + 2 * tileB) * load<f32>(s2 + off);
      if (nr > 3) c += load<f32>(w + 3 * tileB) * load<f32>(s3 + off);
      store<f32>(dj + off, c);
    }
  }
}

// Gradients of attentionForward for the pairs bh0 ≤ b·H + h < bh1: with p = softmax row
// (recomputed from lse), dp = dout · vᵀ and Δ_i = dout_i · o_i: ds = p (dp − Δ), dq = scale · ds k,
// dk = scale · dsᵀ q, dv = pᵀ dout. dq (B,H,T,D), dk and dv (B,H,S,D) are overwritten (dense); dout
// (B,H,T,D) is laid out as o; q, k, v, o, mask and causal as in the forward.
// args (int32): [dq, dk, dv, dout, q, k, v, o, lse, mask, B, H, T, S, D, scale bits, causal,
// causalOffset, strides ×14]; work: 2 · attentionWorkFloats() floats.
export function attentionBackward(args: usize, bh0: i32, bh1: i32, work: usize): void {
  backwardRange(
    <usize>arg(args, 0), <usize>arg(args, 1), <usize>arg(args, 2), <usize>arg(args, 3), <usize>arg(args, 4), <usize>arg(args, 5),
    <usize>arg(args, 6), <usize>arg(args, 7), <usize>arg(args, 8), <usize>arg(args, 9), args + 18 * 4, work,
    arg(args, 11), arg(args, 12), arg(args, 13), arg(args, 14), reinterpret<f32>(arg(args, 15)), arg(args, 16) != 0, arg(args, 17), bh0, bh1,
  );
}

function backwardRange(
  dq: usize, dk: usize, dv: usize, dout: usize, q: usize, k: usize, v: usize, o: usize, lse: usize,
  mask: usize, m: usize, work: usize, H: i32, T: i32, S: i32, D: i32, scale: f32, causal: bool, causalOffset: i32, bh0: i32, bh1: i32,
): void {
  const qT = meta(m, 2), kT = meta(m, 5), vT = meta(m, 8), oT = meta(m, 11);
  const rowB = <usize>D << 2, tileB = <usize>TILE << 2;
  const P = work, DS = work + <usize>(ROWS * TILE) * 4;
  for (let bh = bh0; bh < bh1; bh++) {
    {
      const b = bh / H, h = bh % H;
      const qb = q + <usize>b * meta(m, 0) + <usize>h * meta(m, 1);
      const kb = k + <usize>b * meta(m, 3) + <usize>h * meta(m, 4);
      const vb = v + <usize>b * meta(m, 6) + <usize>h * meta(m, 7);
      const ob = o + <usize>b * meta(m, 9) + <usize>h * meta(m, 10);
      const mb = mask != 0 ? mask + <usize>b * meta(m, 12) + <usize>h * meta(m, 13) : 0;
      const dqb = dq + <usize>bh * <usize>T * rowB, dob = dout + <usize>b * meta(m, 9) + <usize>h * meta(m, 10);
      const dkb = dk + <usize>bh * <usize>S * rowB, dvb = dv + <usize>bh * <usize>S * rowB;
      memory.fill(dkb, 0, <usize>S * rowB);
      memory.fill(dvb, 0, <usize>S * rowB);
      memory.fill(dqb, 0, <usize>T * rowB);
      for (let i0 = 0; i0 < T; i0 += ROWS) {
        const nr = min(ROWS, T - i0);
        const i1 = min(i0 + 1, T - 1), i2 = min(i0 + 2, T - 1), i3 = min(i0 + 3, T - 1);
        const q0 = qb + <usize>i0 * qT, q1 = qb + <usize>i1 * qT, q2 = qb + <usize>i2 * qT, q3 = qb + <usize>i3 * qT;
        const g0 = dob + <usize>i0 * oT, g1 = dob + <usize>i1 * oT, g2 = dob + <usize>i2 * oT, g3 = dob + <usize>i3 * oT;
        // Δ_r = dout_r · o_r, once per block.
        const e0 = dot(g0, ob + <usize>i0 * oT, D), e1 = dot(g1, ob + <usize>i1 * oT, D);
        const e2 = dot(g2, ob + <usize>i2 * oT, D), e3 = dot(g3, ob + <usize>i3 * oT, D);
        // The rows' log-sum-exps, the shifts that turn their scores into probabilities.
        const lb = lse + (<usize>(bh * T) << 2);
        const L0 = load<f32>(lb + (<usize>i0 << 2)), L1 = load<f32>(lb + (<usize>i1 << 2));
        const L2 = load<f32>(lb + (<usize>i2 << 2)), L3 = load<f32>(lb + (<usize>i3 << 2));
        const jEnd = keyEnd(S, i0, nr, causal, causalOffset);
        for (let j0 = 0; j0 < jEnd; j0 += TILE) {
          const nj = min(TILE, jEnd - j0);
          const nj4 = (nj + 3) & ~3;
          dots4(P, q0, q1, q2, q3, kb, kT, j0, nj, D, scale);
          dots4(DS, g0, g1, g2, g3, vb, vT, j0, nj, D, 1);
          maskTile(P, mb, S, T, i0, j0, nj, nj4, causal, causalOffset);
          expTile(P, nj4, L0, L1, L2, L3);
          // ds = p (dp − Δ) · scale, in place of dp
          const vs = f32x4.splat(scale);
          for (let r = 0; r < ROWS; r++) {
            const pw = P + <usize>r * tileB, dw = DS + <usize>r * tileB;
            const vd = f32x4.splat(r == 0 ? e0 : r == 1 ? e1 : r == 2 ? e2 : e3);
            for (let j = 0; j < nj4; j += 4) {
              const at = <usize>j << 2;
              v128.store(dw + at, f32x4.mul(f32x4.mul(v128.load(pw + at), f32x4.sub(v128.load(dw + at), vd)), vs));
            }
          }
          keyAccumulate(dvb, P, g0, g1, g2, g3, nr, j0, nj, D);
          keyAccumulate(dkb, DS, q0, q1, q2, q3, nr, j0, nj, D);
          rowsAccumulate4(dqb + <usize>i0 * rowB, dqb + <usize>i1 * rowB, dqb + <usize>i2 * rowB, dqb + <usize>i3 * rowB, 1, 1, 1, 1, DS, kb, kT, nr, j0, nj, D);
        }
      }
    }
  }
}
