// The ported example programs next to their torch twins (examples/pytorch/*.py) on this machine,
// one after the other in one run: wall time and the figures each prints (final loss, accuracy).
// Results: bench/results/examples-<date>.json (docs/benchmarks.md is generated from it).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { machineInfo, machineLine, printTable, repoDir, resultsDir, stamp, writeJson } from "./common.js";

const flags = parseFlags("npm run bench:examples --", "The example ports (polynomial, mnist-convnet, char-rnn) and their PyTorch twins, timed in one run.", {
  quick: { type: "boolean", help: "mnist-convnet on 6,400 images and char-rnn for 2 epochs (minutes instead of ~8)" },
  out: { type: "string", help: "results file (default bench/results/examples-<date>.json)" },
});
const PYTHON = process.env.REFERENCE_PYTHON ?? "/usr/bin/python3";

interface Program {
  name: string;
  ours: string;
  torch: string;
  args: string[];
  /** The figures to compare, read from the printed lines. */
  figures: (out: string) => Record<string, number>;
}

const last = (out: string, re: RegExp): number => {
  const all = [...out.matchAll(new RegExp(re.source, `${re.flags.replace("g", "")}g`))];
  return all.length === 0 ? Number.NaN : Number(all[all.length - 1][1]);
};

const programs: Program[] = [
  {
    name: "polynomial (2 × 2000 steps)",
    ours: "examples/polynomial.ts",
    torch: "examples/pytorch/polynomial.py",
    args: ["--init", "0.1,0.2,0.3,0.4"],
    figures: (out) => ({ "final loss, program 2": last(out, /^1999 ([\d.]+)$/m) }),
  },
  {
    name: `mnist-convnet (1 epoch${flags.quick ? ", 6,400 images" : ""})`,
    ours: "examples/mnist-convnet.ts",
    torch: "examples/pytorch/mnist_convnet.py",
    args: ["--epochs", "1", "--log-interval", "100", ...(flags.quick ? ["--limit", "6400"] : [])],
    figures: (out) => ({
      "training s": last(out, /\[epoch 1: ([\d.]+) s training\]/),
      "test accuracy %": (100 * last(out, /Accuracy: (\d+)\/\d+/)) / last(out, /Accuracy: \d+\/(\d+)/),
      "test loss": last(out, /Average loss: ([\d.]+)/),
    }),
  },
  {
    name: `char-rnn (${flags.quick ? 2 : 10} epochs)`,
    ours: "examples/char-rnn.ts",
    torch: "examples/pytorch/char_rnn.py",
    args: flags.quick ? ["--epochs", "2"] : [],
    figures: (out) => ({ "training s": last(out, /training time: ([\d.]+) s/), "validation loss": last(out, /validation loss ([\d.]+)/) }),
  },
];

function run(cmd: string, args: string[]): { seconds: number; out: string; error?: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: repoDir, encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" }, maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) return { seconds, out: r.stdout ?? "", error: (r.stderr || r.error?.message || "failed").trim().split("\n").pop() };
  return { seconds, out: r.stdout };
}

const machine = machineInfo();
console.log(`machine: ${machineLine(machine)}`);
const results = programs.map((p) => {
  console.log(`\n${p.name}`);
  const ours = run(process.execPath, ["--import", "tsx", "--conditions=wasmgrad-source", p.ours, ...p.args]);
  console.log(`  wasmgrad: ${ours.error ?? `${ours.seconds.toFixed(1)} s`}`);
  const torch = run(PYTHON, [p.torch, ...p.args]);
  console.log(`  PyTorch:  ${torch.error ?? `${torch.seconds.toFixed(1)} s`}`);
  return {
    name: p.name,
    args: p.args,
    wasmgrad: { wallSeconds: ours.seconds, error: ours.error, figures: ours.error ? {} : p.figures(ours.out) },
    torch: { wallSeconds: torch.seconds, error: torch.error, figures: torch.error ? {} : p.figures(torch.out) },
  };
});

console.log("\nexample programs, wasmgrad (wasm, 1 thread) vs PyTorch (1 thread); same flags");
printTable(
  ["program", "figure", "wasmgrad", "PyTorch"],
  results.flatMap((r) =>
    Object.keys({ ...r.wasmgrad.figures, ...r.torch.figures }).map((k) => [
      r.name,
      k,
      String(r.wasmgrad.figures[k as never] ?? "-"),
      String(r.torch.figures[k as never] ?? "-"),
    ]),
  ),
);
const file = flags.out ?? path.join(resultsDir, `examples-${stamp().slice(0, 10)}.json`);
writeJson(file, { date: new Date().toISOString(), machine, quick: flags.quick, results });
console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
