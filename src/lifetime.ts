// Who frees tensor memory, and when.
//
// A Storage is one heap block of one backend. Its lifetime is one of:
//  - persistent: parameters, gradients, optimizer state, tensors made by factories, anything
//    `.keep()`-ed. Freed by `.dispose()`; a FinalizationRegistry frees it if the last tensor
//    over it is garbage collected first (a backstop, not the plan).
//  - step: results of operations recorded for autograd (or computed from step tensors) and
//    DataLoader batches. A training step ends when `backward()` finishes; the memory of a step
//    is released when the step after it ends. So everything of the current step, `loss.item()`
//    included, stays readable until the next `backward()`; memory holds two steps at most.
//  - noGrad: everything created inside `noGrad(fn)`; released when fn returns, except the
//    tensors fn returns, which move to the enclosing scope (or become persistent at top level).
//  - DataLoader loops: what one batch's iteration made is released once two newer batches
//    have started, if nothing moved the scope on meanwhile (see releaseBetween), so long
//    evaluation loops do not pile up activations.
//  - temp: gradients flowing through backward(); freed as soon as they are consumed.
// A tensor used after its memory was released throws ReleasedTensorError; memory is never
// silently reused under a live tensor.
import type { Backend } from "./backend/backend.js";
import { ValueError } from "./errors.js";

/** Stands in for a storage in the FinalizationRegistry (it must not reference the storage). */
interface FinalizerToken {
  backend: Backend;
  ptr: number;
}

const finalizers =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<FinalizerToken>((t) => t.backend.heap.free(t.ptr))
    : null;

export class Scope {
  readonly items: (Storage | null)[] = [];
  /** Bumped by release(): positions in `items` from an older generation mean nothing now. */
  generation = 0;
  constructor(readonly kind: "step" | "noGrad") {}

  add(s: Storage): void {
    s.scope = this;
    this.items.push(s);
  }

  /** Frees every storage still owned by this scope and empties it. */
  release(): void {
    for (const s of this.items) if (s !== null && s.scope === this) s.free();
    this.items.length = 0;
    this.generation++;
  }

  /** Frees what was added at positions [from, to) and is still owned here. */
  releaseRange(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const s = this.items[i];
      if (s !== null && s.scope === this) s.free();
      this.items[i] = null;
    }
  }
}

/** A position in the innermost scope, taken by a DataLoader as each batch begins. */
export interface ScopeMark {
  scope: Scope;
  generation: number;
  index: number;
}

export function markScope(): ScopeMark {
  const scope = currentScope();
  return { scope, generation: scope.generation, index: scope.items.length };
}

/**
 * Releases what was made between two marks (one batch of a DataLoader loop: the batch, the
 * forward pass, the metrics) if both are in the same scope generation that is still current.
 * An evaluation loop inside one noGrad (or outside noGrad, without backward()) then holds two
 * batches' tensors at a time instead of all of them. In training loops backward() has already
 * moved the step on, so this does nothing there.
 */
export function releaseBetween(a: ScopeMark, b: ScopeMark): void {
  if (a.scope === b.scope && a.generation === b.generation && a.scope.generation === a.generation && currentScope() === a.scope) {
    a.scope.releaseRange(a.index, b.index);
  }
}

export class Storage {
  released = false;
  scope: Scope | null = null;
  /** Holders of a temp gradient storage (backward shares one gradient between inputs). */
  refs = 1;
  /** Set while the storage is registered with the finalizer (persistent storages only). */
  private token: FinalizerToken | null = null;
  /** What released it, for the error message of a later access. */
  releasedBy = "";

  constructor(
    readonly backend: Backend,
    readonly ptr: number,
    readonly bytes: number,
  ) {}

  /** Makes the storage persistent: freed by dispose() or, failing that, garbage collection. */
  persist(): void {
    this.scope = null;
    if (finalizers !== null && this.token === null) {
      this.token = { backend: this.backend, ptr: this.ptr };
      finalizers.register(this, this.token, this.token);
    }
  }

