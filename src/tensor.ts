// Tensor = shape + dtype + a place in one backend's memory (+ autograd bookkeeping).
// All tensors are contiguous and row-major; views (reshape/view/flatten/detach) share storage.
import type { Backend } from "./backend/backend.js";
import { getBackend } from "./backend/index.js";
import { BackendMismatchError, DTypeError, ReleasedTensorError, ShapeError, ValueError, shapeStr } from "./errors.js";
import { Storage, allocStorage, factoryScope, type Scope } from "./lifetime.js";
import type { GradNode } from "./autograd.js";
import { runBackward } from "./autograd.js";
import { defaultGenerator, type Generator } from "./random.js";
import { checkInt, describe } from "./check.js";
import * as ops from "./ops/index.js";

export type DType = "float32" | "int32";
export type Shape = readonly number[];
export type NestedArray = number | NestedArray[];

export class Tensor {
  readonly shape: Shape;
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

  /** @internal use the factories (tensor, zeros, randn, ...) instead. */
  constructor(storage: Storage, shape: Shape, dtype: DType, offset = 0) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = numel(shape);
    this.offset = offset;
  }

  /** Whether autograd tracks this tensor (PyTorch's requires_grad). Only leaves may be set. */
  get requiresGrad(): boolean {
    return this.requires;
  }
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
    this.requiresGrad = value;
    return this;
  }

  /** True unless this tensor was produced by a recorded operation. */
  get isLeaf(): boolean {
    return this.node === null;
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  /** Byte offset of element 0 in the backend's memory; throws if the memory was released. */
  get ptr(): number {
    const s = this.storage;
    if (s.released) {
      throw new ReleasedTensorError(
        `tensor of shape ${shapeStr(this.shape)} was released at ${s.releasedBy}; ` +
          `call .keep() (or .clone().keep()) on it to hold it longer, or copy it out with .toArray()`,
      );
    }
    return s.ptr + this.offset;
  }

  /**
   * Zero-copy view of the elements (Float32Array, or Int32Array for int32). Valid until the
   * next allocation may grow the memory; copy it (toArray/slice) to keep it.
   */
  get data(): Float32Array | Int32Array {
    const p = this.ptr >> 2;
    const view = this.dtype === "int32" ? this.backend.i32() : this.backend.f32();
    return view.subarray(p, p + this.size);
  }

  get ndim(): number {
    return this.shape.length;
  }
  dim(): number {
    return this.shape.length;
  }
  numel(): number {
    return this.size;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new ShapeError(`item(): only one-element tensors can be converted to a number, got shape ${shapeStr(this.shape)}`);
    }
    return this.data[0];
  }

  /** A flat copy of the elements as a JS array. */
  toArray(): number[] {
    return Array.from(this.data);
  }

  /** The elements as nested JS arrays shaped like the tensor (PyTorch's tolist()). */
  tolist(): NestedArray {
    const flat = this.data;
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return flat[offset];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  toString(): string {
    const body = this.size <= 20 ? JSON.stringify(this.tolist()) : `${this.size} elements`;
    return `tensor(${body}, shape=${shapeStr(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ", requiresGrad" : ""})`;
  }

  /** Computes gradients of this tensor w.r.t. graph leaves (loss.backward()). */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    if (gradient !== undefined) requireFloat("backward", "gradient", gradient);
    runBackward(this, gradient, options?.retainGraph ?? false);
  }

  /** A view of the same memory that autograd does not track. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.dtype, this.offset);
  }

  /** Moves this tensor's memory out of automatic release: it lives until dispose() (or GC). */
  keep(): this {
    void this.ptr; // throws if already released
    this.storage.persist();
    return this;
  }

  /** Frees the memory now (and that of every view sharing it). */
  dispose(): void {
    this.storage.free();
  }

  // ---- operations (autograd-aware; see src/ops) ----
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return ops.reshape(this, flattenShapeArgs(shape));
  }
  view(...shape: (number | readonly number[])[]): Tensor {
    return ops.reshape(this, flattenShapeArgs(shape));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return ops.flatten(this, startDim, endDim);
  }
  clone(): Tensor {
    return ops.clone(this);
  }
  add(other: Tensor | number): Tensor {
    return ops.add(this, other);
  }
  sub(other: Tensor | number): Tensor {
    return ops.sub(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return ops.mul(this, other);
  }
  div(other: number): Tensor {
    return ops.div(this, other);
  }
  neg(): Tensor {
    return ops.mul(this, -1);
  }
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  sum(): Tensor {
    return ops.sum(this);
  }
  mean(): Tensor {
    return ops.mean(this);
  }
  softmax(dim = -1): Tensor {
    return ops.softmax(this, dim);
  }
  logSoftmax(dim = -1): Tensor {
    return ops.logSoftmax(this, dim);
  }
  /** Index of the maximum: over all elements (dim undefined) or along the last dim. */
  argmax(dim?: number, keepdim = false): Tensor {
    return ops.argmax(this, dim, keepdim);
  }
  /** In-place fill (not recorded), returns this. */
  fill_(value: number): this {
    ops.fillInPlace(this, value);
    return this;
  }
  /** In-place copy from another tensor of the same shape (not recorded), returns this. */
  copy_(src: Tensor): this {
    ops.copyInPlace(this, src);
    return this;
  }
}

// ---- shapes ----------------------------------------------------------------------------------

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Largest dimension: kernels take sizes as 32-bit integers. */
export const MAX_DIM = 2 ** 31 - 1;

