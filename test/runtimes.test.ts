// The package as users get it, in every runtime we promise. One `npm pack` → `npm install` of the
// tarball into a fresh project outside the repo, then:
//   - consumer: a plain-JS program there trains the seed MLP a few steps (loss falls), and a
//     TypeScript program plus examples/worker type-check against the published .d.ts files;
//   - the determinism script (test/runtimes/determinism.ts) in Node, Deno and Bun (importing the
//     installed package), headless Chromium on the main thread and in a module Web Worker (esbuild
//     bundle served from localhost), and workerd via miniflare (bundled as wrangler does, through
//     the "workerd" export condition): every runtime must print the same loss bits and weight
//     checksum as Node.
// A missing runtime is a failure with the fix in the message, never a skip.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, extname, join } from "node:path";
import * as wasmgrad from "../src/index.js";
import { type DeterminismResult, runDeterminism } from "./runtimes/determinism.js";
import { type PackedProject, bin, bundle, lastJsonLine, packAndInstall, repoRoot, requireBinary, chromiumLaunchOptions, run } from "./runtimes/harness.js";

const entries = join(repoRoot, "test/runtimes/entries");
let app: PackedProject;
let nodeResult: DeterminismResult;

/** The modules of dir that `entry` imports, directly or not (static relative imports of .js files), entry included. */
function reachable(dir: string, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(join(dir, file), "utf8").matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s*"(\.{1,2}\/[^"]+\.js)"/g))
      visit(join(dirname(file), m[1]));
  };
  visit(entry);
  return [...seen];
}

/** The bits every runtime must reproduce. */
const fingerprint = (r: DeterminismResult) => ({
  steps: r.steps,
  finalLossBits: r.finalLossBits,
  checksum: r.checksum,
  adamChecksum: r.adamChecksum,
  adamFinalLossBits: r.adamFinalLossBits,
});
const report = (r: DeterminismResult) =>
  console.log(
    `${r.runtime.padEnd(18)} loss ${r.firstLoss.toFixed(4)} → ${r.finalLoss} (0x${r.finalLossBits})  ` +
      `weights fnv1a ${r.checksum}  adam ${r.adamChecksum}/0x${r.adamFinalLossBits}  ${r.ms} ms`,
  );

beforeAll(async () => {
  app = packAndInstall();
  // Node, as the reference: the installed package, bundled entry with "wasmgrad" external.
  await bundle(join(entries, "cli.ts"), join(app.dir, "determinism.mjs"), { installedIn: app.dir, platform: "neutral", externalWasmgrad: true });
  nodeResult = lastJsonLine<DeterminismResult>(run(process.execPath, ["determinism.mjs"], { cwd: app.dir }));
  report(nodeResult);
});

afterAll(() => {
  if (app && !process.env.KEEP_TMP) rmSync(dirname(app.dir), { recursive: true, force: true });
});

