// Tensor = shape + strides + dtype + a place in one backend's memory (+ autograd bookkeeping).
//
// Layout: a tensor reads its elements at `offset` + Σ index·stride (strides in elements) of a
// Storage (one heap block). Ops that PyTorch makes views (transpose, permute, expand, narrow,
// select, slice, unsqueeze, squeeze, view, ...) make views here too: new strides over the same
// storage, no copy. Kernels want contiguous memory, so an op reading a non-contiguous input first
// copies it with one strided-copy kernel (copy on need; see src/ops/layout.ts); `.ptr` refuses
// non-contiguous tensors so no kernel can read a view as if it were dense.
//
// Dtypes: float32, int32 and bool; every element is 4 bytes (bool is stored as int32 0/1), so
// copies and views never depend on the dtype.
//
// Module cycle: this file imports src/ops (for the methods) and src/autograd.ts (for backward),
// and both import Tensor from here. ES modules allow the cycle because no module touches
// another's bindings while it is being evaluated: the imports are only used inside functions
// and methods, which run after every module has loaded.
import type { Backend } from "./backend/backend.js";
import { getBackend } from "./backend/current.js";
import { BackendMismatchError, DTypeError, ReleasedTensorError, ShapeError, ValueError, shapeStr } from "./errors.js";
import { Storage, allocStorage, factoryScope, noGrad, type Scope } from "./lifetime.js";
import type { GradNode } from "./autograd.js";
import { runBackward } from "./autograd.js";
import { defaultGenerator, type Generator } from "./random.js";
import { checkArgCount, checkGenerator, checkOptions, describe } from "./check.js";
import { MAX_NDIM, contiguousStrides, isContiguousLayout, normDim } from "./layout.js";
import * as ops from "./ops/index.js";
import type { IndexItem } from "./ops/indexing.js";
import type { NormOrder } from "./ops/reduce.js";

/** Element types: float32, int32 and bool (stored as int32 0/1). */
export type DType = "float32" | "int32" | "bool";
/** A tensor shape: one size per dim. */
export type Shape = readonly number[];
/** Nested arrays of numbers or booleans, as tensor() takes them. */
export type NestedArray = number | boolean | NestedArray[];

const DTYPES: readonly DType[] = ["float32", "int32", "bool"];

/**
 * Values and indices of a max/min along a dim, like torch's namedtuple: `const { values, indices }
 * = x.max(1)`, `const [v, i] = x.max(1)` and `x.max(1)[0]` all work.
 */
export class ValuesIndices {
  readonly 0: Tensor;
  readonly 1: Tensor;
  readonly length = 2;
  constructor(
    readonly values: Tensor,
    readonly indices: Tensor,
  ) {
    checkArgCount("ValuesIndices", arguments, 2);
    this[0] = values;
    this[1] = indices;
  }
  /** values, then indices: `const [values, indices] = x.max(1)`. */
  *[Symbol.iterator](): Iterator<Tensor> {
    yield this.values;
    yield this.indices;
  }
}

/** A tensor: shape, strides and dtype over a block of one backend's memory, tracked by autograd. */
export class Tensor {
  readonly shape: Shape;
  /** Steps in elements between neighbours along each dim (PyTorch's stride()). */
  readonly strides: Shape;
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** @internal the memory block (shared by views) */
  readonly storage: Storage;
  /** @internal byte offset of element 0 inside the storage */
  readonly offset: number;
  /** Gradient accumulated by backward() (leaf tensors with requiresGrad). */
  grad: Tensor | null = null;
  /** @internal the operation that produced this tensor, for backward() */
  node: GradNode | null = null;
  private requires = false;
  private readonly dense: boolean;

