// Convolution and pooling kernels over NCHW images. Conv2d runs as im2col + gemm: im2col lays
// out one image's receptive fields as columns so that out (O, OH·OW) = W (O, C·kh·kw) · cols;
// col2im scatters the columns' gradient back (summing overlaps in a fixed order).
// Geometry: output pixel (oy, ox) reads input (oy·sh - ph + i·dh, ox·sw - pw + j·dw) for
// kernel tap (i, j); taps outside the image read 0.

// cols (C·kh·kw, images·OH·OW) ← x (images, C, H, W): image n's columns start at column n·OH·OW;
// cols rows are ld ≥ images·OH·OW elements apart (a group of images side by side for one gemm)
export function im2col(cols: usize, x: usize, C: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32,
                       sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, OH: i32, OW: i32, ld: i32,
                       images: i32): void {
  const imageB = <usize>C * <usize>H * <usize>W << 2;
  for (let n = 0; n < images; n++) {
    im2colImage(cols + (<usize>(n * OH * OW) << 2), x + <usize>n * imageB, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, ld);
  }
}

@inline function im2colImage(cols: usize, x: usize, C: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32,
                             sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, OH: i32, OW: i32, ld: i32): void {
  const rowSkip = <usize>(ld - OH * OW) << 2;
  let dst = cols;
  for (let c = 0; c < C; c++) {
    const plane = x + (<usize>c * <usize>H * <usize>W << 2);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const lo = validLo(OW, sw, j * dw - pw);
        const hi = validHi(OW, sw, j * dw - pw, W, lo);
        for (let oy = 0; oy < OH; oy++) {
          const y = oy * sh - ph + i * dh;
          if (y < 0 || y >= H) {
            zeroSpan(dst, OW);
          } else {
            const row = plane + (<usize>(y * W) << 2);
            zeroSpan(dst, lo);
            if (sw == 1) {
              copySpan(dst + (<usize>lo << 2), row + (<usize>(lo - pw + j * dw) << 2), hi - lo);
            } else {
              for (let ox = lo; ox < hi; ox++) {
                store<f32>(dst + (<usize>ox << 2), load<f32>(row + (<usize>(ox * sw - pw + j * dw) << 2)));
              }
            }
            zeroSpan(dst + (<usize>hi << 2), OW - hi);
          }
          dst += <usize>OW << 2;
        }
        dst += rowSkip;
      }
    }
  }
}

// dx (images, C, H, W) (+)= col2im(cols): every column entry added to the input pixel it was read
// from; image n's columns start at column n·OH·OW, as im2col lays them out
export function col2im(dx: usize, cols: usize, C: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32,
                       sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, OH: i32, OW: i32, ld: i32,
                       accumulate: bool, images: i32): void {
  const imageB = <usize>C * <usize>H * <usize>W << 2;
  for (let n = 0; n < images; n++) {
    col2imImage(dx + <usize>n * imageB, cols + (<usize>(n * OH * OW) << 2), C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, ld, accumulate);
  }
}

@inline function col2imImage(dx: usize, cols: usize, C: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32,
                             sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, OH: i32, OW: i32, ld: i32,
                             accumulate: bool): void {
  if (!accumulate) memory.fill(dx, 0, <usize>C * <usize>H * <usize>W << 2);
  const rowSkip = <usize>(ld - OH * OW) << 2;
  let src = cols;
  for (let c = 0; c < C; c++) {
    const plane = dx + (<usize>c * <usize>H * <usize>W << 2);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const lo = validLo(OW, sw, j * dw - pw);
        const hi = validHi(OW, sw, j * dw - pw, W, lo);
        for (let oy = 0; oy < OH; oy++) {
          const y = oy * sh - ph + i * dh;
          if (y >= 0 && y < H) {
            const row = plane + (<usize>(y * W) << 2);
            if (sw == 1) {
              addSpan(row + (<usize>(lo - pw + j * dw) << 2), src + (<usize>lo << 2), hi - lo);
            } else {
              for (let ox = lo; ox < hi; ox++) {
                const p = row + (<usize>(ox * sw - pw + j * dw) << 2);
                store<f32>(p, load<f32>(p) + load<f32>(src + (<usize>ox << 2)));
              }
            }
          }
          src += <usize>OW << 2;
        }
        src += rowSkip;
      }
    }
  }
}