describe("the npm package", () => {
  it("ships dist (both entries, types, kernels.wasm), README, CHANGELOG and LICENSE, and nothing else", () => {
    for (const f of [
      "package.json",
      "README.md",
      "LICENSE",
      "dist/index.js",
      "dist/entry-workerd.js",
      "dist/kernels.wasm",
      "dist/index.d.ts",
      "dist/nn/index.d.ts",
    ]) {
      expect(app.files, f).toContain(f);
    }
    expect(app.files.filter((f) => !(f.startsWith("dist/") || ["package.json", "README.md", "CHANGELOG.md", "LICENSE"].includes(f)))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(app.dir, "node_modules/wasmgrad/package.json"), "utf8"));
    // Only the default entry (it hands its embedded kernels to the backend), the workerd entry (it
    // hands the imported module to useWasmModule) and backend/index.js (the default entry's twin for
    // in-repo programs) have side effects; every other module of dist may be dropped by a bundler
    // when nothing of it is used. The src/ twins are named for this repository's own bundles (the
    // playground imports src/).
    expect(pkg.sideEffects).toEqual(["./dist/index.js", "./dist/entry-workerd.js", "./dist/backend/index.js", "./src/index.ts", "./src/backend/index.ts"]);
    // dist is one module per source module: a namespace the program does not use is a file the bundler drops.
    for (const f of ["dist/api.js", "dist/lora/index.js", "dist/models/hf-bert.js", "dist/nn/index.js"]) expect(app.files, f).toContain(f);
    expect(app.files.filter((f) => /\.test\.|(^|\/)test\//.test(f))).toEqual([]);
    expect(pkg.exports["./slim"].default).toBe("./dist/slim.js");
    // Condition order matters (the first match wins): source (this repo's tools) first, types
    // before any code, workerd before default.
    const conditions = Object.keys(pkg.exports["."]);
    expect(conditions[0]).toBe("wasmgrad-source");
    expect(conditions[1]).toBe("types");
    expect(conditions.indexOf("workerd")).toBeLessThan(conditions.indexOf("default"));
    expect(conditions[conditions.length - 1]).toBe("default");
    expect(pkg.exports["./kernels.wasm"]).toBe("./dist/kernels.wasm");
  });

  it("installs from the tarball and trains in a fresh project: the loss falls", () => {
    writeFileSync(
      join(app.dir, "train.mjs"),
      `
import { DataLoader, data, manualSeed, nn, optim, tensor } from "wasmgrad";
manualSeed(0);
const n = 500, x = new Float32Array(n * 784), y = new Int32Array(n);
for (let i = 0; i < n; i++) {
  y[i] = i % 10;
  for (let j = 0; j < 784; j++) x[i * 784 + j] = ((j * 31 + y[i] * 97) % 17) / 17 - 0.5 + ((i * 7 + j) % 5) / 50;
}
const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
const criterion = new nn.CrossEntropyLoss();
const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
const loader = new DataLoader(new data.TensorDataset(tensor(x, { shape: [n, 784] }), tensor(y, { shape: [n], dtype: "int32" })), { batchSize: 50, shuffle: true });
const losses = [];
for (const [images, labels] of loader) {
  optimizer.zeroGrad();
  const loss = criterion(model(images), labels);
  loss.backward();
  optimizer.step();
  losses.push(loss.item());
}
console.log(JSON.stringify(losses));
`,
    );
    const losses = lastJsonLine<number[]>(run(process.execPath, ["train.mjs"], { cwd: app.dir }));
    console.log(`consumer (node, installed tarball): ${losses.length} steps, loss ${losses[0].toFixed(4)} → ${losses[losses.length - 1].toFixed(4)}`);
    expect(losses).toHaveLength(10);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.8);
  });

  it("exports wasmgrad/kernels.wasm: initWasm(import.meta.resolve(...)) loads it from disk in Node", () => {
    writeFileSync(
      join(app.dir, "init-url.mjs"),
      `
import { getBackend, initWasm, tensor } from "wasmgrad";
const url = import.meta.resolve("wasmgrad/kernels.wasm");
const module = await initWasm(url);
const y = tensor([1, 2, 3]).mul(tensor([4, 5, 6])).toArray();
console.log(JSON.stringify({ url, exports: WebAssembly.Module.exports(module).length, y: Array.from(y), backend: getBackend().name }));
`,
    );
    const r = lastJsonLine<{ url: string; exports: number; y: number[]; backend: string }>(run(process.execPath, ["init-url.mjs"], { cwd: app.dir }));
    expect(r.url).toMatch(/node_modules\/wasmgrad\/dist\/kernels\.wasm$/);
    expect(r.exports).toBeGreaterThan(10);
    expect(r.y).toEqual([4, 10, 18]);
    expect(r.backend).toBe("wasm");
  });

  it("wasmgrad/slim carries no kernels: a clear error before initWasm, then the same bits as wasmgrad", () => {
    const program = (entry: string, init: string) => `
import { DataLoader, data, initWasm, manualSeed, nn, optim, tensor } from "${entry}";
${init}
manualSeed(0);
const n = 300, x = new Float32Array(n * 784), y = new Int32Array(n);
for (let i = 0; i < n; i++) {
  y[i] = i % 10;
  for (let j = 0; j < 784; j++) x[i * 784 + j] = ((j * 31 + y[i] * 97) % 17) / 17 - 0.5 + ((i * 7 + j) % 5) / 50;
}
const model = new nn.Sequential(new nn.Linear(784, 64), new nn.ReLU(), new nn.Linear(64, 10));
const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
const loader = new DataLoader(new data.TensorDataset(tensor(x, { shape: [n, 784] }), tensor(y, { shape: [n], dtype: "int32" })), { batchSize: 50, shuffle: true });
const losses = [];
for (const [images, labels] of loader) {
  optimizer.zeroGrad();
  const loss = new nn.CrossEntropyLoss()(model(images), labels);
  loss.backward();
  optimizer.step();
  losses.push(loss.item());
}
console.log(JSON.stringify(losses));
`;
    writeFileSync(join(app.dir, "slim-no-init.mjs"), `import { tensor } from "wasmgrad/slim";\ntensor([1, 2]);\n`);
    expect(() => run(process.execPath, ["slim-no-init.mjs"], { cwd: app.dir })).toThrow(/wasmgrad\/slim\) embeds no kernels: .*initWasm/);
    writeFileSync(join(app.dir, "slim.mjs"), program("wasmgrad/slim", `await initWasm(import.meta.resolve("wasmgrad/kernels.wasm"));`));
    writeFileSync(join(app.dir, "full.mjs"), program("wasmgrad", ""));
    const slim = lastJsonLine<number[]>(run(process.execPath, ["slim.mjs"], { cwd: app.dir }));
    const full = lastJsonLine<number[]>(run(process.execPath, ["full.mjs"], { cwd: app.dir }));
    expect(slim).toHaveLength(6);
    expect(slim).toEqual(full);
    // No base64 copy of the kernels in the modules the slim or workerd entries import ("AGFzbQ" is
    // the wasm magic in base64); the default entry reaches it.
    const dist = join(app.dir, "node_modules/wasmgrad/dist");
    for (const f of ["slim.js", "entry-workerd.js"])
      expect(
        reachable(dist, f).filter((m) => readFileSync(join(dist, m), "utf8").includes('"AGFzbQ')),
        f,
      ).toEqual([]);
    expect(reachable(dist, "index.js").filter((m) => readFileSync(join(dist, m), "utf8").includes('"AGFzbQ'))).toEqual(["backend/kernels.generated.js"]);
  });

  it("type-checks a TypeScript consumer and examples/worker against the published .d.ts (no @types/node)", () => {
    writeFileSync(
      join(app.dir, "consumer.ts"),
      `
import { type Tensor, initWasm, manualSeed, nn, optim, tensor, useWasmModule } from "wasmgrad";
manualSeed(0);
const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
const opt: optim.SGD = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const out: Tensor = model(tensor([[1, 2, 3, 4]]));
const loss = new nn.CrossEntropyLoss()(out, tensor([1], { dtype: "int32" }));
loss.backward();
opt.step();
const n: number = loss.item();
export const init: (s: string | URL | WebAssembly.Module) => Promise<WebAssembly.Module> = initWasm;
export const use: (m: WebAssembly.Module) => void = useWasmModule;
export { n };
`,
    );
    mkdirSync(join(app.dir, "worker"), { recursive: true });
    copyFileSync(join(repoRoot, "examples/worker/src/index.ts"), join(app.dir, "worker/index.ts"));
    writeFileSync(
      join(app.dir, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            lib: ["ES2022", "DOM"],
            types: [],
            strict: true,
            noEmit: true,
            skipLibCheck: false,
          },
          files: ["consumer.ts", "worker/index.ts"],
        },
        null,
        2,
      ),
    );
    run(bin("tsc"), ["-p", "tsconfig.json"], { cwd: app.dir });
  });
});

