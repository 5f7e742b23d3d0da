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
//    Steps are counted per backend memory (per Heap): a backward() on one backend does not end
//    the step of another, so two models on two backends can train interleaved.
//    An OutOfMemoryError outside noGrad abandons the step in progress on its backend: the
//    tensors it made since the last backward() are released at once (the step cannot finish,
//    and its tensors must not crowd out the next one).
//  - noGrad: everything created inside `noGrad(fn)`; released when fn returns, except the
//    tensors fn returns, which move to the enclosing scope (or become persistent at top level).
//  - DataLoader loops: what one batch's iteration made is released once two newer batches
//    have started, if nothing moved the scope on meanwhile (see releaseBetween), so long
//    evaluation loops do not pile up activations.
//  - temp: gradients flowing through backward(); freed as soon as they are consumed.
// A tensor used after its memory was released throws ReleasedTensorError; memory is never
// silently reused under a live tensor.
import type { Backend } from "./backend/backend.js";
import { type Heap, setOutOfMemoryHandler } from "./backend/heap.js";
import { ValueError } from "./errors.js";
import { checkArgCount } from "./check.js";

/** Stands in for a storage in the FinalizationRegistry (it must not reference the storage). */
interface FinalizerToken {
  backend: Backend;
  ptr: number;
}

const finalizers = typeof FinalizationRegistry === "function" ? new FinalizationRegistry<FinalizerToken>((t) => t.backend.heap.free(t.ptr)) : null;

export class Scope {
  readonly items: (Storage | null)[] = [];
  /** Bumped by release(): positions in `items` from an older generation mean nothing now. */
  generation = 0;
  /** The step pair of a step scope (to tell whether it is its backend's current step). */
  owner: StepScopes | null = null;
  constructor(readonly kind: "step" | "noGrad") {}

  add(s: Storage): void {
    s.scope = this;
    this.items.push(s);
  }

