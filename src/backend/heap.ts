// The allocator that owns a backend's linear memory. Blocks are 64-byte aligned (whole cache
// lines, and v128-aligned) and rounded up to size classes; freed blocks go to a free list per
// class and are handed out again first, so a training loop that allocates the same shapes every
// step reuses the same blocks and the memory stops growing after the first step. Only when the
// memory limit is reached are neighbouring free blocks merged and big free blocks split, so
// changing shapes do not run out of memory while enough of it is free.
import { OutOfMemoryError, ValueError } from "../errors.js";

const PAGE = 65536;
/** The most a wasm32 memory can hold: 65,535 pages (backend.ts's WASM32_MAX_BYTES). */
const WASM32_LIMIT_BYTES = 65535 * PAGE;
const ALIGN = 64;

/** Size class of a request: multiples of 64 up to 4 KiB, then 8 classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 4096) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}

export interface HeapStats {
  /** Bytes in blocks currently handed out. */
  liveBytes: number;
  /** Bytes ever carved from memory (live + free lists). */
  reservedBytes: number;
  /** Size of the linear memory. */
  memoryBytes: number;
  liveBlocks: number;
}

/**
 * Called when a request fails, before OutOfMemoryError is thrown (lifetime.ts releases the
 * training step in progress there); returns a note for the error message, or "".
 */
let outOfMemoryHandler: ((heap: Heap) => string) | null = null;

export function setOutOfMemoryHandler(fn: ((heap: Heap) => string) | null): void {
  outOfMemoryHandler = fn;
}

export class Heap {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private readonly blockSize = new Map<number, number>();
  private live = 0;
  /** memory.buffer.byteLength, kept here: reading a shared memory's buffer makes a new object. */
  private capacity: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly base: number,
    /** Upper bound for the memory, in bytes; requests beyond it throw OutOfMemoryError. */
    readonly maxBytes: number,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
    this.capacity = memory.buffer.byteLength;
  }

  /** Returns the byte offset of a block of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): number {
    if (!(bytes >= 0)) throw new ValueError(`heap: invalid allocation size ${bytes}`);
    // Beyond the limit (or not even a finite number): nothing can satisfy it; checked before
    // the size class, which is not exact for sizes beyond 2^53.
    if (bytes > this.maxBytes) throw this.outOfMemory(bytes);
    const size = sizeClass(bytes);
    const list = this.freeLists.get(size);
    let ptr: number;
    let block = size;
    if (list !== undefined && list.length > 0) {
      ptr = list.pop()!;
    } else if (this.grow(this.top + size) || this.trimTopAndGrow(size)) {
      ptr = this.top;
      this.top = ptr + size;
    } else {
      // No room above the top, even after giving it the free blocks lying there: take the
      // smallest larger free block, after merging neighbouring free blocks if there is none (a
      // run of freed small blocks can serve a big request), and split off what is not needed.
      let larger = this.largerFreeBlock(size);
      if (larger === null && this.coalesce() && this.grow(this.top + size)) {
        larger = [this.top, size];
        this.top += size;
      }
      larger ??= this.largerFreeBlock(size);
      if (larger === null) throw this.outOfMemory(bytes);
      [ptr, block] = larger;
      if (block > size) {
        this.addFree(ptr + size, block - size);
        block = size;
      }
    }
    this.blockSize.set(ptr, block);
    this.live += block;
    return ptr;
  }

  /** The smallest free block of at least `size` bytes, taken off its list: [ptr, its size]. */
  private largerFreeBlock(size: number): [number, number] | null {
    let best = Infinity;
    for (const [c, list] of this.freeLists) if (c >= size && c < best && list.length > 0) best = c;
    return best === Infinity ? null : [this.freeLists.get(best)!.pop()!, best];
  }

  free(ptr: number): void {
    const size = this.blockSize.get(ptr);
    if (size === undefined) throw new Error(`heap: free of unknown block at ${ptr}`);
    this.blockSize.delete(ptr);
    this.live -= size;
    this.addFree(ptr, size);
  }

  /** Files a free block under its size (a size class, or any multiple of 64 after a merge or a split). */
  private addFree(ptr: number, size: number): void {
    let list = this.freeLists.get(size);
    if (list === undefined) this.freeLists.set(size, (list = []));
    list.push(ptr);
  }

  /**
   * Merges free blocks that touch into single blocks and lowers the top past free blocks that
   * end at it; on the way to running out only (it sorts every free block). Returns whether
   * anything changed.
   */
  private coalesce(): boolean {
    const blocks: [number, number][] = [];
    for (const [size, list] of this.freeLists) for (const p of list) blocks.push([p, size]);
    blocks.sort((a, b) => a[0] - b[0]);
    this.freeLists.clear();
    let changed = false;
    for (let i = 0; i < blocks.length; ) {
      let [start, size] = blocks[i++];
      while (i < blocks.length && blocks[i][0] === start + size) {
        size += blocks[i++][1];
        changed = true;
      }
      if (start + size === this.top) {
        this.top = start;
        changed = true;
      } else {
        this.addFree(start, size);
      }
    }
    return changed;
  }

  /** Lowers the top past the free blocks that end at it (on the way to running out only). */
  /** Gives the free blocks at the top back (lowering top), then tries to grow for `size` bytes again. */
  private trimTopAndGrow(size: number): boolean {
    this.trimTop();
    return this.grow(this.top + size);
  }

  private trimTop(): void {
    const byEnd = new Map<number, [number, number[]]>();
    for (const [size, list] of this.freeLists) for (const p of list) byEnd.set(p + size, [p, list]);
    for (let hit = byEnd.get(this.top); hit !== undefined; hit = byEnd.get(this.top)) {
      const [p, list] = hit;
      list.splice(list.lastIndexOf(p), 1);
      byEnd.delete(this.top);
      this.top = p;
    }
  }

  stats(): HeapStats {
    return {
      liveBytes: this.live,
      reservedBytes: this.top - this.base,
      memoryBytes: this.memory.buffer.byteLength,
      liveBlocks: this.blockSize.size,
    };
  }

  private outOfMemory(requested: number): OutOfMemoryError {
    // At wasm32's 4 GiB there is no higher maxMemoryBytes to suggest.
    const atMax = this.maxBytes >= WASM32_LIMIT_BYTES;
    const message =
      `cannot allocate ${formatBytes(requested)}: ${formatBytes(this.live)} in use, ` +
      `memory limit ${formatBytes(this.maxBytes)}${atMax ? ", wasm32's maximum" : ""} (free tensors, use smaller batches` +
      `${atMax ? ")" : ", or raise maxMemoryBytes)"}`;
    const note = outOfMemoryHandler === null ? "" : outOfMemoryHandler(this);
    return new OutOfMemoryError(note ? `${message}; ${note}` : message);
  }

  /** Makes the memory at least `end` bytes long if the limit and the engine allow; false if not. */
  private grow(end: number): boolean {
    if (end <= this.capacity) return true;
    const have = (this.capacity = this.memory.buffer.byteLength);
    if (end <= have) return true;
    if (end > this.maxBytes) return false;
    // Grow geometrically (×1.5) so a growing workload does not grow page by page.
    const want = Math.min(this.maxBytes, Math.max(end, Math.floor(have * 1.5)));
    try {
      this.memory.grow(Math.ceil((want - have) / PAGE));
    } catch {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        return false;
      }
    }
    this.capacity = this.memory.buffer.byteLength;
    return true;
  }
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
