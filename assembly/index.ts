// The kernel module: every export takes raw pointers (byte offsets) and sizes, allocates
// nothing and keeps no state. The TypeScript side owns the memory (src/backend/heap.ts).
export * from "./matmul";
export * from "./elementwise";
export * from "./reduce";
export * from "./loss";
export * from "./sgd";
export * from "./adam";
export * from "./rmsprop";
export * from "./adagrad";
export * from "./adadelta";
export * from "./adamax";
export * from "./nadam";
export * from "./radam";
export * from "./conv";
export * from "./norm";
export * from "./augment";
export * from "./layout";
export * from "./softmax";
export * from "./math";
export * from "./indexing";
export * from "./attention";

// First byte the kernels do not use: the allocator starts above it.
export function heapBase(): usize {
  return __heap_base;
}