  /** Frees every storage still owned by this scope and empties it. */
  release(reason?: string): void {
    for (const s of this.items) if (s !== null && s.scope === this) s.free(reason);
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

/** Positions in the scopes new tensors go to, taken by a DataLoader as each batch begins. */
export interface ScopeMark {
  entries: { scope: Scope; generation: number; index: number }[];
}

/** Marks the innermost noGrad scope, or else the current step of every backend. */
export function markScope(): ScopeMark {
  const scopes = noGradScopes.length > 0 ? [noGradScopes[noGradScopes.length - 1]] : liveSteps().map((s) => s.current);
  return { entries: scopes.map((scope) => ({ scope, generation: scope.generation, index: scope.items.length })) };
}

/** Whether new tensors of some backend would go to `scope` now. */
function isCurrent(scope: Scope): boolean {
  if (noGradScopes.length > 0) return noGradScopes[noGradScopes.length - 1] === scope;
  return scope.owner !== null && scope.owner.current === scope;
}

/**
 * Releases what was made between two marks (one batch of a DataLoader loop: the batch, the
 * forward pass, the metrics) in each scope that both marks saw in the same generation and that
 * is still current. An evaluation loop inside one noGrad (or outside noGrad, without
 * backward()) then holds two batches' tensors at a time instead of all of them. In training
 * loops backward() has already moved the step on, so this does nothing there.
 */
export function releaseBetween(a: ScopeMark, b: ScopeMark): void {
  for (const ea of a.entries) {
    const eb = b.entries.find((e) => e.scope === ea.scope);
    if (eb !== undefined && ea.generation === eb.generation && ea.scope.generation === ea.generation && isCurrent(ea.scope)) {
      ea.scope.releaseRange(ea.index, eb.index);
    }
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

  /** Hands a persistent storage to `scope`: freed with it, no longer by dispose() or garbage collection. */
  moveTo(scope: Scope): void {
    if (this.token !== null) {
      finalizers!.unregister(this.token);
      this.token = null;
    }
    scope.add(this);
  }

  free(reason?: string): void {
    if (this.released) return;
    this.released = true;
    this.releasedBy =
      reason ??
      (this.scope === null
        ? "dispose()"
        : this.scope.kind === "step"
          ? "the end of the training step after the one that made it (backward() ends a step)"
          : "the exit of the noGrad() block that made it");
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

/** The current and previous step of one backend memory. */
interface StepScopes {
  current: Scope;
  previous: Scope;
}
const stepScopes = new WeakMap<Heap, StepScopes>();
/** Every heap with step scopes (weakly, so a dropped backend can still be collected). */
let stepHeaps: { deref(): Heap | undefined }[] = [];

/** The last heap asked about (nearly every call is for the same one). */
let lastHeap: Heap | null = null;
let lastSteps: StepScopes | null = null;

function stepsOf(heap: Heap): StepScopes {
  if (heap === lastHeap) return lastSteps!;
  let s = stepScopes.get(heap);
  if (s === undefined) {
    s = { current: new Scope("step"), previous: new Scope("step") };
    s.current.owner = s.previous.owner = s;
    stepScopes.set(heap, s);
    setOutOfMemoryHandler(releaseStepOnOutOfMemory);
    stepHeaps = stepHeaps.filter((r) => r.deref() !== undefined);
    stepHeaps.push(typeof WeakRef === "function" ? new WeakRef(heap) : { deref: () => heap });
  }
  lastHeap = heap;
  lastSteps = s;
  return s;
}

function liveSteps(): StepScopes[] {
  const out: StepScopes[] = [];
  for (const r of stepHeaps) {
    const h = r.deref();
    const s = h === undefined ? undefined : stepScopes.get(h);
    if (s !== undefined) out.push(s);
  }
  return out;
}

// An OutOfMemoryError outside noGrad abandons the step in progress on that backend (see the top
// of this file). Inside noGrad nothing is released here: the block's scope goes when it exits.
// Installed by stepsOf when a heap first gets step scopes (before that it would have nothing to
// release), so that importing this module does nothing and bundlers may treat it as pure.
function releaseStepOnOutOfMemory(heap: Heap): string {
  const s = stepScopes.get(heap);
  if (noGradScopes.length > 0 || s === undefined || s.current.items.every((x) => x === null || x.released)) return "";
  s.current.release("an OutOfMemoryError during the training step that made it (the step's tensors were released so the backend can go on)");
  return (
    "the tensors of the unfinished training step on this backend were released " +
    "(gradient checkpointing — autograd.checkpoint, gradientCheckpointingEnable() — keeps fewer activations; LoRA — lora.apply — fewer gradients)"
  );
}

/** Whether operations are being recorded for autograd (false inside noGrad), as torch.is_grad_enabled. */
export function isGradEnabled(): boolean {
  checkArgCount("isGradEnabled", arguments, 0);
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

/** The innermost noGrad scope, else the backend's current step: where per-step data (batches) goes. */
export function currentScope(backend: Backend): Scope {
  return noGradScopes.length > 0 ? noGradScopes[noGradScopes.length - 1] : stepsOf(backend.heap).current;
}

/**
 * Hands a tensor that was made (persistent, by a factory) for one call of an op or a forward pass
 * to the current training step, so it is freed with the step's activations instead of waiting for
 * garbage collection, which a synchronous training loop never gives a chance. Inside noGrad the
 * factory already put it in that block; then this does nothing.
 */
export function intoCurrentStep<T extends { storage: Storage; backend: Backend }>(t: T): T {
  if (t.storage.scope === null) t.storage.moveTo(currentScope(t.backend));
  return t;
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
export function outputScope(backend: Backend, recorded: boolean, inputs: readonly { storage: Storage }[]): Scope | null {
  if (noGradScopes.length > 0) return noGradScopes[noGradScopes.length - 1];
  if (recorded) return stepsOf(backend.heap).current;
  for (const t of inputs) if (t.storage.scope !== null) return stepsOf(backend.heap).current;
  return null;
}

/** Called when backward() finishes on `backend`: releases that backend's step before this one. */
export function endStep(backend: Backend): void {
  const s = stepsOf(backend.heap);
  const old = s.previous;
  old.release();
  s.previous = s.current;
  s.current = old;
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
  checkArgCount("noGrad", arguments, 1);
  if (typeof fn !== "function") throw new ValueError(`noGrad(fn): expected a function, got ${typeof fn}`);
  return runWithoutGrad(fn, null);
}

/**
 * noGrad for an autograd.Function's forward: at top level the returned tensors join `backend`'s
 * current training step (like any recorded op's output) instead of becoming persistent.
 */
export function noGradIntoStep<T>(fn: () => T, backend: Backend): T {
  return runWithoutGrad(fn, backend);
}

function runWithoutGrad<T>(fn: () => T, stepOf: Backend | null): T {
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
      else if (stepOf !== null) stepsOf(stepOf.heap).current.add(s);
      else s.persist();
    }
  } finally {
    noGradDepth--;
    noGradScopes.pop();
    scope.release();
  }
  return result;
}

/**
 * Entries of the current and previous step scopes (of one backend, or summed over all), for
 * tests and diagnostics.
 */
export function stepScopeSizes(backend?: Backend): { current: number; previous: number } {
  const all = backend === undefined ? liveSteps() : [stepsOf(backend.heap)];
  let current = 0,
    previous = 0;
  for (const s of all) {
    current += s.current.items.length;
    previous += s.previous.items.length;
  }
  return { current, previous };
}

/**
 * @internal Runs fn with autograd on (even inside noGrad) and with a step scope of its own on
 * `backend`, which is released when fn returns: autograd.checkpoint's recomputation, whose
 * activations live for one block only. The storages of `keep(result)` that the private scope
 * owns move to the step scope that was current before (the block's output).
 */
export function inPrivateStep<T>(backend: Backend, fn: () => T, keep: (result: T) => readonly { storage: Storage }[] = () => []): T {
  const steps = stepsOf(backend.heap);
  const outer = steps.current;
  const scope = new Scope("step");
  scope.owner = steps;
  const savedScopes = noGradScopes.splice(0, noGradScopes.length);
  const savedDepth = noGradDepth;
  steps.current = scope;
  noGradDepth = 0;
  try {
    const result = fn();
    for (const t of keep(result)) if (t.storage.scope === scope) outer.add(t.storage);
    return result;
  } finally {
    steps.current = outer;
    noGradScopes.push(...savedScopes);
    noGradDepth = savedDepth;
    scope.release();
  }
}