  /** @internal use the factories (tensor, zeros, randn, ...) or ops instead. */
  constructor(storage: Storage, shape: Shape, dtype: DType, offset = 0, strides?: Shape) {
    checkArgCount("Tensor", arguments, 5);
    if (shape.length > MAX_NDIM) throw new ShapeError(`tensors have at most ${MAX_NDIM} dimensions, got shape ${shapeStr(shape)}`);
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides === undefined ? contiguousStrides(shape) : [...strides]);
    this.dtype = dtype;
    this.size = numel(shape);
    this.offset = offset;
    this.dense = isContiguousLayout(this.shape, this.strides);
  }

  /** Whether autograd tracks this tensor (PyTorch's requires_grad). Only leaves may be set. */
  get requiresGrad(): boolean {
    return this.requires;
  }
  /** Sets requires_grad; only leaf tensors may be set. */
  set requiresGrad(value: boolean) {
    if (typeof value !== "boolean") throw new ValueError(`requiresGrad must be true or false, got ${describe(value)}`);
    if (value && this.dtype !== "float32") {
      throw new DTypeError(`only float32 tensors can require gradients (this one is ${this.dtype})`);
    }
    if (!value && this.node !== null) {
      throw new ValueError("requiresGrad can only be changed on leaf tensors; use .detach() for a non-tracking view");
    }
    this.requires = value;
  }
  /** PyTorch's requires_grad_(): sets requiresGrad, returns this. */
  requiresGrad_(value = true): this {
    checkArgCount("requiresGrad_", arguments, 1);
    this.requiresGrad = value;
    return this;
  }

  /** True unless this tensor was produced by a recorded operation. */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** The backend (memory and kernels) this tensor lives on. */
  get backend(): Backend {
    return this.storage.backend;
  }

  /** Whether the elements lie in row-major order without gaps (PyTorch's is_contiguous()). */
  isContiguous(): boolean {
    checkArgCount("isContiguous", arguments, 0);
    return this.dense;
  }

  /** The stride of one dim, or all strides (PyTorch's stride()). */
  stride(dim?: number): number | number[] {
    checkArgCount("stride", arguments, 1);
    if (dim === undefined) return [...this.strides];
    return this.strides[normDim("stride", dim, this.ndim)];
  }

  /** @internal byte offset of element 0 in the backend's memory, for any layout; throws if released. */
  get basePtr(): number {
    const s = this.storage;
    if (s.released) {
      throw new ReleasedTensorError(
        `tensor of shape ${shapeStr(this.shape)} was released at ${s.releasedBy}; ` +
          `call .keep() (or .clone().keep()) on it to hold it longer, or copy it out with .toArray()`,
      );
    }
    return s.ptr + this.offset;
  }

  /** @internal byte offset of element 0 for a kernel that reads `size` dense elements. */
  get ptr(): number {
    const p = this.basePtr;
    if (!this.dense) {
      throw new ValueError(
        `internal: a kernel was handed a non-contiguous tensor (shape ${shapeStr(this.shape)}, strides ${shapeStr(this.strides)}); please report this wasmgrad bug`,
      );
    }
    return p;
  }

  /**
   * Zero-copy view of the elements (Float32Array, or Int32Array for int32 and bool), for
   * contiguous tensors. Valid until the next allocation may grow the memory; copy it
   * (toArray/slice) to keep it.
   */
  get data(): Float32Array | Int32Array {
    if (!this.dense) {
      throw new ValueError(
        `data: this tensor is a non-contiguous view (shape ${shapeStr(this.shape)}, strides ${shapeStr(this.strides)}); call .contiguous().data, or .toArray() for a copy`,
      );
    }
    const p = this.ptr >>> 2;
    const view = this.dtype === "float32" ? this.backend.f32() : this.backend.i32();
    return view.subarray(p, p + this.size);
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of dimensions (PyTorch's dim()). */
  dim(): number {
    checkArgCount("dim", arguments, 0);
    return this.shape.length;
  }
  /** Number of elements (PyTorch's numel()). */
  numel(): number {
    checkArgCount("numel", arguments, 0);
    return this.size;
  }

  /** The element at a flat row-major position, for any layout. */
  private at(flat: number): number {
    let o = 0;
    for (let d = this.shape.length - 1; d >= 0; d--) {
      const n = this.shape[d];
      o += (flat % n) * this.strides[d];
      flat = Math.floor(flat / n);
    }
    const p = (this.basePtr >>> 2) + o;
    return this.dtype === "float32" ? this.backend.f32()[p] : this.backend.i32()[p];
  }

  /** The value of a one-element tensor (bool as 1 or 0). */
  item(): number {
    checkArgCount("item", arguments, 0);
    if (this.size !== 1) {
      throw new ShapeError(`item(): only one-element tensors can be converted to a number, got shape ${shapeStr(this.shape)}`);
    }
    return this.at(0);
  }

  /** A flat row-major copy of the elements as a JS array (bool as 1/0). */
  toArray(): number[] {
    checkArgCount("toArray", arguments, 0);
    if (this.dense) return Array.from(this.data);
    return Array.from({ length: this.size }, (_, i) => this.at(i));
  }

  /** The elements as nested JS arrays shaped like the tensor (PyTorch's tolist(); bool as true/false). */
  tolist(): NestedArray {
    checkArgCount("tolist", arguments, 0);
    const flat = this.toArray();
    const bool = this.dtype === "bool";
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return bool ? flat[offset] !== 0 : flat[offset];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** A short description with the values of small tensors. */
  toString(): string {
    checkArgCount("toString", arguments, 0);
    const body = this.size <= 20 ? JSON.stringify(this.tolist()) : `${this.size} elements`;
    return `tensor(${body}, shape=${shapeStr(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ", requiresGrad" : ""})`;
  }

  /** Computes gradients of this tensor w.r.t. graph leaves (loss.backward()). */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    checkArgCount("backward", arguments, 2);
    checkOptions("backward", options, ["retainGraph"]);
    if (gradient !== undefined) requireFloat("backward", "gradient", gradient);
    runBackward(this, gradient, options?.retainGraph ?? false);
  }

  /** A view of the same memory that autograd does not track. */
  detach(): Tensor {
    checkArgCount("detach", arguments, 0);
    return new Tensor(this.storage, this.shape, this.dtype, this.offset, this.strides);
  }

  /** Moves this tensor's memory out of automatic release: it lives until dispose() (or GC). */
  keep(): this {
    checkArgCount("keep", arguments, 0);
    void this.basePtr; // throws if already released
    this.storage.persist();
    return this;
  }

  /** Frees the memory now (and that of every view sharing it). */
  dispose(): void {
    checkArgCount("dispose", arguments, 0);
    this.storage.free();
  }

  // ---- layout: views and copies (src/ops/layout.ts) ----
  /** The same elements in a new shape: a view when the layout allows, else a copy (torch.reshape). */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return ops.reshape(this, flattenShapeArgs("reshape", shape));
  }
  /** A view with a new shape; throws if the layout cannot be viewed so (torch.Tensor.view). */
  view(...shape: (number | readonly number[])[]): Tensor {
    return ops.view(this, flattenShapeArgs("view", shape));
  }
  /** Merges dims startDim..endDim into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    checkArgCount("flatten", arguments, 2);
    return ops.flatten(this, startDim, endDim);
  }
  /** Splits dim into `sizes` (one may be -1). */
  unflatten(dim: number, sizes: readonly number[]): Tensor {
    checkArgCount("unflatten", arguments, 2);
    return ops.unflatten(this, dim, sizes);
  }
  /** A contiguous copy in new memory; gradients flow back unchanged. */
  clone(): Tensor {
    checkArgCount("clone", arguments, 0);
    return ops.clone(this);
  }
  /** This tensor if contiguous, else a contiguous copy. */
  contiguous(): Tensor {
    checkArgCount("contiguous", arguments, 0);
    return ops.contiguous(this);
  }
  /** Swaps two dims (a view). */
  transpose(dim0: number, dim1: number): Tensor {
    checkArgCount("transpose", arguments, 2);
    return ops.transpose(this, dim0, dim1);
  }
  /** Reorders the dims (a view). */
  permute(...dims: (number | readonly number[])[]): Tensor {
    return ops.permute(this, flattenShapeArgs("permute", dims));
  }
  /** The dims reversed (a view; torch's .T). */
  get T(): Tensor {
    return ops.permute(
      this,
      this.shape.map((_, i) => this.ndim - 1 - i),
    );
  }
  /** The last two dims swapped (a view; torch's .mT). */
  get mT(): Tensor {
    if (this.ndim < 2) throw new ShapeError(`mT: expected a tensor with at least 2 dimensions, got shape ${shapeStr(this.shape)}`);
    return ops.transpose(this, -2, -1);
  }
  /** Inserts a dim of size 1 (a view). */
  unsqueeze(dim: number): Tensor {
    checkArgCount("unsqueeze", arguments, 1);
    return ops.unsqueeze(this, dim);
  }
  /** Removes dims of size 1: all of them, or the given one(s) (a view). */
  squeeze(dim?: number | readonly number[]): Tensor {
    checkArgCount("squeeze", arguments, 1);
    return ops.squeeze(this, dim);
  }
  /** Broadcasts size-1 dims to `shape` (-1 keeps a dim) without copying (stride 0). */
  expand(...shape: (number | readonly number[])[]): Tensor {
    return ops.expand(this, flattenShapeArgs("expand", shape));
  }
  /** expand to another tensor's shape. */
  expandAs(other: Tensor): Tensor {
    checkArgCount("expandAs", arguments, 1);
    return ops.expand(this, [...requireTensor("expandAs", other).shape]);
  }
  /** Moves dim `source` to position `destination` (a view). */
  movedim(source: number, destination: number): Tensor {
    checkArgCount("movedim", arguments, 2);
    return ops.movedim(this, source, destination);
  }
  /** view(other.shape). */
  viewAs(other: Tensor): Tensor {
    checkArgCount("viewAs", arguments, 1);
    return ops.view(this, [...requireTensor("viewAs", other).shape]);
  }
  /** Elements start..start+length-1 along dim (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    checkArgCount("narrow", arguments, 3);
    return ops.narrow(this, dim, start, length);
  }
  /** The slice at `index` along dim, without that dim (a view). */
  select(dim: number, index: number): Tensor {
    checkArgCount("select", arguments, 2);
    return ops.select(this, dim, index);
  }
  /** Python's x[start:end:step] along dim (a view; negative start/end count from the end). */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    checkArgCount("slice", arguments, 4);
    return ops.slice(this, dim, start, end, step);
  }
  /**
   * PyTorch indexing x[...]: numbers select, strings like ":" "1:3" "::2" slice, null inserts a
   * dim, "..." stands for the remaining dims, int32 tensors (or number arrays) gather, and bool
   * tensors mask. E.g. x.index(":", 0) is x[:, 0]; x.index("...", "1:") is x[..., 1:].
   */
  index(...items: IndexItem[]): Tensor {
    return ops.index(this, items);
  }
  /** Rows of dim picked by an int32 index vector. */
  indexSelect(dim: number, index: Tensor): Tensor {
    checkArgCount("indexSelect", arguments, 2);
    return ops.indexSelect(this, dim, index);
  }
  /** out[i][j] = x[i][index[i][j]] along dim (torch.gather). */
  gather(dim: number, index: Tensor): Tensor {
    checkArgCount("gather", arguments, 2);
    return ops.gather(this, dim, index);
  }
  /** A copy with src added at the index positions along dim (torch.scatter_add). */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    checkArgCount("scatterAdd", arguments, 3);
    return ops.scatterAdd(this, dim, index, src);
  }
  /** A copy with `value` where the (broadcast) bool mask is true. */
  maskedFill(mask: Tensor, value: number): Tensor {
    checkArgCount("maskedFill", arguments, 2);
    return ops.maskedFill(this, mask, value);
  }
  /** Lower triangle (j - i ≤ k) of the last two dims, zeros elsewhere. */
  tril(k = 0): Tensor {
    checkArgCount("tril", arguments, 1);
    return ops.tril(this, k);
  }
  /** Upper triangle (j - i ≥ k) of the last two dims, zeros elsewhere. */
  triu(k = 0): Tensor {
    checkArgCount("triu", arguments, 1);
    return ops.triu(this, k);
  }
  /** Tiles the tensor `repeats` times along each dim (torch.Tensor.repeat). */
  repeat(...repeats: (number | readonly number[])[]): Tensor {
    return ops.repeat(this, flattenShapeArgs("repeat", repeats));
  }
  /** Views of consecutive pieces along dim: of `size` each, or of the listed sizes. */
  split(splitSize: number | readonly number[], dim = 0): Tensor[] {
    checkArgCount("split", arguments, 2);
    return ops.split(this, splitSize, dim);
  }
  /** `chunks` views of (nearly) equal size along dim. */
  chunk(chunks: number, dim = 0): Tensor[] {
    checkArgCount("chunk", arguments, 2);
    return ops.chunk(this, chunks, dim);
  }
  /** A copy converted to `dtype` (this tensor if it already has it). */
  to(dtype: DType): Tensor {
    checkArgCount("to", arguments, 1);
    return ops.to(this, dtype);
  }
  /** to("float32"). */
  float(): Tensor {
    checkArgCount("float", arguments, 0);
    return ops.to(this, "float32");
  }
  /** to("int32"). */
  int(): Tensor {
    checkArgCount("int", arguments, 0);
    return ops.to(this, "int32");
  }
  /** to("bool"). */
  bool(): Tensor {
    checkArgCount("bool", arguments, 0);
    return ops.to(this, "bool");
  }

  // ---- arithmetic with broadcasting (src/ops/elementwise.ts) ----
  /** this + other (broadcasting). */
  add(other: Tensor | number): Tensor {
    checkArgCount("add", arguments, 1);
    return ops.add(this, other);
  }
  /** this - other (broadcasting). */
  sub(other: Tensor | number): Tensor {
    checkArgCount("sub", arguments, 1);
    return ops.sub(this, other);
  }
  /** this * other (broadcasting). */
  mul(other: Tensor | number): Tensor {
    checkArgCount("mul", arguments, 1);
    return ops.mul(this, other);
  }
  /** this / other (true division, broadcasting). */
  div(other: Tensor | number): Tensor {
    checkArgCount("div", arguments, 1);
    return ops.div(this, other);
  }
  /** this ** exponent (a number or a broadcast tensor). */
  pow(exponent: Tensor | number): Tensor {
    checkArgCount("pow", arguments, 1);
    return ops.pow(this, exponent);
  }
  /** Elementwise maximum (NaN propagates). */
  maximum(other: Tensor): Tensor {
    checkArgCount("maximum", arguments, 1);
    return ops.maximum(this, other);
  }
  /** Elementwise minimum (NaN propagates). */
  minimum(other: Tensor): Tensor {
    checkArgCount("minimum", arguments, 1);
    return ops.minimum(this, other);
  }
  /** this == other as a bool tensor. */
  eq(other: Tensor | number): Tensor {
    checkArgCount("eq", arguments, 1);
    return ops.eq(this, other);
  }
  /** this != other as a bool tensor. */
  ne(other: Tensor | number): Tensor {
    checkArgCount("ne", arguments, 1);
    return ops.ne(this, other);
  }
  /** this < other as a bool tensor. */
  lt(other: Tensor | number): Tensor {
    checkArgCount("lt", arguments, 1);
    return ops.lt(this, other);
  }
  /** this <= other as a bool tensor. */
  le(other: Tensor | number): Tensor {
    checkArgCount("le", arguments, 1);
    return ops.le(this, other);
  }
  /** this > other as a bool tensor. */
  gt(other: Tensor | number): Tensor {
    checkArgCount("gt", arguments, 1);
    return ops.gt(this, other);
  }
  /** this >= other as a bool tensor. */
  ge(other: Tensor | number): Tensor {
    checkArgCount("ge", arguments, 1);
    return ops.ge(this, other);
  }
  /** Elementwise and of bool tensors. */
  logicalAnd(other: Tensor): Tensor {
    checkArgCount("logicalAnd", arguments, 1);
    return ops.logicalAnd(this, other);
  }
  /** Elementwise or of bool tensors. */
  logicalOr(other: Tensor): Tensor {
    checkArgCount("logicalOr", arguments, 1);
    return ops.logicalOr(this, other);
  }
  /** Elementwise not of a bool tensor. */
  logicalNot(): Tensor {
    checkArgCount("logicalNot", arguments, 0);
    return ops.logicalNot(this);
  }
  /** Matrix product with PyTorch's rules (1-D, 2-D, batched with broadcast batch dims). */
  matmul(other: Tensor): Tensor {
    checkArgCount("matmul", arguments, 1);
    return ops.matmul(this, other);
  }

  // ---- elementwise math (src/ops/math.ts) ----
  /** -this. */
  neg(): Tensor {
    checkArgCount("neg", arguments, 0);
    return ops.neg(this);
  }
  /** |this|. */
  abs(): Tensor {
    checkArgCount("abs", arguments, 0);
    return ops.abs(this);
  }
  /** e^this. */
  exp(): Tensor {
    checkArgCount("exp", arguments, 0);
    return ops.exp(this);
  }
  /** exp(x) - 1, accurate near 0. */
  expm1(): Tensor {
    checkArgCount("expm1", arguments, 0);
    return ops.expm1(this);
  }
  /** 1 / x. */
  reciprocal(): Tensor {
    checkArgCount("reciprocal", arguments, 0);
    return ops.reciprocal(this);
  }
  /** -1, 0 or 1 (gradient 0). */
  sign(): Tensor {
    checkArgCount("sign", arguments, 0);
    return ops.sign(this);
  }
  /** Rounds down (gradient 0). */
  floor(): Tensor {
    checkArgCount("floor", arguments, 0);
    return ops.floor(this);
  }
  /** Rounds up (gradient 0). */
  ceil(): Tensor {
    checkArgCount("ceil", arguments, 0);
    return ops.ceil(this);
  }
  /** Rounds half to even, as torch.round (gradient 0). */
  round(): Tensor {
    checkArgCount("round", arguments, 0);
    return ops.round(this);
  }
  /** Rounds toward zero (gradient 0). */
  trunc(): Tensor {
    checkArgCount("trunc", arguments, 0);
    return ops.trunc(this);
  }
  /** Natural logarithm. */
  log(): Tensor {
    checkArgCount("log", arguments, 0);
    return ops.log(this);
  }
  /** log(1 + this), accurate near 0. */
  log1p(): Tensor {
    checkArgCount("log1p", arguments, 0);
    return ops.log1p(this);
  }
  /** Square root. */
  sqrt(): Tensor {
    checkArgCount("sqrt", arguments, 0);
    return ops.sqrt(this);
  }
  /** 1 / sqrt(this). */
  rsqrt(): Tensor {
    checkArgCount("rsqrt", arguments, 0);
    return ops.rsqrt(this);
  }
  /** Sine. */
  sin(): Tensor {
    checkArgCount("sin", arguments, 0);
    return ops.sin(this);
  }
  /** Cosine. */
  cos(): Tensor {
    checkArgCount("cos", arguments, 0);
    return ops.cos(this);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    checkArgCount("tanh", arguments, 0);
    return ops.tanh(this);
  }
  /** Logistic sigmoid 1 / (1 + e^-x). */
  sigmoid(): Tensor {
    checkArgCount("sigmoid", arguments, 0);
    return ops.sigmoid(this);
  }
  /** max(x, 0). */
  relu(): Tensor {
    checkArgCount("relu", arguments, 0);
    return ops.relu(this);
  }
  /** x² (this * this). */
  square(): Tensor {
    checkArgCount("square", arguments, 0);
    return ops.square(this);
  }
  /** Clamps into [min, max] (either may be null). */
  clamp(min?: number | null, max?: number | null): Tensor {
    checkArgCount("clamp", arguments, 2);
    return ops.clamp(this, min, max);
  }

  // ---- reductions (src/ops/reduce.ts, src/ops/softmax.ts) ----
  /** Σ over all elements, or over dim(s) (keepdim keeps them as size 1). */
  sum(dim?: number | readonly number[] | null, keepdim = false): Tensor {
    checkArgCount("sum", arguments, 2);
    return ops.sum(this, dim, keepdim);
  }
  /** Largest value over all elements, or over dim(s) (values only, gradient shared between ties). */
  amax(dim?: number | readonly number[] | null, keepdim = false): Tensor {
    checkArgCount("amax", arguments, 2);
    return ops.amax(this, dim, keepdim);
  }
  /** Smallest value over all elements, or over dim(s) (values only, gradient shared between ties). */
  amin(dim?: number | readonly number[] | null, keepdim = false): Tensor {
    checkArgCount("amin", arguments, 2);
    return ops.amin(this, dim, keepdim);
  }
  /** Mean over all elements, or over dim(s). */
  mean(dim?: number | readonly number[] | null, keepdim = false): Tensor {
    checkArgCount("mean", arguments, 2);
    return ops.mean(this, dim, keepdim);
  }
  /** Product over all elements, or over one dim. */
  prod(dim?: number | null, keepdim = false): Tensor {
    checkArgCount("prod", arguments, 2);
    return ops.prod(this, dim, keepdim);
  }
  /** The maximum of all elements; along a dim, values and indices; of two tensors, maximum(). */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(other: Tensor): Tensor;
  max(dimOrOther?: number | Tensor, keepdim = false): Tensor | ValuesIndices {
    checkArgCount("max", arguments, 2);
    if (dimOrOther instanceof Tensor) return ops.maximum(this, dimOrOther);
    return dimOrOther === undefined ? ops.amax(this) : ops.maxDim(this, dimOrOther, keepdim);
  }
  /** The minimum of all elements; along a dim, values and indices; of two tensors, minimum(). */
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(other: Tensor): Tensor;
  min(dimOrOther?: number | Tensor, keepdim = false): Tensor | ValuesIndices {
    checkArgCount("min", arguments, 2);
    if (dimOrOther instanceof Tensor) return ops.minimum(this, dimOrOther);
    return dimOrOther === undefined ? ops.amin(this) : ops.minDim(this, dimOrOther, keepdim);
  }
  /** Index (int32) of the first maximum: over all elements (flat), or along dim. */
  argmax(dim?: number | null, keepdim = false): Tensor {
    checkArgCount("argmax", arguments, 2);
    return ops.argmax(this, dim, keepdim);
  }
  /** Index (int32) of the first minimum: over all elements (flat), or along dim. */
  argmin(dim?: number | null, keepdim = false): Tensor {
    checkArgCount("argmin", arguments, 2);
    return ops.argmin(this, dim, keepdim);
  }
  /** Variance (with Bessel's correction unless correction = 0) over all elements or dim(s). */
  var(dim?: number | readonly number[] | null, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    checkArgCount("var", arguments, 2);
    return ops.variance(this, dim, options);
  }
  /** Standard deviation: sqrt(var). */
  std(dim?: number | readonly number[] | null, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    checkArgCount("std", arguments, 2);
    return ops.std(this, dim, options);
  }
  /** log Σ exp over dim(s), computed stably. */
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor {
    checkArgCount("logsumexp", arguments, 2);
    return ops.logsumexp(this, dim, keepdim);
  }
  /** The p-norm (2 by default; 1, "inf" or any p > 0) over all elements or dim(s). */
  norm(p: NormOrder = 2, dim?: number | readonly number[] | null, keepdim = false): Tensor {
    checkArgCount("norm", arguments, 3);
    return ops.norm(this, p, dim, keepdim);
  }
  /** Running sum along dim. */
  cumsum(dim: number): Tensor {
    checkArgCount("cumsum", arguments, 1);
    return ops.cumsum(this, dim);
  }
  /** softmax along dim (the last by default). */
  softmax(dim = -1): Tensor {
    checkArgCount("softmax", arguments, 1);
    return ops.softmax(this, dim);
  }
  /** log-softmax along dim (the last by default). */
  logSoftmax(dim = -1): Tensor {
    checkArgCount("logSoftmax", arguments, 1);
    return ops.logSoftmax(this, dim);
  }

  // ---- in place (not recorded by autograd) ----
  /** In-place fill (not recorded), returns this. Works on views too. */
  fill_(value: number): this {
    checkArgCount("fill_", arguments, 1);
    ops.fillInPlace(this, value);
    return this;
  }
  /** In-place zero fill (not recorded), returns this. */
  zero_(): this {
    checkArgCount("zero_", arguments, 0);
    ops.fillInPlace(this, 0);
    return this;
  }
  /** In-place this += other (not recorded: use under noGrad as in torch), returns this. */
  add_(other: Tensor | number): this {
    checkArgCount("add_", arguments, 1);
    return this.updateInPlace(() => ops.add(this, other));
  }
  /** In-place this -= other (not recorded), returns this: `noGrad(() => w.sub_(w.grad!.mul(lr)))`. */
  sub_(other: Tensor | number): this {
    checkArgCount("sub_", arguments, 1);
    return this.updateInPlace(() => ops.sub(this, other));
  }
  /** In-place this *= other (not recorded), returns this. */
  mul_(other: Tensor | number): this {
    checkArgCount("mul_", arguments, 1);
    return this.updateInPlace(() => ops.mul(this, other));
  }
  /** In-place this /= other (not recorded), returns this. */
  div_(other: Tensor | number): this {
    checkArgCount("div_", arguments, 1);
    return this.updateInPlace(() => ops.div(this, other));
  }
  /** Computes a result of this tensor's shape without recording it and writes it into this. */
  private updateInPlace(compute: () => Tensor): this {
    noGrad(() => {
      const r = compute();
      if (r.shape.length !== this.shape.length || r.shape.some((d, i) => d !== this.shape[i])) {
        throw new ShapeError(
          `in-place op: the result's shape ${shapeStr(r.shape)} differs from the tensor's ${shapeStr(this.shape)} (an in-place op cannot broadcast its target)`,
        );
      }
      ops.copyInPlace(this, r);
    });
    return this;
  }
  /** In-place copy from a tensor of a broadcastable shape (not recorded), returns this. */
  copy_(src: Tensor): this {
    checkArgCount("copy_", arguments, 1);
    ops.copyInPlace(this, src);
    return this;
  }
}

