// Direct SIMD convolution vs im2col + gemm, forward pass
// of models.MnistCNN's two 3×3 layers at batch 64, side by side in one run. The direct kernel
// (bench/experiments/conv-direct.as.ts) is compiled here and runs on its own memory; wasmgrad's conv2d runs on
// the wasm backend. Both outputs are compared before anything is timed.
//   npm run bench:conv-direct [-- --out file.json]
import path from "node:path";
import { parseFlags } from "../../src/cli/flags.js";
import { compileAs } from "../asc.js";
import { createBackend } from "../../src/backend/index.js";
import { tensor } from "../../src/tensor.js";
import { conv2d } from "../../src/ops/index.js";
import { noGrad } from "../../src/lifetime.js";
import { lcg, machineInfo, machineLine, printTable, resultsDir, stamp, time, writeJson } from "../common.js";

const values = parseFlags("npm run bench:conv-direct --", "Experiment: a direct 3×3 convolution kernel against im2col + gemm.", {
  out: { type: "string", help: "results file" },
});

interface DirectExports {
  memory: WebAssembly.Memory;
  scratch_bytes(C: number, H: number, W: number): number;
  conv3x3(y: number, x: number, w: number, N: number, C: number, H: number, W: number, O: number, xp: number): void;
}

const rnd = lcg(11);

const k = (await compileAs("experiments/conv-direct.as.ts", "conv-direct.wasm")).exports as unknown as DirectExports;
const wasm = createBackend("wasm", { shared: false });
const cases = [
  { name: "conv1 1→32 3×3 pad 1, 28×28", N: 64, C: 1, H: 28, O: 32 },
  { name: "conv2 32→64 3×3 pad 1, 14×14", N: 64, C: 32, H: 14, O: 64 },
];
const results = cases.map((c) => {
  const { N, C, H, O } = c;
  const xs = Float32Array.from({ length: N * C * H * H }, rnd);
  const ws = Float32Array.from({ length: O * C * 9 }, rnd);
  const flop = 2 * N * O * H * H * C * 9;

  // direct: buffers placed above whatever the module uses, memory grown to fit
  const bytes = [xs.length * 4, ws.length * 4, N * O * H * H * 4, k.scratch_bytes(C, H, H)];
  let at = k.memory.buffer.byteLength;
  const need = at + bytes.reduce((s, b) => s + b + 64, 0);
  k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
  const [px, pw, py, pxp] = bytes.map((b) => {
    const p = Math.ceil(at / 64) * 64; // 64-byte aligned, one after the other
    at = p + b;
    return p;
  });
  new Float32Array(k.memory.buffer, px, xs.length).set(xs);
  new Float32Array(k.memory.buffer, pw, ws.length).set(ws);
  const direct = () => k.conv3x3(py, px, pw, N, C, H, H, O, pxp);

  const x = tensor(xs, { shape: [N, C, H, H], backend: wasm });
  const w = tensor(ws, { shape: [O, C, 3, 3], backend: wasm });
  const viaGemm = () =>
    noGrad(() => {
      conv2d(x, w, null, { padding: 1 });
    });

  // same output (to float32 rounding: the two sum the taps in different orders)
  direct();
  const ref = noGrad(() => Float32Array.from(conv2d(x, w, null, { padding: 1 }).toArray()));
  const got = new Float32Array(k.memory.buffer, py, ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / (1 + Math.abs(ref[i])));
  if (!(worst < 1e-5)) throw new Error(`${c.name}: the direct kernel disagrees with conv2d (relative error ${worst})`);

  // alternate the two so a busy moment hits both
  const d: number[] = [],
    g: number[] = [];
  for (let r = 0; r < 4; r++) {
    d.push(time(direct, 300).best);
    g.push(time(viaGemm, 300).best);
  }
  const bestD = Math.min(...d),
    bestG = Math.min(...g);
  x.dispose();
  w.dispose();
  return {
    ...c,
    flop,
    directUs: bestD * 1e6,
    im2colGemmUs: bestG * 1e6,
    directGflops: flop / bestD / 1e9,
    im2colGemmGflops: flop / bestG / 1e9,
    maxRelError: worst,
  };
});

console.log(machineLine(machineInfo()));
console.log("\nconv2d forward, batch 64: direct SIMD kernel vs im2col + gemm (wasmgrad's conv2d), best of 4 rounds");
printTable(
  ["layer", "direct µs", "direct GFLOP/s", "im2col+gemm µs", "im2col+gemm GFLOP/s", "faster"],
  results.map((r) => [
    r.name,
    r.directUs.toFixed(0),
    r.directGflops.toFixed(1),
    r.im2colGemmUs.toFixed(0),
    r.im2colGemmGflops.toFixed(1),
    r.directUs < r.im2colGemmUs ? `direct ${(r.im2colGemmUs / r.directUs).toFixed(2)}×` : `im2col ${(r.directUs / r.im2colGemmUs).toFixed(2)}×`,
  ]),
);
const out = values.out ?? path.join(resultsDir, `conv-direct-${stamp().slice(0, 10)}.json`);
writeJson(out, { machine: machineInfo(), results });
console.log(`results: ${path.relative(process.cwd(), out)}`);
