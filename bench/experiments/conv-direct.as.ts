// @ts-nocheck -- AssemblyScript, compiled by bench/experiments/conv-direct.ts (not part of the TypeScript build).
// A direct SIMD 3×3 convolution (stride 1, padding 1, no bias, NCHW), the alternative to im2col +
// gemm it races against. Register tile like the gemm's: 4 output channels × 8 output
// columns = 8 f32x4 accumulators; per tap, 2 input vectors and 4 weight splats feed 16 mul+add.
// Each image is first copied into a zero-padded scratch plane so the inner loop has no bounds
// checks; rows are padded to a multiple of 8 columns (+4 for the taps), extra lanes are dropped.

export function scratch_bytes(C: i32, H: i32, W: i32): i32 {
  const WP = ((W + 7) & ~7) + 4;
  return (C * (H + 2) * WP + 16) << 2;
}

// y (N, O, H, W) = conv3x3(x (N, C, H, W), w (O, C, 3, 3)); O a multiple of 4
export function conv3x3(y: usize, x: usize, w: usize, N: i32, C: i32, H: i32, W: i32, O: i32, xp: usize): void {
  const OWr = (W + 7) & ~7;
  const WP = OWr + 4;
  const plane = (H + 2) * WP;
  for (let n = 0; n < N; n++) {
    // the padded copy of image n
    memory.fill(xp, 0, <usize>(C * plane + 16) << 2);
    for (let c = 0; c < C; c++) {
      for (let r = 0; r < H; r++) {
        memory.copy(xp + (<usize>(c * plane + (r + 1) * WP + 1) << 2), x + (<usize>(((n * C + c) * H + r) * W) << 2), <usize>W << 2);
      }
    }
    for (let o0 = 0; o0 < O; o0 += 4) {
      const w0 = w + (<usize>(o0 * C * 9) << 2);
      const wStride = <usize>(C * 9) << 2; // next output channel's weights
      for (let oy = 0; oy < H; oy++) {
        for (let ox0 = 0; ox0 < OWr; ox0 += 8) {
          let a0 = f32x4.splat(0), b0 = f32x4.splat(0), a1 = f32x4.splat(0), b1 = f32x4.splat(0);
          let a2 = f32x4.splat(0), b2 = f32x4.splat(0), a3 = f32x4.splat(0), b3 = f32x4.splat(0);
          for (let c = 0; c < C; c++) {
            const wc = w0 + (<usize>(c * 9) << 2);
            const base = xp + (<usize>(c * plane + oy * WP + ox0) << 2);
            for (let i = 0; i < 3; i++) {
              const row = base + (<usize>(i * WP) << 2);
              const wi = wc + (<usize>(i * 3) << 2);
              for (let j = 0; j < 3; j++) {
                const p = row + (<usize>j << 2);
                const xa = v128.load(p), xb = v128.load(p, 16);
                const wj = wi + (<usize>j << 2);
                const w0v = v128.load32_splat(wj);
                const w1v = v128.load32_splat(wj + wStride);
                const w2v = v128.load32_splat(wj + 2 * wStride);
                const w3v = v128.load32_splat(wj + 3 * wStride);
                a0 = f32x4.add(a0, f32x4.mul(xa, w0v)); b0 = f32x4.add(b0, f32x4.mul(xb, w0v));
                a1 = f32x4.add(a1, f32x4.mul(xa, w1v)); b1 = f32x4.add(b1, f32x4.mul(xb, w1v));
                a2 = f32x4.add(a2, f32x4.mul(xa, w2v)); b2 = f32x4.add(b2, f32x4.mul(xb, w2v));
                a3 = f32x4.add(a3, f32x4.mul(xa, w3v)); b3 = f32x4.add(b3, f32x4.mul(xb, w3v));
              }
            }
          }
          const out = y + (<usize>(((n * O + o0) * H + oy) * W + ox0) << 2);
          const oStride = <usize>(H * W) << 2;
          if (ox0 + 8 <= W) {
            v128.store(out, a0); v128.store(out, b0, 16);
            v128.store(out + oStride, a1); v128.store(out + oStride, b1, 16);
            v128.store(out + 2 * oStride, a2); v128.store(out + 2 * oStride, b2, 16);
            v128.store(out + 3 * oStride, a3); v128.store(out + 3 * oStride, b3, 16);
          } else {
            storeTail(out, a0, b0, W - ox0);
            storeTail(out + oStride, a1, b1, W - ox0);
            storeTail(out + 2 * oStride, a2, b2, W - ox0);
            storeTail(out + 3 * oStride, a3, b3, W - ox0);
          }
        }
      }
    }
  }
}

// the first n (< 8) lanes of a:b
function storeTail(out: usize, a: v128, b: v128, n: i32): void {
  if (n >= 4) {
    v128.store(out, a);
    if (n > 4) store<f32>(out, f32x4.extract_lane(b, 0), 16);
    if (n > 5) store<f32>(out, f32x4.extract_lane(b, 1), 20);
    if (n > 6) store<f32>(out, f32x4.extract_lane(b, 2), 24);
  } else {
    if (n > 0) store<f32>(out, f32x4.extract_lane(a, 0));
    if (n > 1) store<f32>(out, f32x4.extract_lane(a, 1), 4);
    if (n > 2) store<f32>(out, f32x4.extract_lane(a, 2), 8);
  }
}
