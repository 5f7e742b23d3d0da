// The allocator on its own: blocks never overlap, a training loop's repeating sizes reuse their
// blocks, and at the memory limit freed neighbours merge so a big request fits where enough free
// memory lies together (checked against a plain interval model of the memory, not the heap).
import { describe, expect, it } from "vitest";
import { Heap, sizeClass } from "../src/backend/heap.js";
import { OutOfMemoryError } from "../src/errors.js";
import { Generator } from "../src/random.js";

const PAGE = 65536;
const BASE = 1024;

function smallHeap(pages: number): { heap: Heap; memory: WebAssembly.Memory } {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: pages });
  return { heap: new Heap(memory, BASE, pages * PAGE), memory };
}

/** Live blocks as [start, end) byte ranges; throws if a new one overlaps or leaves the memory. */
class Intervals {
  readonly live = new Map<number, number>();
  add(ptr: number, bytes: number, memoryBytes: number): void {
    expect(ptr % 64, "64-byte aligned").toBe(0);
    expect(ptr >= BASE && ptr + bytes <= memoryBytes, `block [${ptr}, ${ptr + bytes}) inside the memory`).toBe(true);
    for (const [p, n] of this.live) {
      expect(ptr + bytes <= p || p + n <= ptr, `block [${ptr}, ${ptr + bytes}) overlaps live [${p}, ${p + n})`).toBe(true);
    }
    this.live.set(ptr, bytes);
  }
}

describe("heap", () => {
  it("hands the same block back to a repeating size", () => {
    const { heap } = smallHeap(4);
    const a = heap.alloc(1000);
    heap.free(a);
    expect(heap.alloc(1000)).toBe(a);
    expect(heap.alloc(990)).not.toBe(a); // a is live again
  });

  it("at the limit, merges freed neighbours for a big request and keeps live blocks intact", () => {
    const { heap, memory } = smallHeap(4); // 256 KiB
    const small: number[] = [];
    for (let i = 0; i < 40; i++) small.push(heap.alloc(4096)); // 160 KiB in 4 KiB blocks
    const keep = heap.alloc(60000); // above them: the top cannot fall back past it
    new Uint8Array(memory.buffer, keep, 60000).fill(7);
    for (const p of small) heap.free(p);
    // 100 KB: no free block is that big and the top has no room for it — until the 40 freed
    // neighbours are merged (before merging, this threw OutOfMemoryError).
    const big = heap.alloc(100000);
    expect(big).toBeGreaterThanOrEqual(small[0]);
    expect(big + 100000).toBeLessThanOrEqual(keep);
    // the rest of the merged run is split off and usable
    const rest = heap.alloc(40000);
    expect(rest >= big + sizeClass(100000) || rest + 40000 <= big).toBe(true);
    expect(new Uint8Array(memory.buffer, keep, 60000).every((v) => v === 7)).toBe(true);
    expect(() => heap.alloc(200000)).toThrow(OutOfMemoryError);
    heap.free(big);
    heap.free(rest);
    heap.free(keep);
    // everything free: one request of 3 of the 4 pages (a size class that fits) fits again
    expect(() => heap.alloc(3 * PAGE)).not.toThrow();
  });

  it("random sizes at the memory limit: live blocks never overlap; freeing everything gives it all back", () => {
    const g = new Generator(21);
    const { heap, memory } = smallHeap(8); // 512 KiB
    const model = new Intervals();
    const order: number[] = [];
    let failures = 0;
    for (let step = 0; step < 4000; step++) {
      if (order.length > 0 && g.randint(100) < 45) {
        const i = g.randint(order.length);
        const p = order[i];
        order.splice(i, 1);
        heap.free(p);
        model.live.delete(p);
        continue;
      }
      // mostly small, sometimes large: the mix that fragments a size-class heap
      const bytes = g.randint(10) === 0 ? 20000 + g.randint(120000) : 64 + g.randint(6000);
      try {
        const p = heap.alloc(bytes);
        model.add(p, bytes, memory.buffer.byteLength);
        order.push(p);
      } catch (e) {
        expect(e).toBeInstanceOf(OutOfMemoryError);
        failures++;
        // a failure means the live blocks, rounded to their classes, really leave no room
        let live = 0;
        for (const n of model.live.values()) live += sizeClass(n);
        expect(live + sizeClass(bytes), `failed to allocate ${bytes} B with ${live} B live`).toBeGreaterThan((8 * PAGE) / 2);
      }
    }
    expect(failures).toBeGreaterThan(0); // the limit was really reached
    for (const p of order) heap.free(p);
    expect(heap.stats().liveBytes).toBe(0);
    expect(() => heap.alloc(7 * PAGE)).not.toThrow(); // 7 of the 8 pages, a size class that fits
  });
});
