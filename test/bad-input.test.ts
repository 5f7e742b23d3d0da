// Every public op, module, optimizer and scheduler option, DataLoader and transform option is
// checked up front: a wrong call throws the documented error class with a message that names
// what was expected, and never reaches a kernel (a kernel given wrong sizes reads or writes
// outside its buffers without a word). Each case runs on a backend whose kernel calls are
// counted, and must leave the count at zero; afterwards the library still trains.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BackendMismatchError,
  DTypeError,
  DataLoader,
  Generator,
  OutOfMemoryError,
  ShapeError,
  type Tensor,
  ValueError,
  WasmgradError,
  arange,
  autograd,
  createBackend,
  data,
  datasets,
  full,
  getBackend,
  io,
  manualSeed,
  nn,
  noGrad,
  ops,
  optim,
  setBackend,
  setNumThreads,
  tensor,
  transforms,
  zeros,
} from "../src/index.js";

const noGradOf = (v: unknown) => noGrad(v as never);
import type { Backend } from "../src/backend/index.js";

/** A backend that forwards to `real` (same heap and memory) and counts kernel calls. */
function countingBackend(real: Backend): { backend: Backend; calls: () => number; reset: () => void; last: () => string } {
  let calls = 0;
  let last = "";
  const b: Record<string, unknown> = { ...real };
  const notKernels = new Set(["f32", "i32", "u8", "setNumThreads", "getNumThreads", "threadStats"]);
  for (const [name, v] of Object.entries(real)) {
    if (typeof v !== "function" || notKernels.has(name)) continue;
    const fn = v as (...a: unknown[]) => unknown;
    b[name] = (...args: unknown[]) => {
      calls++;
      last = name;
      return fn(...args);
    };
  }
  return { backend: b as unknown as Backend, calls: () => calls, reset: () => (calls = 0), last: () => last };
}

type ErrorClass = new (message: string) => WasmgradError;
type Case = [what: string, fn: () => unknown, cls: ErrorClass, message: RegExp];

const previous = getBackend();
const spy = countingBackend(createBackend("wasm"));
let other: Backend;
beforeAll(() => {
  setBackend(spy.backend);
  other = createBackend("js");
});
afterAll(() => {
  setBackend(previous);
});

function expectRejected([what, fn, cls, message]: Case): void {
  spy.reset();
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `${what}: expected ${cls.name}`).toBeInstanceOf(cls);
  expect(caught, what).toBeInstanceOf(WasmgradError);
  expect((caught as Error).name, what).toBe(cls.name);
  expect((caught as Error).message, what).toMatch(message);
  expect(spy.calls(), `${what}: a kernel (${spy.last()}) ran before the error`).toBe(0);
}

function table(name: string, cases: () => Case[]): void {
  it(name, () => {
    const list = cases();
    for (const c of list) expectRejected(c);
    expect(list.length).toBeGreaterThan(0);
  });
}

const f32 = (shape: number[]) => zeros(shape);
const i32 = (values: number[]) => tensor(Int32Array.from(values));

describe("tensors and factories", () => {
  table("tensor(), zeros(), full(), arange() reject bad data, shapes and dtypes", () => [
    ["tensor(string)", () => tensor("abc" as never), ValueError, /tensor\(\): data must be a number, an array .* got "abc"/],
    ["tensor(null)", () => tensor(null as never), ValueError, /data must be/],
    ["tensor with a string element", () => tensor([1, "a" as never, 3]), ValueError, /element 1 is "a", expected a number/],
    [
      "tensor with an object element",
      () =>
        tensor([
          [1, 2],
          [{} as never, 4],
        ]),
      ValueError,
      /element 2 is an object/,
    ],
    ["ragged nested array (fewer)", () => tensor([[1, 2], [3]]), ShapeError, /ragged nested array: element \[1\] has length 1, expected 2/],
    [
      "ragged nested array (same total count)",
      () => tensor([[1, 2], [3, 4, 5], [6]]),
      ShapeError,
      /ragged nested array: element \[1\] has length 3, expected 2 \(shape \[3, 2\]\)/,
    ],
    [
      "ragged depth",
      () =>
        tensor([
          [1, 2],
          [3, [4] as never],
        ]),
      ShapeError,
      /ragged nested array: element \[1\]\[1\] is an array/,
    ],
    ["values do not fill the shape", () => tensor([1, 2, 3], { shape: [2, 2] }), ShapeError, /3 values do not fill shape \[2, 2\] \(4 elements\)/],
    ["negative dims whose product fits", () => tensor([1, 2], { shape: [-1, -2] }), ShapeError, /shape \[-1, -2\]: dimensions must be non-negative integers/],
    ["fractional dims", () => tensor([1], { shape: [0.5, 2] }), ShapeError, /dimensions must be non-negative integers/],
    ["unknown dtype", () => tensor([1, 2], { dtype: "float64" as never }), DTypeError, /unsupported dtype "float64" \(expected "float32", "int32" or "bool"\)/],
    ["zeros with NaN", () => zeros([2, NaN]), ShapeError, /shape \[2, NaN\]: dimensions must be non-negative integers/],
    ["zeros with -1", () => zeros([2, -1]), ShapeError, /non-negative integers/],
    ["zeros with 1.5", () => zeros([1.5]), ShapeError, /non-negative integers/],
    ["zeros with Infinity", () => zeros([Infinity]), ShapeError, /non-negative integers/],
    ["zeros with a string", () => zeros(["3"] as never), ShapeError, /non-negative integers/],
    [
      "zeros of a string",
      () => zeros("3" as never),
      ValueError,
      /zeros: expected a shape \(an array of dims, or dims as numbers\) and optional options, got "3"/,
    ],
    ["a dimension beyond 2^31 - 1", () => zeros([0, 2 ** 31]), ShapeError, /a dimension above 2\^31 - 1/],
    [
      "2^90 elements",
      () => zeros([2 ** 30, 2 ** 30, 2 ** 30]),
      ShapeError,
      /zeros: shape \[1073741824, 1073741824, 1073741824\]: 1\.2379400392853803e\+27 elements is more than 2\^31 - 1/,
    ],
    ["zeros of 7 GiB", () => zeros([2 ** 28, 7]), OutOfMemoryError, /cannot allocate 7\.00 GiB/],
    ["full with a string", () => full([2], "x" as never), ValueError, /full\(\): value must be a number, got "x"/],
    ["arange(-1)", () => arange(-1), ValueError, /arange: upper bound and larger bound inconsistent with step sign \(start 0, end -1, step 1\)/],
    [
      "arange of a string",
      () => arange("5" as never),
      ValueError,
      /arange: expected \(end\), \(start, end\) or \(start, end, step\) as finite numbers, got \("5"\)/,
    ],
    ["arange(NaN)", () => arange(NaN), ValueError, /arange: expected \(end\), \(start, end\) or \(start, end, step\) as finite numbers/],
    ["arange with step 0", () => arange(0, 5, 0), ValueError, /arange: step must be nonzero/],
  ]);

  table("shape ops: reshape, view, flatten, copy_, fill_", () => {
    const a = f32([2, 3]);
    return [
      ["reshape to 8 elements", () => a.reshape(4, 2), ShapeError, /shape \[4, 2\] is invalid for input of shape \[2, 3\] \(6 elements\)/],
      ["two -1", () => a.view(-1, -1), ShapeError, /only one dimension can be -1/],
      ["-1 with a zero", () => a.view(0, -1), ShapeError, /is invalid for input of shape \[2, 3\]/],
      ["NaN dim", () => a.view(NaN, 6), ShapeError, /is invalid for input/],
      ["string dim", () => a.reshape(["6"] as never), ValueError, /reshape: expected dimensions as numbers \(or one array of them\), got "6"/],
      ["-2", () => a.view(-2, -3), ShapeError, /is invalid/],
      ["flatten with a fractional dim", () => a.flatten(0.5), ValueError, /flatten: startDim must be an integer, got number 0.5/],
      ["flatten out of range", () => a.flatten(0, 5), ShapeError, /flatten: endDim 5 is out of range for a tensor with 2 dimensions/],
      ["flatten of an array", () => ops.flatten([1, 2] as never), ValueError, /flatten: expected a Tensor, got an array of 2/],
      ["copy_ of another size", () => a.copy_(f32([4])), ShapeError, /copy_: shapes \[2, 3\] and \[4\] cannot be broadcast/],
      ["copy_ of another dtype", () => a.copy_(i32([1, 2, 3, 4, 5, 6]).reshape(2, 3)), DTypeError, /copy_: source is int32, destination float32/],
      [
        "copy_ across backends",
        () => a.copy_(zeros([2, 3], { backend: other })),
        BackendMismatchError,
        /copy_: tensors live on different backends \(wasm and js\)/,
      ],
      ["copy_ of a non-tensor", () => a.copy_([1, 2] as never), ValueError, /copy_: expected a Tensor, got an array of 2/],
      ["fill_ with a string", () => a.fill_("1" as never), ValueError, /fill_: value must be a number, got "1"/],
      ["clone of a non-tensor", () => ops.clone({} as never), ValueError, /clone: expected a Tensor, got an object/],
    ];
  });
});