// dst (B, A, P) ← src (A, B, P): swaps the two leading dimensions of blocks of P floats
// (a grouped conv gemm's (O, images, pixels) ↔ NCHW's (images, O, pixels))
export function swap01(dst: usize, src: usize, A: i32, B: i32, P: i32): void {
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++) {
      copySpan(dst + ((<usize>b * <usize>A + <usize>a) * <usize>P << 2), src + ((<usize>a * <usize>B + <usize>b) * <usize>P << 2), P);
    }
  }
}

// Short rows (images are small): inline f32x4 loops beat memory.copy's call overhead.
@inline function copySpan(dst: usize, src: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) v128.store(dst + (<usize>k << 2), v128.load(src + (<usize>k << 2)));
  for (; k < n; k++) store<f32>(dst + (<usize>k << 2), load<f32>(src + (<usize>k << 2)));
}

@inline function zeroSpan(dst: usize, n: i32): void {
  const z = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= n; k += 4) v128.store(dst + (<usize>k << 2), z);
  for (; k < n; k++) store<f32>(dst + (<usize>k << 2), 0);
}

// dst[k] += src[k], k < n
@inline function addSpan(dst: usize, src: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const o = <usize>k << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

// Output columns [lo, hi) are those whose input column ox·sw + off lies inside [0, W).
@inline function validLo(OW: i32, sw: i32, off: i32): i32 {
  return min(off >= 0 ? 0 : (-off + sw - 1) / sw, OW);
}

@inline function validHi(OW: i32, sw: i32, off: i32, W: i32, lo: i32): i32 {
  return max(min(W - off <= 0 ? 0 : (W - off + sw - 1) / sw, OW), lo);
}

// Max pooling over P planes (N·C) of x (H, W) → y (OH, OW), with idx (int32, OH·OW per plane)
// the flat input index of each maximum (first on ties; NaN wins), for the backward pass.
// Taps outside the image are skipped (PyTorch pads with -inf).
export function maxPool2d(y: usize, idx: usize, x: usize, P: i32, H: i32, W: i32, kh: i32, kw: i32,
                          sh: i32, sw: i32, ph: i32, pw: i32, OH: i32, OW: i32): void {
  // (ceil_mode can make the last window hang over the edge: that goes the general way)
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 && 2 * OH <= H && 2 * OW <= W) {
    maxpool2x2(y, idx, x, P, H, W, OH, OW);
    return;
  }
  for (let p = 0; p < P; p++) {
    const plane = x + (<usize>p * <usize>H * <usize>W << 2);
    const out = <usize>p * <usize>OH * <usize>OW;
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(oy * sh - ph, 0), y1 = min(oy * sh - ph + kh, H);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = max(ox * sw - pw, 0), x1 = min(ox * sw - pw + kw, W);
        let best: f32 = -Infinity;
        let arg = y0 * W + x0;
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) {
            const v = load<f32>(plane + (<usize>(yy * W + xx) << 2));
            if (v > best || v != v) {
              best = v;
              arg = yy * W + xx;
              if (v != v) { yy = y1; break; }
            }
          }
        }
        const o = out + <usize>(oy * OW + ox);
        store<f32>(y + (o << 2), best);
        store<i32>(idx + (o << 2), arg);
      }
    }
  }
}

