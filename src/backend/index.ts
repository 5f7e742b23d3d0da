// The backend selection (./current.ts) with the kernels embedded: what in-repo programs (tests,
// benchmarks) import. Library modules import ./current.ts instead, so wasmgrad/slim, which never
// reaches this file, carries no base64 copy of the kernels.
import { useEmbeddedKernels } from "./embedded.js";

useEmbeddedKernels();

export * from "./current.js";
