// The MNIST speedrun in the browser playground: headless Chromium opens the playground page with
// the speedrun CNN and its recipe (?model=speedrun: Adam, one-cycle to lr 0.005, batch 128, 2
// epochs, seed 0), trains in the page's Web Worker on all 60,000 images with 1 and then 2 kernel
// threads, and reports the seconds of training (the worker's per-epoch times, evaluation not
// counted) and the accuracy on the 10,000 test images — next to `npm run mnist:speedrun` in Node.
//   npm run bench:speedrun-browser [-- --threads 1,2] [-- --out file.json]
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { type Playground, startPlayground } from "../examples/browser/server.js";
import { chromiumLaunchOptions } from "../test/runtimes/harness.js";
import { machineInfo, machineLine, printTable, resultsDir, stamp, writeJson } from "./common.js";

const flags = parseFlags(
  "npm run bench:speedrun-browser --",
  "The speedrun CNN trained to the end in the browser playground (headless Chromium, Web Worker) with 1 and 2 threads: seconds of training and test accuracy.",
  {
    threads: { type: "string", default: "1,2", help: "comma-separated thread counts, one full run each" },
    out: { type: "string", help: "results file (default bench/results/speedrun-browser-<date>.json)" },
  },
);

interface Epoch {
  epoch: number;
  testAccuracy: number;
  loss: number;
  seconds: number;
}

const { executablePath, args, source } = await chromiumLaunchOptions();
const { chromium } = await import("playwright-core");
const playground: Playground = await startPlayground({ port: 0 });
const browser = await chromium.launch({ executablePath, args });
const version = browser.version();
const results: { threads: number; threadsUsed: number; trainSeconds: number; testAccuracy: number; epochs: Epoch[] }[] = [];
try {
  for (const threads of flags.threads.split(",").map(Number)) {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${playground.url}?model=speedrun&threads=${threads}`);
    await page.waitForFunction("window.__playground?.ready === true", null, { timeout: 120_000 });
    await page.click("#train");
    await page.waitForFunction("window.__playground.training === false && window.__playground.epochs.length >= 2", null, { timeout: 900_000, polling: 500 });
    const s = (await page.evaluate("window.__playground")) as { epochs: Epoch[]; errors: string[] };
    const threadsUsed = Number(await page.evaluate("window.__playground.threads ?? 0"));
    if (errors.length > 0 || s.errors.length > 0) throw new Error(`the page failed: ${[...errors, ...s.errors].join("; ")}`);
    const r = {
      threads,
      threadsUsed,
      trainSeconds: s.epochs.reduce((t, e) => t + e.seconds, 0),
      testAccuracy: s.epochs.at(-1)!.testAccuracy,
      epochs: s.epochs,
    };
    results.push(r);
    console.log(`${threads} thread(s): ${r.trainSeconds.toFixed(1)} s of training, test accuracy ${(100 * r.testAccuracy).toFixed(2)}%`);
    await page.close();
  }
} finally {
  await browser.close();
  await playground.close();
}

const machine = machineInfo();
console.log(`\nMNIST speedrun in the browser playground (Chromium ${version} from ${source}, headless), seed 0; ${machineLine(machine)}`);
printTable(
  ["threads", "training s", "test accuracy"],
  results.map((r) => [String(r.threads), r.trainSeconds.toFixed(1), `${(100 * r.testAccuracy).toFixed(2)}%`]),
);
const out = flags.out ?? path.join(resultsDir, `speedrun-browser-${stamp()}.json`);
writeJson(out, { date: new Date().toISOString(), machine, chromium: version, results });
console.log(`results: ${path.relative(process.cwd(), out)}`);
