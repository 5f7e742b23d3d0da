// The kernel module: every export takes raw pointers (byte offsets) and sizes, allocates
// nothing and keeps no state. The TypeScript side owns the memory (src/backend/heap.ts).
export * from "./gemm";
export * from "./elementwise";
export * from "./reduce";
export * from "./loss";
export * from "./optim";
export * from "./conv";
export * from "./norm";
export * from "./augment";

// First byte the kernels do not use: the allocator starts above it.
export function heap_base(): usize {
  return __heap_base;
}
