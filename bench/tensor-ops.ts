// The tensor-op rows of bench/kernels.ts: transformer-sized data (64×512×768) through the Tensor
// API, and the same ops timed in real PyTorch on one thread by bench/pytorch/kernels.py.
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { Backend } from "../src/backend/index.js";
import { tensor } from "../src/tensor.js";
import { bmm, cat, gelu, layerNorm, softmax } from "../src/ops/index.js";
import { benchDir, lcg, openblasEnv } from "./common.js";

/** One op: its work per call (FLOP or bytes) and a setup returning the call. */
export interface TensorOpCase {
  name: string;
  shape: string;
  unit: "GFLOP/s" | "GB/s";
  work: number;
  setup: (be: Backend) => () => void;
}

const [T, D] = [512, 768];
const rnd = lcg(777);
const values = (n: number) => Float32Array.from({ length: n }, rnd);
const t = (be: Backend, data: Float32Array, shape: number[]) => tensor(data, { shape, backend: be });

/** The memory-bound ops over [B, 512, 768]; names match bench/pytorch/kernels.py's keys. */
function sizedCases(B: number): TensorOpCase[] {
  const N = B * T * D;
  let data: Float32Array | null = null; // made on first use: --help must not wait for 100 MB of random numbers
  const big = () => (data ??= values(N));
  const shape = `[${B},${T},${D}]`;
  return [
    {
      name: `softmax(-1) ${shape}`,
      shape,
      unit: "GB/s",
      work: 8 * N,
      setup: (be) => {
        const x = t(be, big(), [B, T, D]);
        return () => {
          softmax(x, -1);
        };
      },
    },
    {
      name: `layerNorm(768) ${shape}`,
      shape,
      unit: "GB/s",
      work: 8 * N,
      setup: (be) => {
        const x = t(be, big(), [B, T, D]),
          w = t(be, values(D), [D]),
          b = t(be, values(D), [D]);
        return () => {
          layerNorm(x, [D], w, b);
        };
      },
    },
    {
      name: `gelu (erf) ${shape}`,
      shape,
      unit: "GB/s",
      work: 8 * N,
      setup: (be) => {
        const x = t(be, big(), [B, T, D]);
        return () => {
          gelu(x);
        };
      },
    },
    {
      name: `cat(-1) of two halves ${shape}`,
      shape: `2×[${B},${T},${D / 2}]`,
      unit: "GB/s",
      work: 8 * N,
      setup: (be) => {
        const h1 = t(be, big().subarray(0, N / 2), [B, T, D / 2]),
          h2 = t(be, big().subarray(N / 2), [B, T, D / 2]);
        return () => {
          cat([h1, h2], -1);
        };
      },
    },
    {
      name: `permute(0,2,1).contiguous() ${shape}`,
      shape,
      unit: "GB/s",
      work: 8 * N,
      setup: (be) => {
        const x = t(be, big(), [B, T, D]);
        return () => {
          x.permute(0, 2, 1).contiguous();
        };
      },
    },
  ];
}

/**
 * Batched matmul, then the memory-bound ops at 64×512×768 (100 MB per tensor: PyTorch maps a
 * fresh output from the OS on every call, page faults included) and at 8×512×768 (12.6 MB,
 * which glibc's allocator reuses, so torch's figure is the op alone).
 */
export const tensorOpCases: TensorOpCase[] = [
  {
    name: "bmm 8×128×64·64×128",
    shape: "[8,128,64]·[8,64,128]",
    unit: "GFLOP/s",
    work: 2 * 8 * 128 * 128 * 64,
    setup: (be) => {
      const a = t(be, values(8 * 128 * 64), [8, 128, 64]),
        b = t(be, values(8 * 64 * 128), [8, 64, 128]);
      return () => {
        bmm(a, b);
      };
    },
  },
  ...sizedCases(64),
  ...sizedCases(8),
];

/** Runs bench/pytorch/kernels.py with Debian's python3 (or REFERENCE_PYTHON): seconds per call by op name. */
export function runTorchBench(budgetMs: number): { version: string; ops: Record<string, { best: number; median: number }> } | { error: string } {
  const python = process.env.REFERENCE_PYTHON ?? "/usr/bin/python3";
  const r = spawnSync(python, [path.join(benchDir, "pytorch", "kernels.py"), String(budgetMs / 1000)], {
    encoding: "utf8",
    env: openblasEnv(1),
    timeout: 600_000,
  });
  if (r.status !== 0)
    return {
      error: `${python} bench/pytorch/kernels.py failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()} (apt-get install -y python3-torch)`,
    };
  const { torch, ...ops } = JSON.parse(r.stdout) as Record<string, { best: number; median: number }> & { torch: string };
  return { version: torch, ops };
}