// The common 2×2, stride 2 window without padding, with the general loop's rules (taps in
// row-major order, first maximum wins, a NaN wins and ends the search) but no branches: on real
// activations the comparisons are unpredictable. Four outputs at a time: the even and odd columns
// of two input rows are the four taps, compared lane-wise with the same rules; a scalar loop
// (the running maximum selected as integer bits, since V8 turns a float select into a branch)
// finishes rows whose width is not a multiple of 4.
function maxpool2x2(y: usize, idx: usize, x: usize, P: i32, H: i32, W: i32, OH: i32, OW: i32): void {
  const lane = i32x4(0, 2, 4, 6);
  for (let p = 0; p < P; p++) {
    const plane = x + (<usize>p * <usize>H * <usize>W << 2);
    const out = <usize>p * <usize>OH * <usize>OW;
    for (let oy = 0; oy < OH; oy++) {
      const i0 = 2 * oy * W;
      const row0 = plane + (<usize>i0 << 2);
      const row1 = row0 + (<usize>W << 2);
      const o0 = out + <usize>(oy * OW);
      let ox = 0;
      for (; ox + 4 <= OW; ox += 4) {
        const c = <usize>(2 * ox) << 2;
        const r0a = v128.load(row0 + c), r0b = v128.load(row0 + c, 16);
        const r1a = v128.load(row1 + c), r1b = v128.load(row1 + c, 16);
        const t0 = v128.shuffle<f32>(r0a, r0b, 0, 2, 4, 6); // (2ox + 2j, row 0)
        const t1 = v128.shuffle<f32>(r0a, r0b, 1, 3, 5, 7); // (2ox + 2j + 1, row 0)
        const t2 = v128.shuffle<f32>(r1a, r1b, 0, 2, 4, 6); // row 1
        const t3 = v128.shuffle<f32>(r1a, r1b, 1, 3, 5, 7);
        const a0 = i32x4.add(i32x4.splat(i0 + 2 * ox), lane);
        let best = t0;
        let arg = a0;
        let nan = f32x4.ne(t0, t0);
        // tap 1
        let take = v128.andnot(v128.or(f32x4.gt(t1, best), f32x4.ne(t1, t1)), nan);
        best = v128.bitselect(t1, best, take);
        arg = v128.bitselect(i32x4.add(a0, i32x4.splat(1)), arg, take);
        nan = v128.or(nan, f32x4.ne(t1, t1));
        // tap 2
        take = v128.andnot(v128.or(f32x4.gt(t2, best), f32x4.ne(t2, t2)), nan);
        best = v128.bitselect(t2, best, take);
        arg = v128.bitselect(i32x4.add(a0, i32x4.splat(W)), arg, take);
        nan = v128.or(nan, f32x4.ne(t2, t2));
        // tap 3
        take = v128.andnot(v128.or(f32x4.gt(t3, best), f32x4.ne(t3, t3)), nan);
        best = v128.bitselect(t3, best, take);
        arg = v128.bitselect(i32x4.add(a0, i32x4.splat(W + 1)), arg, take);
        const o = o0 + <usize>ox;
        v128.store(y + (o << 2), best);
        v128.store(idx + (o << 2), arg);
      }
      for (; ox < OW; ox++) {
        const a = i0 + 2 * ox;
        let bits = load<i32>(plane + (<usize>a << 2));
        let arg = a;
        let nan = reinterpret<f32>(bits) != reinterpret<f32>(bits);
        for (let t = 1; t < 4; t++) {
          const at = a + (t & 1) + (t >> 1) * W;
          const v = load<f32>(plane + (<usize>at << 2));
          const take = !nan && (v > reinterpret<f32>(bits) || v != v);
          bits = select<i32>(reinterpret<i32>(v), bits, take);
          arg = select<i32>(at, arg, take);
          nan = nan || v != v;
        }
        const o = o0 + <usize>ox;
        store<i32>(y + (o << 2), bits);
        store<i32>(idx + (o << 2), arg);
      }
    }
  }
}

// dx (P, H, W) (+)= scatter of dy (P, OH, OW) to the maxima recorded in idx
export function maxPool2dBackward(dx: usize, dy: usize, idx: usize, P: i32, H: i32, W: i32,
                                   OH: i32, OW: i32, accumulate: bool): void {
  if (!accumulate) memory.fill(dx, 0, <usize>P * <usize>H * <usize>W << 2);
  const per = OH * OW;
  for (let p = 0; p < P; p++) {
    const plane = dx + (<usize>p * <usize>H * <usize>W << 2);
    const o0 = <usize>p * <usize>per;
    for (let o = 0; o < per; o++) {
      const q = o0 + <usize>o;
      const at = plane + (<usize>load<i32>(idx + (q << 2)) << 2);
      store<f32>(at, load<f32>(at) + load<f32>(dy + (q << 2)));
    }
  }
}

