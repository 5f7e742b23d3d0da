// 2-D convolution (im2col + gemm, per image) and pooling over NCHW tensors.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { type Tensor, requireFloat, sameBackend } from "../tensor.js";
import { checkBool, checkInt, checkOptions, describe, checkArgCount } from "../check.js";
import { opOutput, record } from "../autograd.js";
import { cat, dense, narrow, squeeze, unsqueeze } from "./layout.js";

/** A size for both spatial dims, or [height, width]. */
export type Pair = number | [number, number];

/** Options of conv2d (torch: stride, padding, dilation, groups). */
export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** Channel groups (PyTorch's groups): weight (O, C/groups, kh, kw); groups = C is depthwise. */
  groups?: number;
  /** Images per gemm (default: as many as fit 512 KB of columns). Changes speed and rounding, not math. */
  imagesPerGemm?: number;
}

/** Largest stride, padding, dilation or pooling window (keeps the kernels' 32-bit index math exact). */
const MAX_GEOMETRY = 2 ** 24;

export function pair(name: string, v: Pair, min: number): [number, number] {
  if (typeof v !== "number" && !(Array.isArray(v) && v.length === 2)) {
    throw new ValueError(`${name} must be an integer ≥ ${min} or a pair [h, w] of them, got ${describe(v)}`);
  }
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (p.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < min || d > MAX_GEOMETRY)) {
    throw new ValueError(`${name} must be an integer from ${min} to ${MAX_GEOMETRY} (or a pair of them), got ${JSON.stringify(v)}`);
  }
  return p;
}

/** Output size of a sliding window along one dimension (PyTorch's floor formula). */
function outSize(op: string, x: Tensor, dim: number, k: number, s: number, p: number, d: number, ceil = false): number {
  const size = x.shape[dim];
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // ceil_mode as PyTorch: the last window must start inside the input or the left padding
  if (ceil && span >= 0 && (out - 1) * s >= size + p) out--;
  if (out < 1 || span < 0) {
    throw new ShapeError(
      `${op}: input ${shapeStr(x.shape)} is too small: dimension ${dim} (${size}, padding ${p}) is smaller than the kernel extent ${d * (k - 1) + 1}`,
    );
  }
  return out;
}

function check4d(op: string, x: Tensor): [number, number, number, number] {
  requireFloat(op, "input", x);
  if (x.ndim !== 4) throw new ShapeError(`${op}: expected input (N, C, H, W), got ${shapeStr(x.shape)}`);
  return [x.shape[0], x.shape[1], x.shape[2], x.shape[3]];
}

/**
 * Bytes of im2col columns per gemm: several small images share one gemm, but a group's columns
 * must stay in L2 between im2col writing and gemm reading them (6 MB groups ran 2× slower).
 */
const GROUP_BYTES = 512 * 1024;