// ---- shapes ----------------------------------------------------------------------------------

/** Number of elements of a shape. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Largest dimension: kernels take sizes as 32-bit integers. */
export const MAX_DIM = 2 ** 31 - 1;

/** Throws a ShapeError unless `shape` is an array of non-negative integer dims. */
export function checkShape(shape: Shape, what = "shape"): void {
  if (!Array.isArray(shape)) throw new ShapeError(`${what} must be an array of dimensions, got ${describe(shape)}`);
  if (shape.length > MAX_NDIM) throw new ShapeError(`${what} ${shapeStr(shape)}: tensors have at most ${MAX_NDIM} dimensions`);
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) throw new ShapeError(`${what} ${shapeStr(shape)}: dimensions must be non-negative integers`);
    if (d > MAX_DIM) throw new ShapeError(`${what} ${shapeStr(shape)}: a dimension above 2^31 - 1 (kernels index with 32-bit integers)`);
  }
  if (numel(shape) > MAX_DIM) throw new ShapeError(`${what} ${shapeStr(shape)}: ${numel(shape)} elements is more than 2^31 - 1`);
}

/** (2, 3) or ([2, 3]) → [2, 3]; anything else is a ValueError naming `op`. */
function flattenShapeArgs(op: string, args: (number | readonly number[])[]): number[] {
  const list = args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as number[])] : args;
  for (const d of list) {
    if (typeof d !== "number") throw new ValueError(`${op}: expected dimensions as numbers (or one array of them), got ${describe(d)}`);
  }
  return list as number[];
}

