// The ported example programs next to their torch twins (examples/pytorch/*.py) on this machine,
// one after the other in one run: wall time and the figures each prints (final loss, accuracy).
// Results: bench/results/examples-<date>.json (docs/benchmarks.md is generated from it).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { machineInfo, machineLine, printTable, repoDir, resultsDir, stamp, openblasEnv, writeJson } from "./common.js";

const flags = parseFlags(
  "npm run bench:examples --",
  "The example ports (polynomial, mnist-convnet, char-rnn, gpt, speedrun, finetune-bert) and their PyTorch twins, timed in one run.",
  {
    quick: {
      type: "boolean",
      help: "mnist-convnet on 6,400 images, char-rnn for 2 epochs, gpt for 200 steps, finetune-bert for 1 epoch after 100 pretraining steps (minutes instead of ~25)",
    },
    only: {
      type: "string",
      help: "run these programs only (comma-separated: polynomial, mnist-convnet, char-rnn, gpt, speedrun, finetune-bert); their results replace theirs in the day's file",
    },
    out: { type: "string", help: "results file (default bench/results/examples-<date>.json)" },
  },
);
const PYTHON = process.env.REFERENCE_PYTHON ?? "/usr/bin/python3";

interface Program {
  /** what --only selects */
  key: string;
  name: string;
  ours: string;
  torch: string;
  args: string[];
  /** flags for our program only (output paths, no sampling) */
  oursArgs?: string[];
  /** The figures to compare, read from the printed lines. */
  figures: (out: string) => Record<string, number>;
}

const last = (out: string, re: RegExp): number => {
  const all = [...out.matchAll(new RegExp(re.source, `${re.flags.replace("g", "")}g`))];
  return all.length === 0 ? Number.NaN : Number(all[all.length - 1][1]);
};

const programs: Program[] = [
  {
    key: "polynomial",
    name: "polynomial (2 × 2000 steps)",
    ours: "examples/polynomial.ts",
    torch: "examples/pytorch/polynomial.py",
    args: ["--init", "0.1,0.2,0.3,0.4"],
    figures: (out) => ({ "final loss, program 2": last(out, /^1999 ([\d.]+)$/m) }),
  },
  {
    key: "mnist-convnet",
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
    key: "char-rnn",
    name: `char-rnn (${flags.quick ? 2 : 10} epochs)`,
    ours: "examples/char-rnn.ts",
    torch: "examples/pytorch/char_rnn.py",
    args: flags.quick ? ["--epochs", "2"] : [],
    figures: (out) => ({ "training s": last(out, /training time: ([\d.]+) s/), "validation loss": last(out, /validation loss ([\d.]+)/) }),
  },
  {
    key: "gpt",
    name: `gpt (Brown corpus, char-level, 0.82M parameters, ${flags.quick ? 200 : 1000} steps)`,
    ours: "examples/gpt.ts",
    torch: "examples/pytorch/gpt.py",
    args: ["--steps", flags.quick ? "200" : "1000"],
    oursArgs: ["--sample", "0", "--out", path.join("test-output", "bench-gpt")],
    figures: (out) => ({ "training s": last(out, /training time: ([\d.]+) s/), "validation loss": last(out, /final val loss ([\d.]+)/) }),
  },
  {
    key: "speedrun",
    name: `mnist-speedrun (${flags.quick ? "1 seed, 0.2 epochs" : "2 epochs, mean of 5 seeds"})`,
    ours: "examples/mnist-speedrun.ts",
    torch: "examples/pytorch/mnist_speedrun.py",
    args: flags.quick ? ["--seeds", "1", "--epochs", "0.2"] : ["--seeds", "5"],
    figures: (out) => ({ "training s": last(out, /"meanTrainSeconds": ?([\d.]+)/), "test accuracy %": last(out, /"meanAccuracy": ?([\d.]+)/) }),
  },
  {
    // Ours pretrains the encoder (masked LM) and writes the folder and the tokenized splits; the
    // twin fine-tunes that same folder on the same token ids, so only the fine-tuning is compared.
    key: "finetune-bert",
    name: `finetune-bert (SpamAssassin spam vs ham, BERT 2×128, ${flags.quick ? "1 epoch after 100 masked-LM steps" : "2 epochs after 200 masked-LM steps"})`,
    ours: "examples/finetune-bert.ts",
    torch: "examples/pytorch/finetune_bert.py",
    args: ["--out", path.join("test-output", "bench-finetune-bert"), ...(flags.quick ? ["--epochs", "1"] : [])],
    oursArgs: flags.quick ? ["--pretrain-steps", "100"] : [],
    figures: (out) => ({
      "fine-tuning s (pretrained)": last(out, /^pretrained: .*?, ([\d.]+) s fine-tuning/m),
      "test accuracy % (pretrained)": last(out, /^pretrained: test accuracy ([\d.]+)%/m),
      "test accuracy % (from scratch)": last(out, /^from scratch: test accuracy ([\d.]+)%/m),
    }),
  },
];
const only = flags.only?.split(",").map((k) => k.trim());
const unknown = only?.filter((k) => !programs.some((p) => p.key === k)) ?? [];
if (unknown.length > 0) {
  console.error(`npm run bench:examples: --only: unknown program ${unknown.join(", ")} (expected ${programs.map((p) => p.key).join(", ")})`);
  process.exit(2);
}

function run(cmd: string, args: string[]): { seconds: number; out: string; error?: string } {
  const t0 = performance.now();
  const env = cmd === PYTHON ? openblasEnv(1) : { ...process.env, OMP_NUM_THREADS: "1" };
  const r = spawnSync(cmd, args, { cwd: repoDir, encoding: "utf8", env, maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) return { seconds, out: r.stdout ?? "", error: (r.stderr || r.error?.message || "failed").trim().split("\n").pop() };
  return { seconds, out: r.stdout };
}

const machine = machineInfo();
console.log(`machine: ${machineLine(machine)}`);
const results = programs
  .filter((p) => only === undefined || only.includes(p.key))
  .map((p) => {
    console.log(`\n${p.name}`);
    const ours = run(process.execPath, ["--import", "tsx", "--conditions=wasmgrad-source", p.ours, ...p.args, ...(p.oursArgs ?? [])]);
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
// With --only, the other programs' results of the same file stay.
const kept =
  only !== undefined && existsSync(file)
    ? (JSON.parse(readFileSync(file, "utf8")).results as typeof results).filter((r) => !results.some((n) => n.name.split(" ")[0] === r.name.split(" ")[0]))
    : [];
writeJson(file, { date: new Date().toISOString(), machine, quick: flags.quick, results: [...kept, ...results] });
console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