/**
 * y (N, O, OH, OW) = conv(x (N, C, H, W), weight (O, C, kh, kw)) + bias (O), as F.conv2d
 * (cross-correlation, groups = 1), by im2col + gemm over groups of G images at a time (G by
 * the columns' size, 1 for big layers):
 * cols (C·kh·kw, G·OH·OW) holds the images' receptive fields side by side, Y = W · cols is
 * (O, G, OH·OW) and is permuted into NCHW. backward per group: dY gathered back to (O, G·P),
 * dW += dY · colsᵀ (nt), dcols = Wᵀ · dY (tn) → col2im → dx, db = Σ dy. Big gemms amortise
 * call overhead and can be split over threads; G depends only on the shape, never on the
 * thread count, so results do not either. cols are rebuilt in backward rather than kept.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  checkArgCount("conv2d", arguments, 4);
  checkOptions("conv2d", options, ["stride", "padding", "dilation", "groups", "imagesPerGemm"]);
  const groups = options.groups ?? 1;
  if (groups !== 1) return groupedConv2d(x, weight, bias ?? null, options, groups);
  x = dense(x);
  weight = dense(weight);
  bias = dense(bias);
  const be = bias ? sameBackend("conv2d", x, weight, bias) : sameBackend("conv2d", x, weight);
  const [N, C, H, W] = check4d("conv2d", x);
  requireFloat("conv2d", "weight", weight);
  if (bias) requireFloat("conv2d", "bias", bias);
  if (weight.ndim !== 4) throw new ShapeError(`conv2d: weight must be (out_channels, in_channels, kh, kw), got ${shapeStr(weight.shape)}`);
  const [O, Cw, kh, kw] = weight.shape;
  if (kh < 1 || kw < 1) throw new ShapeError(`conv2d: weight ${shapeStr(weight.shape)} has an empty kernel (kh and kw must be at least 1)`);
  if (options.imagesPerGemm !== undefined) checkInt("conv2d", "imagesPerGemm", options.imagesPerGemm, 1);
  if (Cw !== C) {
    throw new ShapeError(`conv2d: input ${shapeStr(x.shape)} has ${C} channels but weight ${shapeStr(weight.shape)} expects ${Cw}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== O)) throw new ShapeError(`conv2d: bias must have shape [${O}], got ${shapeStr(bias.shape)}`);
  const [sh, sw] = pair("conv2d stride", options.stride ?? 1, 1);
  const [ph, pw] = pair("conv2d padding", options.padding ?? 0, 0);
  const [dh, dw] = pair("conv2d dilation", options.dilation ?? 1, 1);
  const OH = outSize("conv2d", x, 2, kh, sh, ph, dh);
  const OW = outSize("conv2d", x, 3, kw, sw, pw, dw);
  const K = C * kh * kw,
    P = OH * OW;
  const G = Math.max(1, Math.min(N, options.imagesPerGemm ?? Math.floor(GROUP_BYTES / (K * P * 4))));
  const geometry = [C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW] as const;
  const xBytes = C * H * W * 4,
    yBytes = O * P * 4;
  /** cols of images n0..n0+g side by side (rows g·P long). */
  const fillCols = (cols: number, n0: number, g: number) => {
    be.im2col(cols, x.ptr + n0 * xBytes, ...geometry, g * P, g);
  };
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const out = opOutput(be, [N, O, OH, OW], inputs);
  const cols = be.heap.alloc(K * G * P * 4);
  const ys = G > 1 ? be.heap.alloc(G * yBytes) : 0;
  try {
    if (bias) be.channelFill(out.ptr, bias.ptr, N, O, P);
    for (let n0 = 0; n0 < N; n0 += G) {
      const g = Math.min(G, N - n0);
      fillCols(cols, n0, g);
      const y = out.ptr + n0 * yBytes;
      if (g === 1) {
        be.gemm("nn", O, P, K, weight.ptr, K, cols, P, y, P, 0, !!bias);
      } else {
        // Y (O, g·P) on top of the bias, then (O, g, P) → (g, O, P).
        if (bias) be.swap01(ys, y, g, O, P);
        be.gemm("nn", O, g * P, K, weight.ptr, K, cols, g * P, ys, g * P, 0, !!bias);
        be.swap01(y, ys, O, g, P);
      }
    }
  } finally {
    be.heap.free(cols);
    if (ys) be.heap.free(ys);
  }
  return record(out, "conv2d", inputs, (dy, ctx) => {
    const cols = be.heap.alloc(K * G * P * 4);
    const dys = G > 1 ? be.heap.alloc(G * yBytes) : 0;
    /** Calls fn(n0, g, dY) per group, with dY the group's gradient as (O, g·P) and, if `im2col`, the group's columns in cols. */
    const eachGroup = (im2col: boolean, fn: (n0: number, g: number, dY: number) => void) => {
      for (let n0 = 0; n0 < N; n0 += G) {
        const g = Math.min(G, N - n0);
        if (g > 1) be.swap01(dys, dy.ptr + n0 * yBytes, g, O, P);
        if (im2col) fillCols(cols, n0, g);
        fn(n0, g, g === 1 ? dy.ptr + n0 * yBytes : dys);
      }
    };
    try {
      // One accumulate per tensor: the first group writes (or adds to an existing grad), the
      // rest add. The input gradient overwrites cols with Wᵀ·dY, so it needs no im2col.
      ctx.accumulate(weight, (dW, acc) => eachGroup(true, (n0, g, dY) => be.gemm("nt", O, K, g * P, dY, g * P, cols, g * P, dW, K, 0, acc || n0 > 0)));
      ctx.accumulate(x, (dx, acc) =>
        eachGroup(false, (n0, g, dY) => {
          be.gemm("tn", K, g * P, O, weight.ptr, K, dY, g * P, cols, g * P, 0, false);
          be.col2im(dx + n0 * xBytes, cols, ...geometry, g * P, acc, g);
        }),
      );
    } finally {
      be.heap.free(cols);
      if (dys) be.heap.free(dys);
    }
    if (bias) ctx.accumulate(bias, (db, acc) => be.channelSum(db, dy.ptr, N, O, P, acc, 0, O));
  });
}

