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
import { parseArgs } from "node:util";
import { type FuzzReport, allTargets, runFuzzAsync } from "../test/helpers/fuzz.js";

const { values: args } = parseArgs({
  options: {
    cases: { type: "string", default: "200000" },
    seed: { type: "string", default: "1" },
    target: { type: "string", default: "all" },
    minutes: { type: "string" },
    out: { type: "string" },
    "max-case-ms": { type: "string", default: "2000" },
  },
});
const cases = Number(args.cases);
const seed = Number(args.seed);
const maxCaseMs = Number(args["max-case-ms"]);
if (!Number.isSafeInteger(cases) || cases < 1 || !Number.isSafeInteger(seed)) {
  console.error("--cases and --seed must be integers");
  process.exit(2);
}
const targets = allTargets().filter((t) => args.target === "all" || t.name === args.target);
if (targets.length === 0) {
  console.error(`--target: expected idx, safetensors, checkpoint or all, got '${args.target}'`);
  process.exit(2);
}
const budgetMs = args.minutes === undefined ? undefined : (Number(args.minutes) * 60_000) / targets.length;

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