export function checkShape(shape: Shape, what = "shape"): void {
  if (!Array.isArray(shape)) throw new ShapeError(`${what} must be an array of dimensions, got ${describe(shape)}`);
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) throw new ShapeError(`${what} ${shapeStr(shape)}: dimensions must be non-negative integers`);
    if (d > MAX_DIM) throw new ShapeError(`${what} ${shapeStr(shape)}: a dimension above 2^31 - 1 (kernels index with 32-bit integers)`);
  }
}

function flattenShapeArgs(args: (number | readonly number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);
}

// ---- construction ----------------------------------------------------------------------------

/** @internal an uninitialized tensor on `backend` with the given lifetime scope. */
export function emptyTensor(backend: Backend, shape: Shape, dtype: DType, scope: Scope | null): Tensor {
  checkShape(shape);
  if (dtype !== "float32" && dtype !== "int32") throw new DTypeError(`unsupported dtype ${describe(dtype)} (expected "float32" or "int32")`);
  return new Tensor(allocStorage(backend, numel(shape) * 4, scope), shape, dtype);
}

export interface FactoryOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  backend?: Backend;
}

function make(shape: Shape, options: FactoryOptions, fill: (data: Float32Array | Int32Array) => void): Tensor {
  const t = emptyTensor(options.backend ?? getBackend(), shape, options.dtype ?? "float32", factoryScope());
  fill(t.data);
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

function flattenNested(data: NestedArray[]): number[] {
  const out: number[] = [];
  const walk = (v: NestedArray) => (Array.isArray(v) ? v.forEach(walk) : out.push(v));
  data.forEach(walk);
  return out;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let d: NestedArray = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = d[0];
  }
  // Every sub-array must have the length of the first one at its depth (no ragged arrays).
  const check = (v: NestedArray, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new ShapeError(`tensor(): ragged nested array: element ${path} is an array, expected a number (shape ${shapeStr(shape)})`);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new ShapeError(`tensor(): ragged nested array: element ${path || "[]"} has ${Array.isArray(v) ? `length ${v.length}` : "no length"}, expected ${shape[depth]} (shape ${shapeStr(shape)})`);
    }
    v.forEach((x, i) => check(x, depth + 1, `${path}[${i}]`));
  };
  check(data, 0, "");
  return shape;
}

/**
 * A tensor from nested arrays, a flat array or a typed array (torch.tensor). Int32Array data
 * gives int32 unless dtype says otherwise; `shape` reshapes flat data.
 */
export function tensor(
  data: NestedArray | ArrayLike<number>,
  options: FactoryOptions & { shape?: Shape } = {},
): Tensor {
  if (typeof data !== "number" && (data === null || typeof data !== "object" || typeof (data as ArrayLike<number>).length !== "number")) {
    throw new ValueError(`tensor(): data must be a number, an array (nested for more dimensions) or a typed array, got ${describe(data)}`);
  }
  const nested = Array.isArray(data) && data.some((v) => Array.isArray(v));
  const inferred = nested ? inferShape(data as NestedArray) : null;
  const flat: ArrayLike<number> = nested
    ? flattenNested(data as NestedArray[])
    : typeof data === "number" ? [data] : (data as ArrayLike<number>);
  if (!ArrayBuffer.isView(flat)) {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i] as unknown;
      if (typeof v !== "number" && typeof v !== "boolean") throw new ValueError(`tensor(): element ${i} is ${describe(v)}, expected a number`);
    }
  }
  if (options.shape !== undefined) checkShape(options.shape, "tensor(): shape");
  const shape = options.shape ?? (typeof data === "number" ? [] : inferred ?? [flat.length]);
  if (numel(shape) !== flat.length) {
    throw new ShapeError(`tensor(): ${flat.length} values do not fill shape ${shapeStr(shape)} (${numel(shape)} elements)`);
  }
  const dtype = options.dtype ?? (data instanceof Int32Array ? "int32" : "float32");
  return make(shape, { ...options, dtype }, (d) => d.set(flat));
}

export function zeros(shape: Shape, options: FactoryOptions = {}): Tensor {
  return make(shape, options, (d) => d.fill(0));
}
export function ones(shape: Shape, options: FactoryOptions = {}): Tensor {
  return make(shape, options, (d) => d.fill(1));
}
export function full(shape: Shape, value: number, options: FactoryOptions = {}): Tensor {
  if (typeof value !== "number" && typeof value !== "boolean") throw new ValueError(`full(): value must be a number, got ${describe(value)}`);
  return make(shape, options, (d) => d.fill(value));
}
/** Uniform [0, 1) from the seeded generator. */
export function rand(shape: Shape, options: FactoryOptions & { generator?: Generator } = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  return make(shape, options, (d) => {
    for (let i = 0; i < d.length; i++) d[i] = g.random();
  });
}
/** Standard normal from the seeded generator. */
export function randn(shape: Shape, options: FactoryOptions & { generator?: Generator } = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  return make(shape, options, (d) => {
    for (let i = 0; i < d.length; i++) d[i] = g.normal();
  });
}
/** 0, 1, ..., n-1 (int32 unless dtype says float32). */
export function arange(n: number, options: FactoryOptions = {}): Tensor {
  checkInt("arange", "n", n, 0, MAX_DIM);
  return make([n], { dtype: "int32", ...options }, (d) => {
    for (let i = 0; i < n; i++) d[i] = i;
  });
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

export function requireFloat(op: string, name: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new ValueError(`${op}: ${name} must be a Tensor, got ${describe(t)}`);
  if (t.dtype !== "float32") throw new DTypeError(`${op}: ${name} must be float32, got ${t.dtype}`);
}