function requireTensor(op: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new ValueError(`${op}: expected a Tensor, got ${describe(t)}`);
  return t;
}

// ---- construction ----------------------------------------------------------------------------

/** @internal an uninitialized contiguous tensor on `backend` with the given lifetime scope. */
export function emptyTensor(backend: Backend, shape: Shape, dtype: DType, scope: Scope | null): Tensor {
  checkShape(shape);
  checkDType("tensor", dtype);
  return new Tensor(allocStorage(backend, numel(shape) * 4, scope), shape, dtype);
}

/** Throws unless `dtype` is one of the supported dtypes. */
export function checkDType(op: string, dtype: unknown): asserts dtype is DType {
  if (!DTYPES.includes(dtype as DType)) throw new DTypeError(`${op}: unsupported dtype ${describe(dtype)} (expected "float32", "int32" or "bool")`);
}

/** Options of the tensor factories. */
export interface FactoryOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  backend?: Backend;
}

const FACTORY_KEYS = ["dtype", "requiresGrad", "backend"] as const;

function make(op: string, shape: Shape, options: FactoryOptions, fill: (data: Float32Array | Int32Array) => void): Tensor {
  if (options.dtype !== undefined) checkDType(op, options.dtype);
  if (options.requiresGrad !== undefined && typeof options.requiresGrad !== "boolean") {
    throw new ValueError(`${op}: requiresGrad must be true or false, got ${describe(options.requiresGrad)}`);
  }
  checkShape(shape, `${op}: shape`);
  const t = emptyTensor(options.backend ?? getBackend(), shape, options.dtype ?? "float32", factoryScope());
  fill(t.data);
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Values for an int32/bool tensor: integers in range (bool: anything, stored as 0/1). */
function checkIntValues(op: string, values: ArrayLike<number | boolean>, dtype: DType): void {
  if (dtype !== "int32") return;
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
      throw new ValueError(`${op}: element ${i} (${String(values[i])}) is not an int32 (expected an integer from -2^31 to 2^31 - 1)`);
    }
  }
}

