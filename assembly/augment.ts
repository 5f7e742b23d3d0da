// Geometric augmentation: a batch of images warped by one affine map per image, nearest
// neighbour. maps (float64, 6 per image) send an output pixel (x, y) to the input position
// (a·x + b·y + c, d·x + e·y + f); positions outside the image take fills[channel]. Coordinates
// are float64 and rounded as floor(v + 0.5), so the JS twin picks the same pixels.
export function affineNearest(dst: usize, src: usize, N: i32, C: i32, H: i32, W: i32, OH: i32, OW: i32,
                               maps: usize, fills: usize): void {
  const inPlane = <usize>H * <usize>W, outPlane = <usize>OH * <usize>OW;
  for (let n = 0; n < N; n++) {
    const m = maps + (<usize>n * 6 << 3);
    const a = load<f64>(m), b = load<f64>(m, 8), c = load<f64>(m, 16);
    const d = load<f64>(m, 24), e = load<f64>(m, 32), f = load<f64>(m, 40);
    const srcN = src + (<usize>n * <usize>C * inPlane << 2);
    const dstN = dst + (<usize>n * <usize>C * outPlane << 2);
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x++) {
        const xf = Math.floor(a * <f64>x + b * <f64>y + c + 0.5);
        const yf = Math.floor(d * <f64>x + e * <f64>y + f + 0.5);
        // Compared as floats first: converting an out-of-range (or NaN) coordinate would trap.
        const inside = xf >= 0 && xf < <f64>W && yf >= 0 && yf < <f64>H;
        const at = inside ? <usize>(<i32>yf * W + <i32>xf) : 0;
        const o = <usize>(y * OW + x);
        for (let ch = 0; ch < C; ch++) {
          const v = inside
            ? load<f32>(srcN + ((<usize>ch * inPlane + at) << 2))
            : load<f32>(fills + (<usize>ch << 2));
          store<f32>(dstN + ((<usize>ch * outPlane + o) << 2), v);
        }
      }
    }
  }
}