describe("ops", () => {
  table("elementwise: add, sub, mul, div, relu", () => {
    const a = f32([2, 3]);
    return [
      ["add of shapes that do not broadcast", () => a.add(f32([3, 2])), ShapeError, /add: shapes \[2, 3\] and \[3, 2\] cannot be broadcast/],
      ["mul by a longer row", () => a.mul(f32([4])), ShapeError, /mul: shapes \[2, 3\] and \[4\] cannot be broadcast/],
      ["sub of a bool mask", () => ops.maskedFill(a, i32([1, 0, 1]), 0), DTypeError, /maskedFill: mask must be a bool tensor, got int32/],
      ["add of a string", () => ops.add(f32([2]), "1" as never), ValueError, /add: the second operand must be a Tensor or a number, got "1"/],
      ["add of a string", () => a.add("1" as never), ValueError, /add: the second operand must be a Tensor or a number, got "1"/],
      ["mul by an array", () => a.mul([1, 2, 3] as never), ValueError, /mul: the second operand must be a Tensor or a number, got an array of 3/],
      ["div by a string", () => a.div("3" as never), ValueError, /div: the second operand must be a Tensor or a number, got "3"/],
      ["add across backends", () => a.add(zeros([2, 3], { backend: other })), BackendMismatchError, /add: tensors live on different backends/],
      ["relu of a string", () => ops.relu("x" as never), ValueError, /relu: expected a Tensor, got "x"/],
      ["relu of an array", () => ops.relu([1] as never), ValueError, /relu: expected a Tensor, got an array of 1/],
    ];
  });

  table("linear and matmul", () => {
    const W = f32([4, 5]);
    return [
      [
        "input of the wrong width",
        () => ops.linear(f32([2, 3]), W),
        ShapeError,
        /linear: input of shape \[2, 3\] does not fit weight \[4, 5\]: expected last dimension 5 \(in_features\), got 3/,
      ],
      ["scalar input", () => ops.linear(f32([]), W), ShapeError, /got a scalar/],
      ["1-D weight", () => ops.linear(f32([2, 5]), f32([5])), ShapeError, /linear: weight must be 2-D \(out_features, in_features\), got \[5\]/],
      ["int32 weight", () => ops.linear(f32([2, 5]), tensor(new Int32Array(20), { shape: [4, 5] })), DTypeError, /linear: weight must be float32, got int32/],
      ["int32 bias", () => ops.linear(f32([2, 5]), W, i32([0, 0, 0, 0])), DTypeError, /linear: bias must be float32/],
      [
        "bias of the wrong length",
        () => ops.linear(f32([2, 5]), W, f32([3])),
        ShapeError,
        /linear: bias must have shape \[4\] to match weight \[4, 5\], got \[3\]/,
      ],
      ["weight as nested arrays", () => ops.linear(f32([2, 5]), [[1]] as never), ValueError, /linear: argument 2 must be a Tensor, got an array of 1/],
      ["int32 input", () => ops.linear(tensor(new Int32Array(10), { shape: [2, 5] }), W), DTypeError, /linear: input must be float32/],
      [
        "matmul of mismatched batch dims",
        () => ops.matmul(f32([2, 3, 4]), f32([3, 4, 2])),
        ShapeError,
        /matmul \(batch dims\): shapes \[2\] and \[3\] cannot be broadcast: dimension -1 \(size 2 vs 3\)/,
      ],
      ["matmul inner mismatch", () => f32([2, 3]).matmul(f32([2, 3])), ShapeError, /matmul: shapes \[2, 3\] and \[2, 3\] cannot be multiplied \(3 ≠ 2\)/],
      ["matmul across backends", () => f32([2, 3]).matmul(zeros([3, 2], { backend: other })), BackendMismatchError, /matmul/],
    ];
  });

  table("reductions and argmax", () => [
    [
      "sum over a dim out of range",
      () => f32([2, 3]).sum(2),
      ShapeError,
      /sum: dim 2 is out of range for a tensor with 2 dimensions \(expected -2 ≤ dim < 2\)/,
    ],
    ["mean of int32", () => i32([1, 2]).mean(), DTypeError, /mean: input must be float32/],
    ["argmax along a fractional dim", () => f32([2, 3]).argmax(0.5), ValueError, /argmax: dim must be an integer, got number 0.5/],
    ["argmax along dim 2", () => f32([2, 3]).argmax(2), ShapeError, /argmax: dim 2 is out of range for a tensor with 2 dimensions/],
    ["argmax of an empty tensor", () => f32([0]).argmax(), ShapeError, /argmax: an empty tensor has no maximum/],
    ["argmax over an empty last dim", () => f32([2, 0]).argmax(-1), ShapeError, /argmax: dim -1 of shape \[2, 0\] is empty/],
    ["argmax with keepdim 'yes'", () => f32([2, 3]).argmax(-1, "yes" as never), ValueError, /argmax: keepdim must be true or false, got "yes"/],
  ]);

  table("losses and (log-)softmax: class targets checked before any kernel", () => {
    const logits = f32([4, 5]);
    return [
      [
        "a target ≥ classes",
        () => ops.crossEntropy(logits, i32([0, 4, 7, 1])),
        ValueError,
        /crossEntropy: target 7 at index 2 is out of range for 5 classes \(expected 0 ≤ target < 5 or ignoreIndex -100\)/,
      ],
      ["a negative target", () => ops.nllLoss(logits, i32([0, 1, 2, -1])), ValueError, /nllLoss: target -1 at index 3 is out of range for 5 classes/],
      ["float32 targets", () => ops.crossEntropy(logits, tensor([0, 1, 2, 3])), DTypeError, /crossEntropy: target must be int32 class indices, got float32/],
      [
        "targets of another length",
        () => ops.crossEntropy(logits, i32([0, 1, 2])),
        ShapeError,
        /crossEntropy: target shape \[3\] does not match input \[4, 5\]: expected \[4\]/,
      ],
      [
        "2-D targets",
        () => ops.crossEntropy(logits, tensor(new Int32Array(4), { shape: [4, 1] })),
        ShapeError,
        /target shape \[4, 1\] does not match input \[4, 5\]/,
      ],
      [
        "3-D logits with 1-D targets",
        () => ops.crossEntropy(f32([2, 2, 5]), i32([0, 1])),
        ShapeError,
        /crossEntropy: target shape \[2\] does not match input \[2, 2, 5\]: expected \[2, 5\]/,
      ],
      ["int32 logits", () => ops.nllLoss(tensor(new Int32Array(8), { shape: [2, 4] }), i32([0, 1])), DTypeError, /nllLoss: input must be float32/],
      ["targets as an array", () => ops.crossEntropy(logits, [0, 1, 2, 3] as never), ValueError, /crossEntropy: target must be a Tensor, got an array of 4/],
      [
        "unknown reduction",
        () => ops.crossEntropy(logits, i32([0, 1, 2, 3]), "avg" as never),
        ValueError,
        /crossEntropy: reduction must be 'mean', 'sum' or 'none', got "avg"/,
      ],
      ["targets on another backend", () => ops.crossEntropy(logits, tensor(new Int32Array(4), { backend: other })), BackendMismatchError, /crossEntropy/],
      [
        "mseLoss of different shapes",
        () => ops.mseLoss(f32([2, 3]), f32([6])),
        ShapeError,
        /mseLoss: input \[2, 3\] and target \[6\] must have the same shape/,
      ],
      ["mseLoss of an int32 target", () => ops.mseLoss(f32([2]), i32([1, 2])), DTypeError, /mseLoss: target must be float32/],
      ["softmax along dim 2 of a 2-D tensor", () => ops.softmax(f32([2, 3]), 2), ShapeError, /softmax: dim 2 is out of range for a tensor with 2 dimensions/],
      ["logSoftmax along a fractional dim", () => ops.logSoftmax(f32([2, 3]), 0.5), ValueError, /logSoftmax: dim must be an integer, got number 0.5/],
    ];
  });

  table("conv2d and pooling: geometry checked, never a wrong size to im2col", () => {
    const x = f32([2, 3, 8, 8]);
    const w = f32([4, 3, 3, 3]);
    return [
      ["3-D input", () => ops.conv2d(f32([3, 8, 8]), w), ShapeError, /conv2d: expected input \(N, C, H, W\), got \[3, 8, 8\]/],
      [
        "channel mismatch",
        () => ops.conv2d(f32([2, 2, 8, 8]), w),
        ShapeError,
        /conv2d: input \[2, 2, 8, 8\] has 2 channels but weight \[4, 3, 3, 3\] expects 3/,
      ],
      ["int32 weight", () => ops.conv2d(x, tensor(new Int32Array(108), { shape: [4, 3, 3, 3] })), DTypeError, /conv2d: weight must be float32/],
      ["empty kernel", () => ops.conv2d(x, f32([4, 3, 0, 3])), ShapeError, /conv2d: weight \[4, 3, 0, 3\] has an empty kernel/],
      ["bias of the wrong length", () => ops.conv2d(x, w, f32([3])), ShapeError, /conv2d: bias must have shape \[4\], got \[3\]/],
      ["stride 0", () => ops.conv2d(x, w, null, { stride: 0 }), ValueError, /conv2d stride must be an integer from 1 to 16777216 \(or a pair of them\), got 0/],
      ["stride NaN", () => ops.conv2d(x, w, null, { stride: NaN }), ValueError, /conv2d stride must be an integer/],
      [
        "stride of one element",
        () => ops.conv2d(x, w, null, { stride: [1] as never }),
        ValueError,
        /conv2d stride must be an integer ≥ 1 or a pair \[h, w\] of them, got an array of 1/,
      ],
      ["padding -1", () => ops.conv2d(x, w, null, { padding: -1 }), ValueError, /conv2d padding must be an integer from 0/],
      [
        "padding 2^25 (beyond the kernels' 32-bit index math)",
        () => ops.conv2d(x, w, null, { padding: 2 ** 25 }),
        ValueError,
        /conv2d padding must be an integer from 0 to 16777216/,
      ],
      ["dilation 1.5", () => ops.conv2d(x, w, null, { dilation: 1.5 }), ValueError, /conv2d dilation must be an integer/],
      [
        "imagesPerGemm 2.5 (was: im2col past the end of its buffer)",
        () => ops.conv2d(x, w, null, { imagesPerGemm: 2.5 }),
        ValueError,
        /conv2d: imagesPerGemm must be an integer ≥ 1, got number 2.5/,
      ],
      [
        "imagesPerGemm NaN (was: 'cannot allocate NaN B')",
        () => ops.conv2d(x, w, null, { imagesPerGemm: NaN }),
        ValueError,
        /imagesPerGemm must be an integer/,
      ],
      [
        "a misspelled option",
        () => ops.conv2d(x, w, null, { strides: 2 } as never),
        ValueError,
        /conv2d: unknown option 'strides' \(expected 'stride', 'padding', 'dilation', 'groups', 'imagesPerGemm'\)/,
      ],
      [
        "input smaller than the kernel",
        () => ops.conv2d(f32([1, 3, 2, 2]), w),
        ShapeError,
        /conv2d: input \[1, 3, 2, 2\] is too small: dimension 2 \(2, padding 0\) is smaller than the kernel extent 3/,
      ],
      ["maxPool2d kernel 0", () => ops.maxPool2d(x, 0), ValueError, /maxPool2d kernel_size must be an integer from 1/],
      [
        "maxPool2d padding over half the kernel",
        () => ops.maxPool2d(x, 2, { padding: 2 }),
        ValueError,
        /maxPool2d: padding should be at most half of the kernel size, got padding 2×2 for kernel 2×2/,
      ],
      ["maxPool2d of a tiny input", () => ops.maxPool2d(f32([1, 1, 1, 1]), 2), ShapeError, /maxPool2d: input \[1, 1, 1, 1\] is too small/],
      ["avgPool2d stride -1", () => ops.avgPool2d(x, 2, { stride: -1 }), ValueError, /avgPool2d stride must be an integer from 1/],
      ["avgPool2d of int32", () => ops.avgPool2d(tensor(new Int32Array(16), { shape: [1, 1, 4, 4] }), 2), DTypeError, /avgPool2d: input must be float32/],
    ];
  });

  table("batchNorm and dropout", () => {
    const x = f32([4, 3]);
    const c = f32([3]);
    return [
      ["eps -1", () => ops.batchNorm(x, c, c, null, null, { eps: -1 }), ValueError, /batchNorm: eps must be a finite number ≥ 0, got number -1/],
      ["eps NaN", () => ops.batchNorm(x, c, c, null, null, { eps: NaN }), ValueError, /batchNorm: eps must be a finite number/],
      [
        "momentum 2",
        () => ops.batchNorm(x, c, c, null, null, { momentum: 2 }),
        ValueError,
        /batchNorm: momentum must be a finite number from 0 to 1, got number 2/,
      ],
      ["training 'yes'", () => ops.batchNorm(x, c, c, null, null, { training: "yes" as never }), ValueError, /batchNorm: training must be true or false/],
      [
        "weight of the wrong length",
        () => ops.batchNorm(x, c, c, f32([4])),
        ShapeError,
        /batchNorm: weight must have shape \[3\] for input \[4, 3\], got \[4\]/,
      ],
      ["int32 running mean", () => ops.batchNorm(x, i32([0, 0, 0]), c), DTypeError, /batchNorm: running_mean must be float32/],
      ["1-D input", () => ops.batchNorm(f32([3]), c, c), ShapeError, /batchNorm: expected input \(N, C, \.\.\.\), got \[3\]/],
      [
        "one value per channel in training",
        () => ops.batchNorm(f32([1, 3]), c, c, null, null, { training: true }),
        ValueError,
        /batchNorm: expected more than 1 value per channel when training, got input \[1, 3\]/,
      ],
      ["dropout p 1.5", () => ops.dropout(x, 1.5), ValueError, /dropout probability has to be between 0 and 1, but got number 1.5/],
      ["dropout p NaN", () => ops.dropout(x, NaN), ValueError, /dropout probability has to be between 0 and 1/],
      ["dropout training 1", () => ops.dropout(x, 0.5, 1 as never), ValueError, /dropout: training must be true or false, got number 1/],
    ];
  });

  table("autograd: backward()", () => {
    const w = zeros([3], { requiresGrad: true });
    const y = w.mul(2);
    const noGradSum = f32([1]).sum();
    return [
      [
        "a non-scalar without a gradient",
        () => y.backward(),
        ShapeError,
        /backward\(\): a gradient can be implied only for one-element outputs, this one has shape \[3\]/,
      ],
      ["a gradient of another size", () => y.backward(f32([2])), ShapeError, /backward\(gradient\): gradient shape \[2\] does not match output shape \[3\]/],
      ["an int32 gradient", () => y.backward(i32([1, 1, 1])), DTypeError, /backward: gradient must be float32, got int32/],
      ["a gradient that is not a tensor", () => y.backward([1, 1, 1] as never), ValueError, /backward: gradient must be a Tensor, got an array of 3/],
      ["a tensor that needs no grad", () => noGradSum.backward(), ValueError, /backward\(\): this tensor does not require grad/],
      ["anomaly mode 'on'", () => autograd.setDetectAnomaly("on" as never), ValueError, /setDetectAnomaly: expected true or false, got on/],
      ["detectAnomaly of a non-function", () => autograd.detectAnomaly(3 as never), ValueError, /detectAnomaly: expected a function, got number/],
    ];
  });
});