function flattenNested(data: NestedArray[]): (number | boolean)[] {
  const out: (number | boolean)[] = [];
  const walk = (v: NestedArray) => (Array.isArray(v) ? v.forEach(walk) : out.push(v));
  data.forEach(walk);
  return out;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let d: NestedArray = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    if (shape.length > MAX_NDIM) throw new ShapeError(`tensor(): nested deeper than ${MAX_NDIM} levels (tensors have at most ${MAX_NDIM} dimensions)`);
    d = d[0];
  }
  // Every sub-array must have the length of the first one at its depth (no ragged arrays).
  const check = (v: NestedArray, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new ShapeError(`tensor(): ragged nested array: element ${path} is an array, expected a number (shape ${shapeStr(shape)})`);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new ShapeError(
        `tensor(): ragged nested array: element ${path || "[]"} has ${Array.isArray(v) ? `length ${v.length}` : "no length"}, expected ${shape[depth]} (shape ${shapeStr(shape)})`,
      );
    }
    v.forEach((x, i) => check(x, depth + 1, `${path}[${i}]`));
  };
  check(data, 0, "");
  return shape;
}

/**
 * A tensor from nested arrays, a flat array or a typed array (torch.tensor). Int32Array data
 * gives int32 and all-boolean arrays give bool unless dtype says otherwise; `shape` reshapes
 * flat data.
 */
