// The allocator that owns a backend's linear memory. Blocks are 64-byte aligned (whole cache
// lines, and v128-aligned) and rounded up to size classes; freed blocks go to a free list per
// class and are handed out again first, so a training loop that allocates the same shapes every
// step reuses the same blocks and the memory stops growing after the first step.
import { OutOfMemoryError } from "../errors.js";

const PAGE = 65536;
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

export class Heap {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private readonly blockSize = new Map<number, number>();
  private live = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly base: number,
    /** Upper bound for the memory, in bytes; requests beyond it throw OutOfMemoryError. */
    readonly maxBytes: number,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
  }

  /** Returns the byte offset of a block of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): number {
    const size = sizeClass(bytes);
    const list = this.freeLists.get(size);
    let ptr: number;
    if (list !== undefined && list.length > 0) {
      ptr = list.pop()!;
    } else {
      ptr = this.top;
      this.ensure(ptr + size, bytes);
      this.top = ptr + size;
    }
    this.blockSize.set(ptr, size);
    this.live += size;
    return ptr;
  }

  free(ptr: number): void {
    const size = this.blockSize.get(ptr);
    if (size === undefined) throw new Error(`heap: free of unknown block at ${ptr}`);
    this.blockSize.delete(ptr);
    this.live -= size;
    let list = this.freeLists.get(size);
    if (list === undefined) this.freeLists.set(size, (list = []));
    list.push(ptr);
  }

  stats(): HeapStats {
    return {
      liveBytes: this.live,
      reservedBytes: this.top - this.base,
      memoryBytes: this.memory.buffer.byteLength,
      liveBlocks: this.blockSize.size,
    };
  }

  private ensure(end: number, requested: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const fail = () =>
      new OutOfMemoryError(
        `cannot allocate ${formatBytes(requested)}: ${formatBytes(this.live)} in use, ` +
          `memory limit ${formatBytes(this.maxBytes)} (free tensors, use smaller batches, ` +
          `or raise maxMemoryBytes)`,
      );
    if (end > this.maxBytes) throw fail();
    // Grow geometrically (×1.5) so a growing workload does not grow page by page.
    const want = Math.min(this.maxBytes, Math.max(end, Math.floor(have * 1.5)));
    const pages = Math.ceil((want - have) / PAGE);
    try {
      this.memory.grow(pages);
    } catch {
      const minimal = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(minimal);
      } catch {
        throw fail();
      }
    }
  }
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