/**
 * A grouped convolution: input channels and filters split into `groups` equal parts, each part
 * convolved on its own (one conv2d per group on channel views) and the outputs concatenated.
 */
function groupedConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions, groups: number): Tensor {
  checkInt("conv2d", "groups", groups, 1);
  const [, C] = check4d("conv2d", x);
  requireFloat("conv2d", "weight", weight);
  if (weight.ndim !== 4) throw new ShapeError(`conv2d: weight must be (out_channels, in_channels / groups, kh, kw), got ${shapeStr(weight.shape)}`);
  const O = weight.shape[0];
  if (C % groups !== 0 || O % groups !== 0)
    throw new ShapeError(`conv2d: groups ${groups} must divide both the input channels (${C}) and the output channels (${O})`);
  const Cg = C / groups,
    Og = O / groups;
  if (weight.shape[1] !== Cg)
    throw new ShapeError(
      `conv2d: input ${shapeStr(x.shape)} with groups ${groups} expects weight of shape [${O}, ${Cg}, kh, kw], got ${shapeStr(weight.shape)}`,
    );
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== O)) throw new ShapeError(`conv2d: bias must have shape [${O}], got ${shapeStr(bias.shape)}`);
  const { groups: _g, ...rest } = options;
  const parts: Tensor[] = [];
  for (let g = 0; g < groups; g++) {
    parts.push(conv2d(narrow(x, 1, g * Cg, Cg), narrow(weight, 0, g * Og, Og), bias ? narrow(bias, 0, g * Og, Og) : null, rest));
  }
  return cat(parts, 1);
}

/** Options of maxPool2d/avgPool2d (torch: stride, padding, ceil_mode). */
export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
  /** Max pooling only: output sizes rounded up, so the last window may hang over the edge. */
  ceilMode?: boolean;
}

/**
 * A pooling window's parameters, checked (also by nn.MaxPool2d/AvgPool2d when they are made):
 * options known to `allowed`, kernel, stride (default: the kernel) and padding of at most half
 * the kernel.
 */
export function poolParams(owner: string, kernelSize: Pair, options: Pool2dOptions, allowed: readonly string[]) {
  checkOptions(owner, options, allowed);
  if (options.ceilMode !== undefined) checkBool(owner, "ceilMode", options.ceilMode);
  const [kh, kw] = pair(`${owner} kernel_size`, kernelSize, 1);
  const [sh, sw] = pair(`${owner} stride`, options.stride ?? [kh, kw], 1);
  const [ph, pw] = pair(`${owner} padding`, options.padding ?? 0, 0);
  if (2 * ph > kh || 2 * pw > kw) {
    throw new ValueError(`${owner}: padding should be at most half of the kernel size, got padding ${ph}×${pw} for kernel ${kh}×${kw}`);
  }
  return { kh, kw, sh, sw, ph, pw, ceil: options.ceilMode === true };
}

function poolGeometry(op: string, x: Tensor, kernelSize: Pair, options: Pool2dOptions, allowed = ["stride", "padding"]) {
  const [N, C] = check4d(op, x);
  const { kh, kw, sh, sw, ph, pw, ceil } = poolParams(op, kernelSize, options, allowed);
  const OH = outSize(op, x, 2, kh, sh, ph, 1, ceil);
  const OW = outSize(op, x, 3, kw, sw, pw, 1, ceil);
  return { N, C, H: x.shape[2], W: x.shape[3], kh, kw, sh, sw, ph, pw, OH, OW };
}