export function tensor(data: NestedArray | ArrayLike<number>, options: FactoryOptions & { shape?: Shape } = {}): Tensor {
  checkArgCount("tensor", arguments, 2);
  checkOptions("tensor()", options, [...FACTORY_KEYS, "shape"]);
  if (
    typeof data !== "number" &&
    typeof data !== "boolean" &&
    (data === null || typeof data !== "object" || typeof (data as ArrayLike<number>).length !== "number")
  ) {
    throw new ValueError(`tensor(): data must be a number, an array (nested for more dimensions) or a typed array, got ${describe(data)}`);
  }
  const nested = Array.isArray(data) && data.some((v) => Array.isArray(v));
  const inferred = nested ? inferShape(data as NestedArray) : null;
  const flat: ArrayLike<number | boolean> = nested
    ? flattenNested(data as NestedArray[])
    : typeof data === "number" || typeof data === "boolean"
      ? [data]
      : (data as ArrayLike<number>);
  let allBool = flat.length > 0;
  if (!ArrayBuffer.isView(flat)) {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i] as unknown;
      if (typeof v !== "number" && typeof v !== "boolean") throw new ValueError(`tensor(): element ${i} is ${describe(v)}, expected a number`);
      if (typeof v !== "boolean") allBool = false;
    }
  } else {
    allBool = false;
  }
  if (options.shape !== undefined) checkShape(options.shape, "tensor(): shape");
  const scalar = typeof data === "number" || typeof data === "boolean";
  const shape = options.shape ?? (scalar ? [] : (inferred ?? [flat.length]));
  if (numel(shape) !== flat.length) {
    throw new ShapeError(`tensor(): ${flat.length} values do not fill shape ${shapeStr(shape)} (${numel(shape)} elements)`);
  }
  const dtype = options.dtype ?? (data instanceof Int32Array ? "int32" : allBool ? "bool" : "float32");
  checkDType("tensor()", dtype);
  checkIntValues("tensor()", flat, dtype);
  return make("tensor()", shape, { ...options, dtype }, (d) => {
    if (dtype === "bool") for (let i = 0; i < flat.length; i++) d[i] = flat[i] ? 1 : 0;
    else if (ArrayBuffer.isView(flat)) d.set(flat as ArrayLike<number>);
    else for (let i = 0; i < flat.length; i++) d[i] = Number(flat[i]);
  });
}