describe("modules", () => {
  table("layer constructors check their options", () => [
    ["Linear(-1, 3)", () => new nn.Linear(-1, 3), ValueError, /Linear: inFeatures must be a non-negative integer, got -1/],
    ["Linear(2.5, 3)", () => new nn.Linear(2.5, 3), ValueError, /Linear: inFeatures must be a non-negative integer, got 2.5/],
    ["Linear(NaN, 3)", () => new nn.Linear(NaN, 3), ValueError, /Linear: inFeatures must be a non-negative integer, got NaN/],
    ["Linear('784', 3)", () => new nn.Linear("784" as never, 3), ValueError, /Linear: inFeatures must be a non-negative integer, got 784/],
    ["Linear(3, 2^31)", () => new nn.Linear(3, 2 ** 31), ValueError, /Linear: outFeatures must be a non-negative integer/],
    ["Linear bias 'no'", () => new nn.Linear(2, 3, { bias: "no" as never }), ValueError, /Linear: bias must be true or false, got "no"/],
    ["Linear misspelled option", () => new nn.Linear(2, 3, { biass: false } as never), ValueError, /Linear: unknown option 'biass' \(expected 'bias'\)/],
    ["Conv2d(0, 3, 3)", () => new nn.Conv2d(0, 3, 3), ValueError, /Conv2d: inChannels must be a positive integer, got 0/],
    ["Conv2d kernel 0", () => new nn.Conv2d(1, 3, 0), ValueError, /Conv2d kernel_size must be an integer from 1/],
    ["Conv2d stride 0", () => new nn.Conv2d(1, 3, 3, { stride: 0 }), ValueError, /Conv2d stride must be an integer from 1/],
    [
      "Conv2d padding 'full'",
      () => new nn.Conv2d(1, 3, 3, { padding: "full" as never }),
      ValueError,
      /Conv2d padding must be an integer ≥ 0 or a pair \[h, w\] of them, got "full"/,
    ],
    [
      "Conv2d padding 'same' with stride 2",
      () => new nn.Conv2d(1, 3, 3, { padding: "same", stride: 2 }),
      ValueError,
      /padding='same' is not supported for strided convolutions/,
    ],
    ["Conv2d bias 1", () => new nn.Conv2d(1, 3, 3, { bias: 1 as never }), ValueError, /Conv2d: bias must be true or false, got number 1/],
    ["MaxPool2d(0)", () => new nn.MaxPool2d(0), ValueError, /MaxPool2d kernel_size must be an integer from 1/],
    ["MaxPool2d padding 2 for kernel 2", () => new nn.MaxPool2d(2, { padding: 2 }), ValueError, /MaxPool2d: padding should be at most half of the kernel size/],
    ["AvgPool2d stride -1", () => new nn.AvgPool2d(2, { stride: -1 }), ValueError, /AvgPool2d stride must be an integer from 1/],
    ["AvgPool2d misspelled option", () => new nn.AvgPool2d(2, { pad: 1 } as never), ValueError, /AvgPool2d: unknown option 'pad'/],
    ["MaxPool2d ceilMode 1", () => new nn.MaxPool2d(2, { ceilMode: 1 as never }), ValueError, /MaxPool2d: ceilMode must be true or false, got number 1/],
    ["AvgPool2d ceilMode (max pooling only)", () => new nn.AvgPool2d(2, { ceilMode: true } as never), ValueError, /AvgPool2d: unknown option 'ceilMode'/],
    ["BatchNorm1d(0)", () => new nn.BatchNorm1d(0), ValueError, /BatchNorm1d: numFeatures must be a positive integer, got 0/],
    ["BatchNorm2d eps -1", () => new nn.BatchNorm2d(3, { eps: -1 }), ValueError, /BatchNorm2d: eps must be a finite number ≥ 0, got number -1/],
    ["BatchNorm2d momentum 1.5", () => new nn.BatchNorm2d(3, { momentum: 1.5 }), ValueError, /BatchNorm2d: momentum must be a finite number from 0 to 1/],
    ["BatchNorm2d affine 1", () => new nn.BatchNorm2d(3, { affine: 1 as never }), ValueError, /BatchNorm2d: affine must be true or false/],
    ["Dropout(-0.1)", () => new nn.Dropout(-0.1), ValueError, /Dropout: probability has to be between 0 and 1, but got -0.1/],
    ["Dropout(NaN)", () => new nn.Dropout(NaN), ValueError, /Dropout: probability has to be between 0 and 1, but got NaN/],
    ["Flatten(0.5)", () => new nn.Flatten(0.5), ValueError, /Flatten: startDim must be an integer/],
    ["Softmax(1.5)", () => new nn.Softmax(1.5), ValueError, /Softmax: dim must be an integer/],
    [
      "CrossEntropyLoss reduction 'avg'",
      () => new nn.CrossEntropyLoss({ reduction: "avg" as never }),
      ValueError,
      /CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got "avg"/,
    ],
    [
      "MSELoss misspelled option",
      () => new nn.MSELoss({ reductio: "sum" } as never),
      ValueError,
      /MSELoss: unknown option 'reductio' \(expected 'reduction'\)/,
    ],
    ["Sequential of a number", () => new nn.Sequential(1 as never), ValueError, /Sequential: element '0' is not a Module/],
  ]);

  table("forward() with the wrong input; loadStateDict with the wrong state", () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
    const sd = model.stateDict();
    const good = Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, { shape: [...t.shape], data: t.data.slice() }]));
    return [
      [
        "images not flattened",
        () => model(f32([2, 28, 28])),
        ShapeError,
        /linear: input of shape \[2, 28, 28\] does not fit weight \[128, 784\]: expected last dimension 784/,
      ],
      ["int32 images", () => model(tensor(new Int32Array(784), { shape: [1, 784] })), DTypeError, /linear: input must be float32, got int32/],
      ["a model on another backend", () => model(zeros([1, 784], { backend: other })), BackendMismatchError, /linear: tensors live on different backends/],
      ["images of a number", () => model(3 as never), ValueError, /linear: argument 1 must be a Tensor, got number 3/],
      [
        "a weight of the wrong shape",
        () => model.loadStateDict({ ...good, "0.weight": { shape: [128, 783], data: new Float32Array(128 * 783) } }),
        ShapeError,
        /loadStateDict: size mismatch for 0\.weight: got shape \[128, 783\], the model has \[128, 784\]/,
      ],
      [
        "data shorter than its shape",
        () => model.loadStateDict({ ...good, "2.bias": { shape: [10], data: new Float32Array(9) } }),
        ShapeError,
        /loadStateDict: 2\.bias has shape \[10\] but 9 values \(expected 10\)/,
      ],
      [
        "data that is not an array",
        () => model.loadStateDict({ ...good, "2.bias": { shape: [10], data: 5 as never } }),
        ValueError,
        /loadStateDict: 2\.bias must be a Tensor or \{shape, data\}, got an object/,
      ],
      ["a missing key", () => model.loadStateDict({ ...good, "2.bias": undefined as never }), ValueError, /loadStateDict: missing keys: 2\.bias/],
      [
        "an unexpected key named like an Object method",
        () => model.loadStateDict({ ...good, constructor: { shape: [1], data: [0] } }),
        ValueError,
        /loadStateDict: unexpected keys: constructor/,
      ],
      ["strict 'yes'", () => model.loadStateDict(good, { strict: "yes" as never }), ValueError, /loadStateDict: strict must be true or false, got "yes"/],
      ["null", () => model.loadStateDict(null as never), ValueError, /loadStateDict: expected an object of name → tensor, got null/],
      ["a Tensor", () => model.loadStateDict(f32([1]) as never), ValueError, /loadStateDict: expected an object of name → tensor, got a Tensor/],
    ];
  });
});