  free(): void {
    if (this.released) return;
    this.released = true;
    this.releasedBy = this.scope === null ? "dispose()" : this.scope.kind === "step"
      ? "the end of the training step after the one that made it (backward() ends a step)"
      : "the exit of the noGrad() block that made it";
    if (this.token !== null) {
      finalizers!.unregister(this.token);
      this.token = null;
    }
    this.backend.heap.free(this.ptr);
  }
}

// ---- grad mode and scopes -------------------------------------------------------------------

let noGradDepth = 0;
const noGradScopes: Scope[] = [];
let stepCurrent = new Scope("step");
let stepPrevious = new Scope("step");

export function isGradEnabled(): boolean {
  return noGradDepth === 0;
}

/** Allocates a storage; `where` picks its lifetime (see the top of this file). */
export function allocStorage(backend: Backend, bytes: number, where: Scope | null): Storage {
  const s = new Storage(backend, backend.heap.alloc(Math.max(bytes, 4)), bytes);
  if (where === null) s.persist();
  else where.add(s);
  return s;
}

/** A temp storage (backward gradients): no scope, no finalizer, freed by releaseTemp. */
export function allocTemp(backend: Backend, bytes: number): Storage {
  const s = new Storage(backend, backend.heap.alloc(Math.max(bytes, 4)), bytes);
  s.scope = null;
  return s;
}

export function releaseTemp(s: Storage): void {
  if (--s.refs === 0) s.free();
}

/** The innermost noGrad scope, else the current step: where per-step data (batches) goes. */
export function currentScope(): Scope {
  return noGradScopes.length > 0 ? noGradScopes[noGradScopes.length - 1] : stepCurrent;
}

/** Lifetime of a factory-made tensor: the innermost noGrad scope, else persistent. */
export function factoryScope(): Scope | null {
  return noGradScopes.length > 0 ? noGradScopes[noGradScopes.length - 1] : null;
}

/**
 * Lifetime of an operation's output: inside noGrad, that scope; else the current step if the
 * op is recorded for autograd or reads any step tensor; else persistent (e.g. preprocessing
 * arithmetic on persistent tensors).
 */
export function outputScope(recorded: boolean, inputs: readonly { storage: Storage }[]): Scope | null {
  if (noGradScopes.length > 0) return noGradScopes[noGradScopes.length - 1];
  if (recorded) return stepCurrent;
  for (const t of inputs) if (t.storage.scope !== null) return stepCurrent;
  return null;
}

/** Called when backward() finishes: releases the step before this one. */
export function endStep(): void {
  const old = stepPrevious;
  old.release();
  stepPrevious = stepCurrent;
  stepCurrent = old;
}

/** Storage of every value in `result` that is (or holds, one level deep) a tensor. */
function storagesOf(result: unknown, out: Storage[]): void {
  const visit = (v: unknown) => {
    if (v !== null && typeof v === "object" && "storage" in v && (v as { storage: unknown }).storage instanceof Storage) {
      out.push((v as { storage: Storage }).storage);
    }
  };
  if (Array.isArray(result)) result.forEach(visit);
  else if (result !== null && typeof result === "object" && !("storage" in result)) Object.values(result).forEach(visit);
  else visit(result);
}

/**
 * Runs fn without recording autograd history (torch.no_grad()). Tensors created inside are
 * released on return, except those fn returns (a tensor, an array of them, or an object whose
 * values are tensors), which move to the enclosing noGrad scope or become persistent.
 */
export function noGrad<T>(fn: () => T): T {
  const scope = new Scope("noGrad");
  noGradScopes.push(scope);
  noGradDepth++;
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new ValueError("noGrad(fn): fn must be synchronous (it returned a Promise); call noGrad inside the async code instead");
    }
    const keep: Storage[] = [];
    storagesOf(result, keep);
    const parent = noGradScopes.length > 1 ? noGradScopes[noGradScopes.length - 2] : null;
    for (const s of keep) {
      if (s.scope !== scope) continue;
      if (parent !== null) parent.add(s);
      else s.persist();
    }
  } finally {
    noGradDepth--;
    noGradScopes.pop();
    scope.release();
  }
  return result;
}

/** Memory of the current and previous step scopes, for tests and diagnostics. */
export function stepScopeSizes(): { current: number; previous: number } {
  return { current: stepCurrent.items.length, previous: stepPrevious.items.length };
}