// Average pooling (count_include_pad: every window divides by kh·kw, padding counts as 0)
export function avgPool2d(y: usize, x: usize, P: i32, H: i32, W: i32, kh: i32, kw: i32, sh: i32,
                          sw: i32, ph: i32, pw: i32, OH: i32, OW: i32): void {
  const inv: f32 = 1 / <f32>(kh * kw);
  for (let p = 0; p < P; p++) {
    const plane = x + (<usize>p * <usize>H * <usize>W << 2);
    const out = y + (<usize>p * <usize>OH * <usize>OW << 2);
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(oy * sh - ph, 0), y1 = min(oy * sh - ph + kh, H);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = max(ox * sw - pw, 0), x1 = min(ox * sw - pw + kw, W);
        let s: f32 = 0;
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) s += load<f32>(plane + (<usize>(yy * W + xx) << 2));
        }
        store<f32>(out + (<usize>(oy * OW + ox) << 2), s * inv);
      }
    }
  }
}

// dx (+)= each dy spread evenly (÷ kh·kw) over its window's pixels inside the image
export function avgPool2dBackward(dx: usize, dy: usize, P: i32, H: i32, W: i32, kh: i32, kw: i32,
                                   sh: i32, sw: i32, ph: i32, pw: i32, OH: i32, OW: i32,
                                   accumulate: bool): void {
  if (!accumulate) memory.fill(dx, 0, <usize>P * <usize>H * <usize>W << 2);
  const inv: f32 = 1 / <f32>(kh * kw);
  for (let p = 0; p < P; p++) {
    const plane = dx + (<usize>p * <usize>H * <usize>W << 2);
    const g = dy + (<usize>p * <usize>OH * <usize>OW << 2);
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(oy * sh - ph, 0), y1 = min(oy * sh - ph + kh, H);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = max(ox * sw - pw, 0), x1 = min(ox * sw - pw + kw, W);
        const v = load<f32>(g + (<usize>(oy * OW + ox) << 2)) * inv;
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) {
            const at = plane + (<usize>(yy * W + xx) << 2);
            store<f32>(at, load<f32>(at) + v);
          }
        }
      }
    }
  }
}

// Adaptive average pooling of P planes x (H, W) → y (OH, OW): output (i, j) averages rows
// [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉) and columns [⌊j·W/OW⌋, ⌈(j+1)·W/OW⌉), as PyTorch's windows
export function adaptiveAvgPool2d(y: usize, x: usize, P: i32, H: i32, W: i32, OH: i32, OW: i32): void {
  for (let p = 0; p < P; p++) {
    const plane = x + (<usize>p * <usize>H * <usize>W << 2);
    for (let i = 0; i < OH; i++) {
      const y0 = <i32>(<i64>i * H / OH), y1 = <i32>((<i64>(i + 1) * H + OH - 1) / OH);
      for (let j = 0; j < OW; j++) {
        const x0 = <i32>(<i64>j * W / OW), x1 = <i32>((<i64>(j + 1) * W + OW - 1) / OW);
        let s: f32 = 0;
        for (let r = y0; r < y1; r++) for (let c = x0; c < x1; c++) s += load<f32>(plane + (<usize>(r * W + c) << 2));
        store<f32>(y + ((<usize>(p * OH + i) * <usize>OW + <usize>j) << 2), s / <f32>((y1 - y0) * (x1 - x0)));
      }
    }
  }
}

// dx (P, H, W) (+)= each dy (P, OH, OW) spread evenly over its adaptive window
export function adaptiveAvgPool2dBackward(dx: usize, dy: usize, P: i32, H: i32, W: i32, OH: i32, OW: i32, accumulate: bool): void {
  if (!accumulate) memory.fill(dx, 0, <usize>P * <usize>H * <usize>W << 2);
  for (let p = 0; p < P; p++) {
    const plane = dx + (<usize>p * <usize>H * <usize>W << 2);
    for (let i = 0; i < OH; i++) {
      const y0 = <i32>(<i64>i * H / OH), y1 = <i32>((<i64>(i + 1) * H + OH - 1) / OH);
      for (let j = 0; j < OW; j++) {
        const x0 = <i32>(<i64>j * W / OW), x1 = <i32>((<i64>(j + 1) * W + OW - 1) / OW);
        const g = load<f32>(dy + ((<usize>(p * OH + i) * <usize>OW + <usize>j) << 2)) / <f32>((y1 - y0) * (x1 - x0));
        for (let r = y0; r < y1; r++) for (let c = x0; c < x1; c++) {
          const at = plane + (<usize>(r * W + c) << 2);
          store<f32>(at, load<f32>(at) + g);
        }
      }
    }
  }
}