function factoryShape(op: string, args: unknown[]): { shape: number[]; options: FactoryOptions } {
  // zeros([2, 3], options) or zeros(2, 3): dims as numbers, then optionally the options object.
  let options: unknown;
  let dims = args;
  if (args.length > 0 && typeof args[args.length - 1] === "object" && args[args.length - 1] !== null && !Array.isArray(args[args.length - 1])) {
    options = args[args.length - 1];
    dims = args.slice(0, -1);
  }
  let shape: unknown;
  if (dims.length === 1 && Array.isArray(dims[0])) shape = dims[0];
  else if (dims.every((d) => typeof d === "number")) shape = dims;
  else throw new ValueError(`${op}: expected a shape (an array of dims, or dims as numbers) and optional options, got ${dims.map(describe).join(", ")}`);
  checkOptions(op, options, FACTORY_KEYS);
  checkShape(shape as number[], `${op}: shape`);
  return { shape: [...(shape as number[])], options: (options ?? {}) as FactoryOptions };
}

/** A tensor of zeros: zeros([2, 3]) or zeros(2, 3), with optional { dtype, requiresGrad, backend }. */
export function zeros(...args: (number | Shape | FactoryOptions)[]): Tensor {
  const { shape, options } = factoryShape("zeros", args);
  return make("zeros", shape, options, (d) => d.fill(0));
}
/** A tensor of ones: ones([2, 3]) or ones(2, 3). */
export function ones(...args: (number | Shape | FactoryOptions)[]): Tensor {
  const { shape, options } = factoryShape("ones", args);
  return make("ones", shape, options, (d) => d.fill(1));
}
/** A tensor filled with `value`. */
export function full(shape: Shape, value: number | boolean, options: FactoryOptions = {}): Tensor {
  checkArgCount("full", arguments, 3);
  checkOptions("full", options, FACTORY_KEYS);
  if (typeof value !== "number" && typeof value !== "boolean") throw new ValueError(`full(): value must be a number, got ${describe(value)}`);
  const dtype = options.dtype ?? (typeof value === "boolean" ? "bool" : "float32");
  checkIntValues("full", [value], dtype);
  return make("full", shape, { ...options, dtype }, (d) => d.fill(dtype === "bool" ? (value ? 1 : 0) : Number(value)));
}
/** Uniform [0, 1) from the seeded generator. */
export function rand(shape: Shape, options: FactoryOptions & { generator?: Generator } = {}): Tensor {
  checkArgCount("rand", arguments, 2);
  checkOptions("rand", options, [...FACTORY_KEYS, "generator"]);
  const g = options.generator ?? defaultGenerator;
  checkGenerator("rand", "generator", g);
  return make("rand", shape, floatOnly("rand", options), (d) => {
    for (let i = 0; i < d.length; i++) d[i] = g.random();
  });
}
/** Standard normal from the seeded generator. */
export function randn(shape: Shape, options: FactoryOptions & { generator?: Generator } = {}): Tensor {
  checkArgCount("randn", arguments, 2);
  checkOptions("randn", options, [...FACTORY_KEYS, "generator"]);
  const g = options.generator ?? defaultGenerator;
  checkGenerator("randn", "generator", g);
  return make("randn", shape, floatOnly("randn", options), (d) => {
    for (let i = 0; i < d.length; i++) d[i] = g.normal();
  });
}
/** Uniform integers in [low, high) (int32), torch.randint(low, high, shape). */
export function randint(low: number, high: number, shape: Shape, options: FactoryOptions & { generator?: Generator } = {}): Tensor {
  checkArgCount("randint", arguments, 4);
  checkOptions("randint", options, [...FACTORY_KEYS, "generator"]);
  for (const [name, v] of [
    ["low", low],
    ["high", high],
  ] as const) {
    if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31) throw new ValueError(`randint: ${name} must be an int32, got ${describe(v)}`);
  }
  if (!(high > low)) throw new ValueError(`randint: high (${high}) must be greater than low (${low})`);
  const g = options.generator ?? defaultGenerator;
  checkGenerator("randint", "generator", g);
  return make("randint", shape, { dtype: "int32", ...options }, (d) => {
    for (let i = 0; i < d.length; i++) d[i] = low + g.randint(high - low);
  });
}

