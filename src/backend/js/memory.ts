// What every plain-JS kernel file works on: typed-array views over the backend's memory,
// rebuilt after the memory grows (so kernels fetch them at the start of every call).

/** The reference backend's memory and its views, handed to each kernel file. */
export interface JsMemory {
  readonly memory: WebAssembly.Memory;
  f32(): Float32Array;
  i32(): Int32Array;
  u8(): Uint8Array;
}