describe("optimizers and schedulers", () => {
  const params = () => new nn.Linear(3, 2).parameters();

  table("SGD, Adam and AdamW options", () => {
    const nonLeaf = zeros([2], { requiresGrad: true }).mul(2);
    return [
      ["SGD lr -1", () => new optim.SGD(params(), { lr: -1 }), ValueError, /SGD: invalid learning rate -1 \(expected a finite number ≥ 0\)/],
      ["SGD lr NaN", () => new optim.SGD(params(), { lr: NaN }), ValueError, /SGD: invalid learning rate NaN/],
      ["SGD lr Infinity", () => new optim.SGD(params(), { lr: Infinity }), ValueError, /SGD: invalid learning rate Infinity/],
      ["SGD lr '0.1'", () => new optim.SGD(params(), { lr: "0.1" as never }), ValueError, /SGD: invalid learning rate "0.1"/],
      ["SGD momentum -0.5", () => new optim.SGD(params(), { momentum: -0.5 }), ValueError, /SGD: invalid momentum -0.5/],
      [
        "SGD nesterov without momentum",
        () => new optim.SGD(params(), { nesterov: true }),
        ValueError,
        /SGD: Nesterov momentum requires a momentum > 0 and zero dampening/,
      ],
      [
        "SGD nesterov 'true'",
        () => new optim.SGD(params(), { momentum: 0.9, nesterov: "true" as never }),
        ValueError,
        /SGD: nesterov must be true or false, got "true"/,
      ],
      ["SGD dampening NaN", () => new optim.SGD(params(), { dampening: NaN }), ValueError, /SGD: invalid dampening NaN/],
      [
        "SGD misspelled option",
        () => new optim.SGD(params(), { learningRate: 0.1 } as never),
        ValueError,
        /SGD: unknown option 'learningRate' \(expected 'lr', 'momentum'/,
      ],
      ["SGD of no parameters", () => new optim.SGD([]), ValueError, /SGD: got an empty parameter list/],
      [
        "SGD of a single tensor",
        () => new optim.SGD(f32([2]) as never),
        ValueError,
        /SGD: params must be an iterable of tensors .* got a single Tensor; pass \[tensor\]/,
      ],
      ["SGD of undefined", () => new optim.SGD(undefined as never), ValueError, /SGD: params must be an iterable of tensors .* got undefined/],
      ["SGD of a non-leaf", () => new optim.SGD([nonLeaf]), ValueError, /SGD: parameter 0 of shape \[2\] is not a leaf tensor/],
      [
        "SGD of an int32 tensor",
        () => new optim.SGD([i32([1])]),
        DTypeError,
        /SGD: parameter 0 of shape \[1\] is int32; only float32 tensors can be optimized/,
      ],
      [
        "SGD of a parameter listed twice",
        () => {
          const p = params();
          return new optim.SGD([p[0], p[0]]);
        },
        ValueError,
        /some parameters appear in more than one parameter group/,
      ],
      [
        "SGD of numbers",
        () => new optim.SGD([1, 2] as never),
        ValueError,
        /SGD: a parameter group must be \{params: \[tensors\], \.\.\.options\}, got number 1/,
      ],
      [
        "Adam betas of one value",
        () => new optim.Adam(params(), { betas: [0.9] as never }),
        ValueError,
        /Adam: betas must be a pair \[beta1, beta2\], got an array of 1/,
      ],
      [
        "Adam beta1 = 1",
        () => new optim.Adam(params(), { betas: [1, 0.999] }),
        ValueError,
        /Adam: invalid beta parameter at index 0: 1 \(expected 0 ≤ beta < 1\)/,
      ],
      ["Adam betas 'x'", () => new optim.Adam(params(), { betas: "x" as never }), ValueError, /Adam: betas must be a pair/],
      ["Adam eps -1", () => new optim.Adam(params(), { eps: -1 }), ValueError, /Adam: invalid eps -1/],
      ["Adam amsgrad 'no'", () => new optim.Adam(params(), { amsgrad: "no" as never }), ValueError, /Adam: amsgrad must be true or false/],
      ["AdamW weightDecay NaN", () => new optim.AdamW(params(), { weightDecay: NaN }), ValueError, /AdamW: invalid weightDecay NaN/],
      ["AdamW misspelled option", () => new optim.AdamW(params(), { weight_decay: 0.1 } as never), ValueError, /AdamW: unknown option 'weight_decay'/],
      ["a param group with lr -1", () => new optim.SGD([{ params: params(), lr: -1 }]), ValueError, /SGD: invalid learning rate -1/],
    ];
  });

  table("optimizer.step() checks every gradient before updating any parameter", () => {
    const p = params();
    const opt = new optim.SGD(p, { lr: 0.1, momentum: 0.9 });
    const set = (g: Tensor) => () => {
      p[0].grad = f32([2, 3]); // a good one first: it must not be updated either
      p[1].grad = g;
      opt.step();
    };
    return [
      [
        "a gradient of the wrong shape",
        set(f32([3])),
        ShapeError,
        /SGD\.step: the gradient of parameter 1 of group 0 \(shape \[2\]\) has shape \[3\], expected \[2\]/,
      ],
      ["an int32 gradient", set(i32([1, 2])), DTypeError, /SGD\.step: the gradient of parameter 1 of group 0 \(shape \[2\]\) is int32, expected float32/],
      [
        "a gradient on another backend",
        set(zeros([2], { backend: other })),
        BackendMismatchError,
        /SGD\.step: the gradient of parameter 1 of group 0 \(shape \[2\]\) lives on another backend \(js\)/,
      ],
      [
        "a gradient that is an array",
        set([1, 2] as never),
        ValueError,
        /SGD\.step: the gradient of parameter 1 of group 0 \(shape \[2\]\) is an array of 2, not a Tensor/,
      ],
    ];
  });

  table("LR scheduler options", () => {
    const opt = new optim.SGD(params(), { lr: 0.1, momentum: 0.9 });
    const S = optim.lrScheduler;
    return [
      ["StepLR stepSize 0", () => new S.StepLR(opt, { stepSize: 0 }), ValueError, /StepLR: invalid stepSize 0 \(expected a positive integer\)/],
      ["StepLR stepSize 1.5", () => new S.StepLR(opt, { stepSize: 1.5 }), ValueError, /StepLR: invalid stepSize 1.5/],
      ["StepLR gamma NaN", () => new S.StepLR(opt, { stepSize: 2, gamma: NaN }), ValueError, /StepLR: invalid gamma NaN/],
      [
        "StepLR misspelled option",
        () => new S.StepLR(opt, { step_size: 2 } as never),
        ValueError,
        /StepLR: unknown option 'step_size' \(expected 'stepSize', 'gamma'\)/,
      ],
      [
        "MultiStepLR milestones [1.5]",
        () => new S.MultiStepLR(opt, { milestones: [1.5] }),
        ValueError,
        /MultiStepLR: milestones must be a list of integer epochs, got \[1.5\]/,
      ],
      ["ExponentialLR gamma Infinity", () => new S.ExponentialLR(opt, { gamma: Infinity }), ValueError, /ExponentialLR: invalid gamma Infinity/],
      ["CosineAnnealingLR TMax 0", () => new S.CosineAnnealingLR(opt, { TMax: 0 }), ValueError, /CosineAnnealingLR: invalid TMax 0/],
      [
        "OneCycleLR without a length",
        () => new S.OneCycleLR(opt, { maxLr: 0.1 }),
        ValueError,
        /OneCycleLR: you must define either totalSteps OR \(epochs AND stepsPerEpoch\)/,
      ],
      [
        "OneCycleLR pctStart 1.5",
        () => new S.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, pctStart: 1.5 }),
        ValueError,
        /OneCycleLR: invalid pctStart 1.5 \(expected 0 ≤ pctStart ≤ 1\)/,
      ],
      [
        "OneCycleLR divFactor 0 (was: an infinite initial lr)",
        () => new S.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, divFactor: 0 }),
        ValueError,
        /OneCycleLR: divFactor and finalDivFactor must be > 0, got 0 and 10000/,
      ],
      [
        "OneCycleLR annealStrategy 'exp'",
        () => new S.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, annealStrategy: "exp" as never }),
        ValueError,
        /annealStrategy must be one of 'cos', 'linear', got "exp"/,
      ],
      [
        "OneCycleLR maxLr -1",
        () => new S.OneCycleLR(opt, { maxLr: -1, totalSteps: 10 }),
        ValueError,
        /OneCycleLR: maxLr must be a finite number ≥ 0 or one per parameter group, got -1/,
      ],
      [
        "ReduceLROnPlateau factor 1",
        () => new S.ReduceLROnPlateau(opt, { factor: 1 }),
        ValueError,
        /ReduceLROnPlateau: invalid factor 1 \(expected 0 ≤ factor < 1\)/,
      ],
      ["ReduceLROnPlateau patience -1", () => new S.ReduceLROnPlateau(opt, { patience: -1 }), ValueError, /ReduceLROnPlateau: invalid patience -1/],
      [
        "ReduceLROnPlateau mode 'avg'",
        () => new S.ReduceLROnPlateau(opt, { mode: "avg" as never }),
        ValueError,
        /ReduceLROnPlateau: mode must be one of 'min', 'max', got "avg"/,
      ],
      [
        "ReduceLROnPlateau step('x')",
        () => new S.ReduceLROnPlateau(opt).step("x" as never),
        ValueError,
        /ReduceLROnPlateau\.step: expected a number or a one-element tensor, got string/,
      ],
    ];
  });

  table("gradient clipping", () => {
    const p = params();
    return [
      ["maxNorm NaN", () => nn.utils.clipGradNorm_(p, NaN), ValueError, /clipGradNorm_: invalid maxNorm NaN/],
      [
        "normType -1",
        () =>
          nn.utils.clipGradNorm_(
            p.map((q) => {
              q.grad = zeros(q.shape);
              return q;
            }),
            1,
            -1,
          ),
        ValueError,
        /clipGradNorm_: unsupported normType -1 \(expected a number > 0, Infinity or "inf"\)/,
      ],
      ["clipValue NaN", () => nn.utils.clipGradValue_(p, NaN), ValueError, /clipGradValue_: invalid clipValue NaN/],
      [
        "parameters of a number",
        () => nn.utils.clipGradNorm_(5 as never, 1),
        ValueError,
        /expected a tensor or an iterable of tensors \(model\.parameters\(\)\), got number 5/,
      ],
    ];
  });
});