describe("same bits in every runtime (seed 0, seed MLP, 20 SGD steps + 5 Adam steps)", () => {
  it("node: the installed package equals the repo's sources run under vitest, and the loss falls", () => {
    const inProcess = runDeterminism(wasmgrad, "node (vitest)");
    expect(fingerprint(nodeResult)).toEqual(fingerprint(inProcess));
    expect(nodeResult.steps).toBe(20);
    expect(nodeResult.finalLoss).toBeLessThan(nodeResult.firstLoss);
  });

  it("deno", () => {
    const deno = requireBinary("deno", "the `deno` devDependency ships it (npm ci installs it)");
    const r = lastJsonLine<DeterminismResult>(run(deno, ["run", "--no-prompt", "determinism.mjs"], { cwd: app.dir }));
    report(r);
    expect(r.runtime).toBe("deno");
    expect(fingerprint(r)).toEqual(fingerprint(nodeResult));
  });

  it("bun", () => {
    const bun = requireBinary("bun", "the `bun` devDependency ships it (npm ci installs it)");
    const r = lastJsonLine<DeterminismResult>(run(bun, ["determinism.mjs"], { cwd: app.dir }));
    report(r);
    expect(r.runtime).toBe("bun");
    expect(fingerprint(r)).toEqual(fingerprint(nodeResult));
  });

  it("chromium: page main thread, a module Web Worker, kernels loaded by URL, examples/browser-min (esbuild bundles from localhost)", async () => {
    const { executablePath, args, source } = await chromiumLaunchOptions();
    console.log(`chromium from ${source}`);
    const { chromium } = await import("playwright-core");
    const www = join(app.dir, "www");
    mkdirSync(www, { recursive: true });
    await bundle(join(entries, "browser-main.ts"), join(www, "main.js"), { installedIn: app.dir, platform: "browser" });
    await bundle(join(entries, "browser-worker.ts"), join(www, "worker.js"), { installedIn: app.dir, platform: "browser" });
    await bundle(join(entries, "browser-url.ts"), join(www, "url.js"), { installedIn: app.dir, platform: "browser", wasmAsFile: true });
    const html = (script: string) => `<!doctype html><meta charset="utf-8"><title>wasmgrad</title><script type="module" src="./${script}"></script>\n`;
    writeFileSync(join(www, "index.html"), html("main.js"));
    writeFileSync(join(www, "url.html"), html("url.js"));
    await bundle(join(repoRoot, "examples/browser-min/main.ts"), join(www, "min.js"), { installedIn: app.dir, platform: "browser" });
    writeFileSync(join(www, "min.html"), readFileSync(join(repoRoot, "examples/browser-min/index.html"), "utf8").replace("./main.js", "./min.js"));

    const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
    const server: Server = createServer((req, res) => {
      const path = join(www, new URL(req.url ?? "/", "http://x").pathname.replace(/\/$/, "/index.html"));
      try {
        const body = readFileSync(path);
        res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const port = (server.address() as AddressInfo).port;
    const browser = await chromium.launch({
      executablePath,
      args,
    });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
      const load = async (path: string) => {
        await page.goto(`http://127.0.0.1:${port}/${path}`);
        try {
          await page.waitForFunction(() => (window as unknown as { __results?: { done?: boolean } }).__results?.done === true, null, { timeout: 60_000 });
        } catch (e) {
          throw new Error(`chromium page /${path} did not finish: ${(e as Error).message}\n${logs.join("\n")}`);
        }
        return page.evaluate(() => (window as unknown as { __results: Record<string, unknown> }).__results);
      };
      const results = await load("");
      const fromUrl = await load("url.html");
      for (const [where, r] of [
        ["main", results.main],
        ["worker", results.worker],
        ["initWasm(url)", fromUrl.url],
      ] as const) {
        if (typeof r === "object" && r !== null && "error" in r) throw new Error(`chromium ${where}: ${(r as { error: string }).error}\n${logs.join("\n")}`);
        report(r as DeterminismResult);
        expect(fingerprint(r as DeterminismResult), `chromium ${where}`).toEqual(fingerprint(nodeResult));
      }

      // examples/browser-min, the program `npm run size` measures, trains on its page.
      await page.goto(`http://127.0.0.1:${port}/min.html`);
      await page
        .waitForFunction(() => document.getElementById("out")?.textContent?.includes("epoch 5"), null, { timeout: 60_000 })
        .catch((e: Error) => {
          throw new Error(`examples/browser-min did not finish: ${e.message}\n${logs.join("\n")}`);
        });
      const text = await page.evaluate(() => document.getElementById("out")?.textContent ?? "");
      const epochLosses = [...text.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
      console.log(`examples/browser-min in chromium: epoch losses ${epochLosses.join(", ")}`);
      expect(epochLosses).toHaveLength(5);
      expect(epochLosses[4]).toBeLessThan(epochLosses[0]);
    } finally {
      await browser.close();
      server.close();
    }
  });

  it("workerd (miniflare): the fetch handler trains and returns the figures as JSON (workerd entry, and useWasmModule by hand); examples/worker runs too", async () => {
    const { Miniflare } = await import("miniflare");
    // Bundled as wrangler bundles a Worker: conditions workerd, worker, browser; .wasm imports stay
    // module imports (wrangler's default CompiledWasm rule), the file sits next to the bundle.
    const wrangler = { platform: "browser" as const, conditions: ["workerd", "worker", "browser"], wasmModules: true };
    const kernels = join(app.dir, "node_modules/wasmgrad/dist/kernels.wasm");
    const dirs = {
      det: join(app.dir, "workerd-det"),
      example: join(app.dir, "workerd-example"),
      manual: join(app.dir, "workerd-manual"),
      plain: join(app.dir, "workerd-plain"),
    };
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    await bundle(join(entries, "workerd.ts"), join(dirs.det, "worker.js"), { installedIn: app.dir, ...wrangler });
    await bundle(join(repoRoot, "examples/worker/src/index.ts"), join(dirs.example, "worker.js"), { installedIn: app.dir, ...wrangler });
    // A bundler without the workerd condition picks the default entry (kernels embedded as bytes):
    // it works when the kernels are handed in with useWasmModule, and fails without.
    await bundle(join(entries, "workerd-manual.ts"), join(dirs.manual, "worker.js"), { installedIn: app.dir, platform: "browser", wasmModules: true });
    await bundle(join(entries, "workerd.ts"), join(dirs.plain, "worker.js"), { installedIn: app.dir, platform: "browser" });
    copyFileSync(kernels, join(dirs.det, "kernels.wasm"));
    copyFileSync(kernels, join(dirs.example, "kernels.wasm"));
    copyFileSync(kernels, join(dirs.manual, "kernels.wasm"));
    expect(readFileSync(join(dirs.det, "worker.js"), "utf8")).toContain('from "./kernels.wasm"');

    const worker = (name: string, dir: string) => ({
      name,
      modules: true,
      modulesRoot: dir,
      scriptPath: join(dir, "worker.js"),
      compatibilityDate: "2025-09-01",
      modulesRules: [{ type: "CompiledWasm" as const, include: ["**/*.wasm"] }],
    });
    const mf = new Miniflare({ workers: Object.entries(dirs).map(([name, dir]) => worker(name, dir)) });
    const get = async (name: string, url: string) => ((await mf.getWorker(name)) as unknown as { fetch(url: string): Promise<Response> }).fetch(url);
    try {
      for (const [name, runtime] of [
        ["det", "workerd"],
        ["manual", "workerd-manual"],
      ]) {
        const r = (await (await get(name, "http://localhost/")).json()) as DeterminismResult | { error: string };
        if ("error" in r) throw new Error(`${runtime}: ${r.error}`);
        report(r);
        expect(r.runtime).toBe(runtime);
        expect(fingerprint(r)).toEqual(fingerprint(nodeResult));
      }

      const ex = await get("example", "http://localhost/?steps=20&seed=0");
      expect(ex.status).toBe(200);
      const figures = (await ex.json()) as { steps: number; firstLoss: number; finalLoss: number; losses: number[]; accuracy: number };
      console.log(
        `examples/worker  ${figures.steps} steps, loss ${figures.firstLoss.toFixed(4)} → ${figures.finalLoss.toFixed(4)}, accuracy ${figures.accuracy}`,
      );
      expect(figures.steps).toBe(20);
      expect(figures.losses).toHaveLength(20);
      expect(figures.finalLoss).toBeLessThan(figures.firstLoss);
      // Same data and configuration as the determinism script: the same final loss bits.
      expect(figures.finalLoss).toBe(nodeResult.finalLoss);

      const plain = await get("plain", "http://localhost/");
      const p = (await plain.json()) as { error?: string };
      expect(p.error, "the default entry is expected to fail in workerd: that is why the workerd condition exists").toMatch(/disallowed/i);
    } finally {
      await mf.dispose();
    }
  });
});