/** Max over kh×kw windows (stride defaults to the kernel size), as F.max_pool2d; `ceilMode`. */
export function maxPool2d(x: Tensor, kernelSize: Pair, options: Pool2dOptions = {}): Tensor {
  checkArgCount("maxPool2d", arguments, 3);
  x = dense(x);
  const { N, C, H, W, kh, kw, sh, sw, ph, pw, OH, OW } = poolGeometry("maxPool2d", x, kernelSize, options, ["stride", "padding", "ceilMode"]);
  const be = x.backend;
  const P = N * C;
  const out = opOutput(be, [N, C, OH, OW], [x]);
  const idx = opOutput(be, [N, C, OH, OW], [x], "int32");
  be.maxPool2d(out.ptr, idx.ptr, x.ptr, P, H, W, kh, kw, sh, sw, ph, pw, OH, OW);
  return record(out, "maxPool2d", [x], (g, ctx) => {
    ctx.accumulate(x, (dx, acc) => be.maxPool2dBackward(dx, g.ptr, idx.ptr, P, H, W, OH, OW, acc));
  });
}

/** Mean over kh×kw windows, padding counted as zeros (count_include_pad), as F.avg_pool2d. */
export function avgPool2d(x: Tensor, kernelSize: Pair, options: Omit<Pool2dOptions, "ceilMode"> = {}): Tensor {
  checkArgCount("avgPool2d", arguments, 3);
  x = dense(x);
  const { N, C, H, W, kh, kw, sh, sw, ph, pw, OH, OW } = poolGeometry("avgPool2d", x, kernelSize, options);
  const be = x.backend;
  const P = N * C;
  const out = opOutput(be, [N, C, OH, OW], [x]);
  be.avgPool2d(out.ptr, x.ptr, P, H, W, kh, kw, sh, sw, ph, pw, OH, OW);
  return record(out, "avgPool2d", [x], (g, ctx) => {
    ctx.accumulate(x, (dx, acc) => be.avgPool2dBackward(dx, g.ptr, P, H, W, kh, kw, sh, sw, ph, pw, OH, OW, acc));
  });
}

/** F.adaptive_avg_pool2d: averages over windows that tile (H, W) into outputSize (PyTorch's window bounds). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  checkArgCount("adaptiveAvgPool2d", arguments, 2);
  x = dense(x);
  const [N, C, H, W] = check4d("adaptiveAvgPool2d", x);
  const [OH, OW] = pair("adaptiveAvgPool2d outputSize", outputSize, 1);
  const be = x.backend;
  const P = N * C;
  const out = opOutput(be, [N, C, OH, OW], [x]);
  if (out.size > 0 && H * W > 0) be.adaptiveAvgPool2d(out.ptr, x.ptr, P, H, W, OH, OW);
  else if (out.size > 0) be.fill(out.ptr, out.size, NaN);
  return record(out, "adaptiveAvgPool2d", [x], (g, ctx) => {
    ctx.accumulate(x, (dx, acc) => {
      if (x.size > 0) be.adaptiveAvgPool2dBackward(dx, g.ptr, P, H, W, OH, OW, acc);
    });
  });
}

/** F.conv1d: x (N, C, L) with weight (O, C/groups, k), computed as a 2-D convolution of height 1. */
export function conv1d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: { stride?: number; padding?: number; dilation?: number; groups?: number } = {},
): Tensor {
  checkArgCount("conv1d", arguments, 4);
  checkOptions("conv1d", options, ["stride", "padding", "dilation", "groups"]);
  requireFloat("conv1d", "input", x);
  requireFloat("conv1d", "weight", weight);
  if (x.ndim !== 3) throw new ShapeError(`conv1d: expected input (N, C, L), got ${shapeStr(x.shape)}`);
  if (weight.ndim !== 3) throw new ShapeError(`conv1d: weight must be (out_channels, in_channels / groups, k), got ${shapeStr(weight.shape)}`);
  for (const name of ["stride", "padding", "dilation", "groups"] as const) {
    const v = options[name];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v))) throw new ValueError(`conv1d: ${name} must be an integer, got ${describe(v)}`);
  }
  const y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias ?? null, {
    stride: [1, options.stride ?? 1],
    padding: [0, options.padding ?? 0],
    dilation: [1, options.dilation ?? 1],
    groups: options.groups ?? 1,
  });
  return squeeze(y, 2);
}