describe("data", () => {
  const dataset = () => new data.TensorDataset(f32([10, 3]), i32([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]));

  table("DataLoader options", () => [
    ["batchSize 0", () => new DataLoader(dataset(), { batchSize: 0 }), ValueError, /DataLoader: batchSize must be a positive integer, got number 0/],
    ["batchSize 1.5", () => new DataLoader(dataset(), { batchSize: 1.5 }), ValueError, /batchSize must be a positive integer, got number 1.5/],
    ["batchSize NaN", () => new DataLoader(dataset(), { batchSize: NaN }), ValueError, /batchSize must be a positive integer, got number NaN/],
    ["batchSize '10'", () => new DataLoader(dataset(), { batchSize: "10" as never }), ValueError, /batchSize must be a positive integer, got "10"/],
    ["shuffle 'yes'", () => new DataLoader(dataset(), { shuffle: "yes" as never }), ValueError, /DataLoader: shuffle must be true or false, got "yes"/],
    ["dropLast 1", () => new DataLoader(dataset(), { dropLast: 1 as never }), ValueError, /DataLoader: dropLast must be true or false, got number 1/],
    ["generator {}", () => new DataLoader(dataset(), { generator: {} as never }), ValueError, /DataLoader: generator must be a Generator, got an object/],
    ["collate 3", () => new DataLoader(dataset(), { collate: 3 as never }), ValueError, /DataLoader: collate must be a function, got number 3/],
    [
      "batch_size (PyTorch's spelling)",
      () => new DataLoader(dataset(), { batch_size: 10 } as never),
      ValueError,
      /DataLoader: unknown option 'batch_size' \(expected 'batchSize', 'shuffle', 'dropLast', 'generator', 'collate'\)/,
    ],
    [
      "a dataset that is an array",
      () => new DataLoader([1, 2, 3] as never),
      ValueError,
      /DataLoader: dataset must be a Dataset \(a non-negative integer length and getItem\(i\)\), got an array of 3/,
    ],
    [
      "loadStateDict of another loader",
      () => new DataLoader(dataset(), { batchSize: 2 }).loadStateDict({ samples: 10, batchSize: 3, generator: null, batchesDone: 1 }),
      ValueError,
      /DataLoader\.loadStateDict: the state is for 10 samples in batches of 3, this loader has 10 in batches of 2/,
    ],
    [
      "loadStateDict with an all-zero generator",
      () =>
        new DataLoader(dataset(), { batchSize: 2 }).loadStateDict({
          samples: 10,
          batchSize: 2,
          generator: { words: [0, 0, 0, 0], spareNormal: null },
          batchesDone: 1,
        }),
      ValueError,
      /DataLoader\.loadStateDict: generator must be null or \{words: \[4 uint32, not all 0\]/,
    ],
  ]);

  table("datasets, subsets and splits", () => [
    [
      "TensorDataset of different lengths",
      () => new data.TensorDataset(f32([10, 3]), i32([1, 2])),
      ShapeError,
      /TensorDataset: size mismatch between tensors: \[10, 3\] vs \[2\]/,
    ],
    ["TensorDataset of arrays", () => new data.TensorDataset([1, 2] as never), ValueError, /TensorDataset: argument 1 must be a Tensor/],
    ["getItem(-1)", () => dataset().getItem(-1), ValueError, /TensorDataset: index -1 out of range for 10 samples/],
    ["getItem(1.5)", () => dataset().getItem(1.5), ValueError, /index 1.5 out of range/],
    ["getBatch with an index out of range", () => dataset().getBatch(Int32Array.from([0, 10])), ValueError, /index 10 out of range for 10 samples/],
    [
      "Subset index 10 of 10",
      () => new data.Subset(dataset(), Int32Array.from([0, 10])),
      ValueError,
      /Subset: index number 10 at position 1 is out of range for a dataset of 10 samples/,
    ],
    [
      "Subset of a number",
      () => new data.Subset(dataset(), 3 as never),
      ValueError,
      /Subset: indices must be an Int32Array or an array of integers, got number 3/,
    ],
    [
      "randomSplit of fractions over 1",
      () => data.randomSplit(dataset(), [0.5, 0.6]),
      ValueError,
      /randomSplit: lengths \[0.5, 0.6\] do not add up to the dataset size 10/,
    ],
    [
      "randomSplit with a negative length",
      () => data.randomSplit(dataset(), [-1, 11]),
      ValueError,
      /randomSplit: lengths must be a non-empty list of non-negative numbers/,
    ],
    ["randomSplit with NaN", () => data.randomSplit(dataset(), [NaN, 10]), ValueError, /non-negative numbers/],
    [
      "MNIST images without labels",
      () => new datasets.MNIST({ images: new Uint8Array(16) }),
      ValueError,
      /MNIST: pass both images and labels \(the two IDX files' bytes\), or neither/,
    ],
    ["MNIST train 'yes'", () => new datasets.MNIST({ train: "yes" as never }), ValueError, /MNIST: train must be true or false, got "yes"/],
    [
      "MNIST transform 3",
      () => new datasets.MNIST({ transform: 3 as never }),
      ValueError,
      /MNIST: transform must be a transform \(an object with apply\(\)\), got number 3/,
    ],
    [
      "MNIST bytes as a string",
      () => new datasets.MNIST({ images: "x" as never, labels: "y" as never }),
      ValueError,
      /MNIST: images must be the IDX file's bytes \(Uint8Array or ArrayBuffer\), got "x"/,
    ],
    ["MNIST misspelled option", () => new datasets.MNIST({ transforms: [] } as never), ValueError, /MNIST: unknown option 'transforms'/],
    ["parseIdx of a string", () => data.parseIdx("abc" as never, "x"), ValueError, /parseIdx: expected the file's bytes as a Uint8Array, got "abc"/],
  ]);

  table("transforms", () => {
    const img = { data: new Float32Array(12), shape: [3, 2, 2] };
    return [
      ["Normalize std 0", () => new transforms.Normalize([0.5], [0]), ValueError, /Normalize: std evaluated to zero, leading to division by zero/],
      ["Normalize mean NaN", () => new transforms.Normalize([NaN], [1]), ValueError, /Normalize: mean\[0\] must be a finite number, got number NaN/],
      ["Normalize std '1'", () => new transforms.Normalize([0], ["1"] as never), ValueError, /Normalize: std\[0\] must be a finite number, got "1"/],
      ["Normalize of 2 means and 1 std", () => new transforms.Normalize([0.5, 0.5], [0.5]), ValueError, /Normalize: mean has 2 channels, std has 1/],
      ["Normalize of nothing", () => new transforms.Normalize([], []), ValueError, /Normalize: mean must have at least one value/],
      [
        "Normalize of bytes",
        () => new transforms.Normalize([0.5], [0.5]).apply({ data: new Uint8Array(4), shape: [1, 2, 2] }),
        ValueError,
        /Normalize: expects float32 input \(apply ToTensor first\)/,
      ],
      [
        "Normalize of data shorter than its shape",
        () => new transforms.Normalize([0.5], [0.5]).apply({ data: new Float32Array(3), shape: [1, 2, 2] }),
        ShapeError,
        /Normalize: shape \[1, 2, 2\] holds 4 values, the data has 3/,
      ],
      [
        "Normalize of 2 channels for a 3-channel image",
        () => new transforms.Normalize([0.5, 0.5], [0.5, 0.5]).apply(img),
        ShapeError,
        /Normalize: 2 mean\/std values for an image with 3 channels/,
      ],
      [
        "ToTensor of a 1-D array",
        () => new transforms.ToTensor().apply({ data: new Uint8Array(4), shape: [4] }),
        ShapeError,
        /ToTensor: expected an image \[H, W\] or \[H, W, C\], got shape \[4\]/,
      ],
      [
        "ToTensor of data longer than its shape (was: RangeError)",
        () => new transforms.ToTensor().apply({ data: new Uint8Array(5), shape: [2, 2] }),
        ShapeError,
        /ToTensor: shape \[2, 2\] holds 4 values, the data has 5/,
      ],
      [
        "ToTensor of a plain array",
        () => new transforms.ToTensor().apply({ data: [1, 2, 3, 4] as never, shape: [2, 2] }),
        ValueError,
        /ToTensor: expected an image \{data: Float32Array or Uint8Array, shape\}/,
      ],
      [
        "Compose of a number",
        () => new transforms.Compose([1 as never]),
        ValueError,
        /Compose: element 0 is not a transform \(an object with apply\(\)\), got number 1/,
      ],
      ["Compose of a string", () => new transforms.Compose("x" as never), ValueError, /Compose: expected a list of transforms, got "x"/],
      ["Lambda of a number", () => new transforms.Lambda(3 as never), ValueError, /Lambda: fn must be a function, got number 3/],
      [
        "RandomAffine degrees NaN",
        () => new transforms.RandomAffine({ degrees: NaN }),
        ValueError,
        /RandomAffine: degrees must be a finite number d \(for \(-d, d\)\) or a range \[lo, hi\], got number NaN/,
      ],
      [
        "RandomAffine translate [2, 0]",
        () => new transforms.RandomAffine({ degrees: 10, translate: [2, 0] }),
        ValueError,
        /RandomAffine: translate must be a pair of fractions between 0 and 1/,
      ],
      [
        "RandomAffine scale [0, 1]",
        () => new transforms.RandomAffine({ degrees: 0, scale: [0, 1] }),
        ValueError,
        /RandomAffine: scale should be a positive range \[lo, hi\]/,
      ],
      [
        "RandomAffine fill NaN",
        () => new transforms.RandomAffine({ degrees: 0, fill: NaN }),
        ValueError,
        /RandomAffine: fill must be a finite number, got number NaN/,
      ],
      [
        "RandomAffine misspelled option",
        () => new transforms.RandomAffine({ degrees: 0, shear: 5 } as never),
        ValueError,
        /RandomAffine: unknown option 'shear'/,
      ],
      [
        "RandomAffine generator {}",
        () => new transforms.RandomAffine({ degrees: 0, generator: {} as never }),
        ValueError,
        /RandomAffine: generator must be a Generator/,
      ],
      ["RandomCrop(0)", () => new transforms.RandomCrop(0), ValueError, /RandomCrop: size must be positive integers and padding a non-negative integer/],
      ["RandomCrop padding -1", () => new transforms.RandomCrop(28, { padding: -1 }), ValueError, /RandomCrop: size must be positive integers/],
      [
        "RandomCrop size [1]",
        () => new transforms.RandomCrop([1] as never),
        ValueError,
        /RandomCrop: size must be an integer or a pair \[h, w\], got an array of 1/,
      ],
      [
        "RandomCrop larger than the image",
        () => new transforms.RandomCrop(5).apply({ data: new Float32Array(4), shape: [2, 2] }),
        ShapeError,
        /RandomCrop: crop 5×5 is larger than the padded image 2×2/,
      ],
      [
        "RandomCrop of a 4-D array",
        () => new transforms.RandomCrop(1).apply({ data: new Float32Array(4), shape: [1, 1, 2, 2] }),
        ShapeError,
        /RandomCrop: expected an image \[H, W\] or \[C, H, W\], got shape \[1, 1, 2, 2\]/,
      ],
      [
        "warpBatch of a 3-D batch",
        () => transforms.warpBatch(f32([1, 2, 2]), new transforms.RandomCrop(1), [0]),
        ShapeError,
        /warpBatch: expected a float32 batch \(N, C, H, W\), got a Tensor of shape \[1, 2, 2\]/,
      ],
      [
        "warpBatch with too few fills",
        () => transforms.warpBatch(f32([1, 2, 2, 2]), new transforms.RandomCrop(1), [0]),
        ValueError,
        /warpBatch: expected 2 fill values \(one per channel\), got an array of 1/,
      ],
    ];
  });

  table("backends", () => [
    ["setBackend('gpu')", () => setBackend("gpu" as never), ValueError, /setBackend: unknown backend 'gpu' \(expected 'wasm' or 'js'\)/],
    ["setNumThreads(0)", () => setNumThreads(0), ValueError, /setNumThreads: expected an integer from 1 to 256, got 0/],
    [
      "createBackend maxMemoryBytes NaN",
      () => createBackend("wasm", { maxMemoryBytes: NaN }),
      ValueError,
      /createBackend: maxMemoryBytes must be a number of bytes ≥ 65536 \(one wasm page\), got NaN/,
    ],
    ["createBackend maxMemoryBytes 100", () => createBackend("js", { maxMemoryBytes: 100 }), ValueError, /maxMemoryBytes must be a number of bytes ≥ 65536/],
  ]);
});

describe("init, modes and io", () => {
  table("nn.init, train()/eval(), requiresGrad, noGrad", () => {
    const w = zeros([3, 4]);
    const model = new nn.Linear(2, 2);
    return [
      [
        "calculateGain of an unknown nonlinearity (was: undefined, so NaN weights)",
        () => nn.init.calculateGain("swish" as never),
        ValueError,
        /calculateGain: unsupported nonlinearity "swish"/,
      ],
      ["uniform_ with low NaN", () => nn.init.uniform_(w, NaN, 1), ValueError, /uniform_: low must be a finite number, got number NaN/],
      ["normal_ with std Infinity", () => nn.init.normal_(w, 0, Infinity), ValueError, /normal_: std must be a finite number/],
      ["normal_ of an array", () => nn.init.normal_([1, 2] as never), ValueError, /normal_: expected a Tensor, got an array of 2/],
      [
        "kaimingUniform_ mode 'fan_x'",
        () => nn.init.kaimingUniform_(w, { mode: "fan_x" as never }),
        ValueError,
        /kaimingUniform_: mode must be 'fan_in' or 'fan_out', got "fan_x"/,
      ],
      ["constant_ with a string", () => nn.init.constant_(w, "1" as never), ValueError, /constant_: value must be a number, got "1"/],
      ["train('no')", () => model.train("no" as never), ValueError, /Linear\.train: mode must be true or false, got "no"/],
      ["requiresGrad_(1)", () => model.requiresGrad_(1 as never), ValueError, /Linear\.requiresGrad_: requiresGrad must be true or false, got number 1/],
      [
        "tensor.requiresGrad = 'yes'",
        () => {
          w.requiresGrad = "yes" as never;
        },
        ValueError,
        /requiresGrad must be true or false, got "yes"/,
      ],
      ["noGrad of a value", () => noGradOf(3), ValueError, /noGrad\(fn\): expected a function, got number/],
    ];
  });

  table("safetensors and checkpoints: arguments", () => {
    const model = new nn.Linear(2, 2);
    const good = io.saveCheckpoint(null, { model });
    return [
      [
        "saveSafetensors(null)",
        () => io.saveSafetensors(null as never),
        ValueError,
        /saveSafetensors: expected an object of name → tensor \(model\.stateDict\(\)\), got null/,
      ],
      [
        "saveSafetensors of a number value",
        () => io.saveSafetensors({ w: 3 as never }),
        ValueError,
        /saveSafetensors: tensor "w" must be a Tensor or \{shape, data\}, got number 3/,
      ],
      [
        "saveSafetensors of data not filling the shape",
        () => io.saveSafetensors({ w: { shape: [2, 2], data: [1, 2, 3] } }),
        ValueError,
        /saveSafetensors: tensor "w" has 3 values for shape \[2, 2\] \(4 elements\)/,
      ],
      [
        "saveSafetensors with metadata of numbers",
        () => io.saveSafetensors(model.stateDict(), undefined, { metadata: { epoch: 3 as never } }),
        ValueError,
        /saveSafetensors: metadata\["epoch"\] must be a string, got number/,
      ],
      [
        "loadSafetensors(5)",
        () => io.loadSafetensors(5 as never),
        ValueError,
        /loadSafetensors: expected a path or the file's bytes \(Uint8Array or ArrayBuffer\), got number 5/,
      ],
      ["loadCheckpoint(5)", () => io.loadCheckpoint(5 as never, { model }), ValueError, /loadCheckpoint: expected a path or the file's bytes, got number 5/],
      ["loadCheckpoint into no model", () => io.loadCheckpoint(good, {} as never), ValueError, /loadCheckpoint: model must be an nn\.Module, got undefined/],
      [
        "loadCheckpoint with rng {}",
        () => io.loadCheckpoint(good, { model, rng: {} as never }),
        ValueError,
        /loadCheckpoint: rng must be a Generator, got an object/,
      ],
      [
        "saveCheckpoint with epoch -1",
        () => io.saveCheckpoint(null, { model, epoch: -1 }),
        ValueError,
        /saveCheckpoint: epoch must be an integer ≥ 0, got number -1/,
      ],
      [
        "saveCheckpoint with an optimizer that is not one",
        () => io.saveCheckpoint(null, { model, optimizer: {} as never }),
        ValueError,
        /saveCheckpoint: optimizer must be an optimizer/,
      ],
      [
        "saveCheckpoint with extra that JSON cannot hold",
        () => io.saveCheckpoint(null, { model, extra: { n: 1n } }),
        ValueError,
        /saveCheckpoint: the checkpoint's state is not JSON-serialisable/,
      ],
      [
        "a checkpoint for another model",
        () => io.loadCheckpoint(good, { model: new nn.Linear(2, 3) }),
        ShapeError,
        /^checkpoint bytes: loadStateDict: size mismatch for weight: got shape \[2, 2\], the model has \[3, 2\]/,
      ],
    ];
  });
});

describe("after all of that", () => {
  it("nothing changed that matters: the library trains on the same backend", () => {
    manualSeed(1);
    const g = new Generator(3);
    const x = tensor(
      Array.from({ length: 64 * 6 }, () => g.normal()),
      { shape: [64, 6] },
    );
    const y = tensor(Int32Array.from({ length: 64 }, (_, i) => (x.data[i * 6] > 0 ? 1 : 0)));
    const model = new nn.Sequential(new nn.Linear(6, 16), new nn.ReLU(), new nn.Linear(16, 2));
    const opt = new optim.SGD(model.parameters(), { lr: 0.5 });
    const criterion = new nn.CrossEntropyLoss();
    const losses: number[] = [];
    spy.reset();
    for (let i = 0; i < 30; i++) {
      opt.zeroGrad();
      const loss = criterion(model(x), y);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    expect(spy.calls()).toBeGreaterThan(100); // the counting backend did run these
    expect(losses[29]).toBeLessThan(0.5 * losses[0]);
  });
});
