// The long fuzz run of the file parsers (npm run fuzz): the harness of test/fuzz.test.ts
// (test/helpers/fuzz.ts) with many more cases and a seed of your choice.
//
//   npm run fuzz                                  # 200,000 cases per format, seed 1
//   npm run fuzz -- --cases 1000000 --seed 7      # more, another sequence
//   npm run fuzz -- --target checkpoint --minutes 10 --out /tmp/fuzz-failures
//
// Prints, per format: cases, how many loaded, the documented errors by class, the slowest case,
// the largest allocation relative to its bound, and every failure (also written to --out as
// <format>-<case>.bin with a .txt describing it). Exits with 1 if anything failed.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlags } from "../../src/cli/flags.js";
import { type FuzzReport, allTargets, runFuzzAsync } from "../helpers/fuzz.js";

const args = parseFlags(
  "npm run fuzz --",
  "The long fuzz run of the file parsers (IDX, safetensors, checkpoints): random and mutated inputs, each must load or fail with a documented error.",
  {
    cases: { type: "int", default: 200000, min: 1, help: "cases per format" },
    seed: { type: "int", default: 1, min: 0, help: "seed of the case sequence" },
    target: { type: "string", default: "all", choices: ["all", "idx", "safetensors", "checkpoint"], help: "which format" },
    minutes: { type: "number", min: 0, help: "stop each format after this long" },
    out: { type: "string", help: "write failing inputs here" },
    "max-case-ms": { type: "int", default: 2000, min: 1, help: "a case slower than this is a failure" },
  },
);
const { cases, seed } = args;
const maxCaseMs = args["max-case-ms"];
const targets = allTargets().filter((t) => args.target === "all" || t.name === args.target);
const budgetMs = args.minutes === undefined ? undefined : (args.minutes * 60_000) / targets.length;

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const rss0 = process.memoryUsage().rss;
console.log(
  `Fuzzing ${targets.map((t) => t.name).join(", ")}: ${cases} cases each, seed ${seed}` +
    `${budgetMs === undefined ? "" : `, at most ${(budgetMs / 60_000).toFixed(1)} min each`}`,
);
const reports: FuzzReport[] = [];
for (const t of targets) {
  const t0 = performance.now();
  const report = await runFuzzAsync(t, {
    cases,
    seed,
    maxCaseMs,
    budgetMs,
    progressEvery: Math.max(1000, Math.floor(cases / 10)),
    onProgress: (done) =>
      process.stdout.write(`  ${t.name}: ${done} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s, RSS ${mib(process.memoryUsage().rss)}\n`),
  });
  reports.push(report);
  const errors = Object.entries(report.errors)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  console.log(
    `${t.name}: ${report.cases} cases in ${(report.ms / 1000).toFixed(1)} s — loaded ${report.loaded}, ${errors}; ` +
      `${report.messages.size} distinct messages; slowest ${report.slowestMs.toFixed(1)} ms; largest allocation ${report.maxAllocBytes} B ` +
      `(${(100 * report.maxAllocRatio).toFixed(1)}% of its bound); failures ${report.failures.length}`,
  );
  for (const f of report.failures.slice(0, 20)) {
    console.log(`  FAILED case ${f.caseIndex} (${f.seedLabel}, ${f.mutations.join(" + ")}): ${f.problem.split("\n")[0]}`);
  }
  if (args.out !== undefined && report.failures.length > 0) {
    mkdirSync(args.out, { recursive: true });
    for (const f of report.failures) {
      const base = join(args.out, `${f.target}-${f.caseIndex}`);
      writeFileSync(`${base}.bin`, f.bytes);
      writeFileSync(`${base}.txt`, `seed ${seed}, case ${f.caseIndex}, from ${f.seedLabel}, mutations ${f.mutations.join(" + ")}\n${f.problem}\n`);
    }
    console.log(`  inputs written to ${args.out}`);
  }
}
const total = reports.reduce((a, r) => a + r.cases, 0);
const failed = reports.reduce((a, r) => a + r.failures.length, 0);
console.log(`${total} cases, ${failed} failures; RSS ${mib(rss0)} → ${mib(process.memoryUsage().rss)}`);
process.exit(failed > 0 ? 1 : 0);