function floatOnly(op: string, options: FactoryOptions & { generator?: Generator }): FactoryOptions {
  if (options.dtype !== undefined && options.dtype !== "float32")
    throw new DTypeError(`${op}: only float32 is supported, got dtype ${describe(options.dtype)}`);
  const { generator: _g, ...rest } = options;
  return rest;
}

/**
 * torch.arange: arange(end), arange(start, end) or arange(start, end, step), then optional
 * options. int32 when start, end and step are integers, else float32 (as in PyTorch).
 */
export function arange(...args: (number | FactoryOptions)[]): Tensor {
  let options: FactoryOptions = {};
  if (args.length > 0 && typeof args[args.length - 1] === "object") options = args.pop() as FactoryOptions;
  checkOptions("arange", options, FACTORY_KEYS);
  if (args.length < 1 || args.length > 3 || args.some((a) => typeof a !== "number" || !Number.isFinite(a))) {
    throw new ValueError(`arange: expected (end), (start, end) or (start, end, step) as finite numbers, got (${args.map(describe).join(", ")})`);
  }
  const nums = args as number[];
  const [start, end, step] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
  if (step === 0) throw new ValueError("arange: step must be nonzero");
  if ((end - start) / step < 0)
    throw new ValueError(`arange: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`);
  const n = Math.ceil((end - start) / step);
  if (n > MAX_DIM) throw new ValueError(`arange: ${n} elements is more than 2^31 - 1`);
  const dtype = options.dtype ?? (nums.every(Number.isInteger) ? "int32" : "float32");
  return make("arange", [n], { ...options, dtype }, (d) => {
    for (let i = 0; i < n; i++) d[i] = start + i * step;
  });
}

/** `steps` evenly spaced float32 values from start to end inclusive (torch.linspace). */
export function linspace(start: number, end: number, steps: number, options: FactoryOptions = {}): Tensor {
  checkArgCount("linspace", arguments, 4);
  checkOptions("linspace", options, FACTORY_KEYS);
  if (!Number.isFinite(start) || !Number.isFinite(end))
    throw new ValueError(`linspace: start and end must be finite numbers, got ${describe(start)} and ${describe(end)}`);
  if (!Number.isInteger(steps) || steps < 0) throw new ValueError(`linspace: steps must be a non-negative integer, got ${describe(steps)}`);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  return make("linspace", [steps], floatOnly("linspace", options), (d) => {
    // Like PyTorch: the first half counts up from start, the second half down from end.
    const half = Math.floor(steps / 2);
    for (let i = 0; i < steps; i++) d[i] = i < half ? start + step * i : end - step * (steps - i - 1);
  });
}

/** The n×m identity matrix (m = n by default). */
export function eye(n: number, m: number = n, options: FactoryOptions = {}): Tensor {
  checkArgCount("eye", arguments, 3);
  checkOptions("eye", options, FACTORY_KEYS);
  return make("eye", [n, m], options, (d) => {
    d.fill(0);
    for (let i = 0; i < Math.min(n, m); i++) d[i * m + i] = 1;
  });
}

/** zeros with the shape (and, unless overridden, the dtype and backend) of `t`. */
export function zerosLike(t: Tensor, options: FactoryOptions = {}): Tensor {
  checkArgCount("zerosLike", arguments, 2);
  requireTensor("zerosLike", t);
  return zeros([...t.shape], { dtype: t.dtype, backend: t.backend, ...options });
}
/** ones with the shape (and, unless overridden, the dtype and backend) of `t`. */
export function onesLike(t: Tensor, options: FactoryOptions = {}): Tensor {
  checkArgCount("onesLike", arguments, 2);
  requireTensor("onesLike", t);
  return ones([...t.shape], { dtype: t.dtype, backend: t.backend, ...options });
}
/** full with the shape (and, unless overridden, the dtype and backend) of `t`. */
export function fullLike(t: Tensor, value: number, options: FactoryOptions = {}): Tensor {
  checkArgCount("fullLike", arguments, 3);
  requireTensor("fullLike", t);
  return full([...t.shape], value, { dtype: t.dtype, backend: t.backend, ...options });
}
/** randn with the shape and backend of `t`. */
export function randnLike(t: Tensor, options: FactoryOptions & { generator?: Generator } = {}): Tensor {
  checkArgCount("randnLike", arguments, 2);
  requireTensor("randnLike", t);
  return randn([...t.shape], { backend: t.backend, ...options });
}

/** Throws unless all tensors live on one backend (one memory). */
export function sameBackend(op: string, ...ts: Tensor[]): Backend {
  for (let i = 0; i < ts.length; i++) {
    if (!(ts[i] instanceof Tensor)) throw new ValueError(`${op}: argument ${i + 1} must be a Tensor, got ${describe(ts[i])}`);
  }
  const b = ts[0].backend;
  for (const t of ts) {
    if (t.backend !== b) {
      throw new BackendMismatchError(`${op}: tensors live on different backends (${b.name} and ${t.backend.name}); create them after the same setBackend()`);
    }
  }
  return b;
}

/** Throws unless `t` is a float32 Tensor. */
export function requireFloat(op: string, name: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new ValueError(`${op}: ${name} must be a Tensor, got ${describe(t)}`);
  if (t.dtype !== "float32") throw new DTypeError(`${op}: ${name} must be float32, got ${t.dtype}`);
}

export { Storage };
