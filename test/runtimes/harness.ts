// Shared plumbing for the package and runtime tests: pack the package as npm would publish it,
// install the tarball into a fresh project outside the repository, bundle test entries against
// that installed copy, and run programs in other runtimes with loud failures.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const bin = (name: string) => join(repoRoot, "node_modules/.bin", name);

/** Runs a command; throws with its output unless it exits 0. Returns stdout. */
export function run(cmd: string, args: string[], options: { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): string {
  const r = spawnSync(cmd, args, {
    cwd: options.cwd,
    encoding: "utf8",
    timeout: options.timeoutMs ?? 120_000,
    env: options.env ?? process.env,
    maxBuffer: 64 << 20,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return r.stdout;
}

/** The last line of a program's output, parsed as JSON. */
export function lastJsonLine<T>(stdout: string): T {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** A runtime binary shipped by a devDependency; a clear error when it is missing (never a skip). */
export function requireBinary(name: string, hint: string): string {
  const path = bin(name);
  if (!existsSync(path)) throw new Error(`${name} is not installed (${path} missing): ${hint}`);
  const r = spawnSync(path, ["--version"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${name} is installed but does not run (${path} --version: ${r.stderr || r.error?.message}): ${hint}`);
  return path;
}

/** Where system browsers live (Linux packages and macOS app bundles); CHROMIUM_PATH goes first. */
const SYSTEM_CHROMIUMS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/snap/bin/chromium",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
];

/** Flags for a headless run on a machine with a closed network (no background connections). */
const HEADLESS_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * How to launch Chromium for the browser tests: a system Chromium/Chrome when one is found
 * (CHROMIUM_PATH, then the usual Linux and macOS paths), else the headless Chromium that the
 * @sparticuz/chromium devDependency ships inside its npm tarball (Linux x64), unpacked into the
 * temp directory on first use. Never skips: with no browser at all the error says how to get one.
 */
export async function chromiumLaunchOptions(): Promise<{ executablePath: string; args: string[]; source: string }> {
  const env = process.env.CHROMIUM_PATH;
  if (env) {
    if (!existsSync(env)) throw new Error(`CHROMIUM_PATH=${env} does not exist: point it at a Chromium or Chrome binary, or unset it`);
    return { executablePath: env, args: HEADLESS_FLAGS, source: "CHROMIUM_PATH" };
  }
  const system = SYSTEM_CHROMIUMS.find((p) => existsSync(p));
  if (system) return { executablePath: system, args: HEADLESS_FLAGS, source: system };
  let packaged: string;
  try {
    const { default: chromium } = await import("@sparticuz/chromium");
    packaged = await chromium.executablePath();
  } catch (e) {
    throw new Error(
      `no Chromium found (looked at ${SYSTEM_CHROMIUMS.join(", ")}) and @sparticuz/chromium could not provide one ` +
        `(${(e as Error).message}; it ships Linux x64 only): install Chromium or Chrome, or set CHROMIUM_PATH to one`,
    );
  }
  // The packaged build is made for serverless Linux: no zygote, software GL.
  return { executablePath: packaged, args: [...HEADLESS_FLAGS, "--no-zygote", "--use-gl=angle", "--use-angle=swiftshader"], source: "@sparticuz/chromium" };
}

/** Every file under dir, as paths relative to it. */
function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}

/**
 * The tests use dist/ as published: fail (with the fix) unless dist/**\/*.js is what `npm run build:js`
 * makes from the current sources. Compares contents (rebuilt into a temp dir by the script that
 * build:js runs), so touching a file or editing a comment does not count as stale.
 */
export function assertDistFresh(): void {
  const entries = ["dist/index.js", "dist/entry-workerd.js", "dist/kernels.wasm", "dist/index.d.ts"];
  for (const e of entries) {
    if (!existsSync(join(repoRoot, e))) throw new Error(`${e} is missing: run \`npm run build\` first (npm test does)`);
  }
  const script: string = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).scripts["build:js"];
  if (script !== "node scripts/build-js.mjs") {
    throw new Error(`cannot check dist/ against src/: build:js is not \`node scripts/build-js.mjs\` (${script})`);
  }
  const tmp = mkdtempSync(join(tmpdir(), "wasmgrad-distcheck-"));
  try {
    run(process.execPath, ["scripts/build-js.mjs", `--outdir=${tmp}`], { cwd: repoRoot });
    for (const name of filesUnder(tmp)) {
      const fresh = readFileSync(join(tmp, name));
      const built = join(repoRoot, "dist", name);
      if (!existsSync(built) || !fresh.equals(readFileSync(built))) {
        throw new Error(`dist/${name} does not match the current sources: run \`npm run build\` first (npm test does)`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface PackedProject {
  /** A fresh project outside the repo with the tarball installed as a dependency. */
  dir: string;
  tarball: string;
  /** Paths inside the tarball, e.g. "dist/index.js". */
  files: string[];
}

/** npm pack (dist as built) → npm install <tarball> in a new temp project. */
export function packAndInstall(): PackedProject {
  assertDistFresh();
  const root = mkdtempSync(join(tmpdir(), "wasmgrad-consumer-"));
  const out = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", root], { cwd: repoRoot });
  const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  const tarball = join(root, info[0].filename);
  const dir = join(root, "app");
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer-app", private: true, type: "module" }, null, 2));
  // The package has no runtime dependencies, so this needs no network.
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--no-package-lock", tarball], { cwd: dir });
  return { dir, tarball, files: info[0].files.map((f) => f.path) };
}

/**
 * Bundles `entry` with esbuild; "wasmgrad" resolves through the installed package's exports with
 * the given conditions, as a user's bundler would (or stays external).
 */
export async function bundle(
  entry: string,
  outfile: string,
  options: {
    installedIn: string;
    platform: esbuild.Platform;
    conditions?: string[];
    externalWasmgrad?: boolean;
    /** Leave .wasm imports as imports of "./<name>.wasm" next to the bundle, as wrangler does. */
    wasmModules?: boolean;
    /** esbuild's file loader for .wasm: the import is the URL of a copy emitted next to the bundle. */
    wasmAsFile?: boolean;
  },
): Promise<void> {
  const wasmAsModules: esbuild.Plugin = {
    name: "wasm-as-modules",
    setup(build) {
      build.onResolve({ filter: /\.wasm$/ }, async (args) => {
        if (args.pluginData !== undefined) return undefined; // our own build.resolve calls
        const real = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.path.startsWith("wasmgrad") ? options.installedIn : args.resolveDir,
          pluginData: "wasm-real",
        });
        if (real.errors.length > 0) return { errors: real.errors };
        return { path: `./${real.path.split("/").pop()}`, external: true };
      });
    },
  };
  const resolveFromApp: esbuild.Plugin = {
    name: "wasmgrad-from-installed-package",
    setup(build) {
      build.onResolve({ filter: /^wasmgrad(\/.*)?$/ }, async (args) => {
        if (options.externalWasmgrad) return { path: args.path, external: true };
        if (args.pluginData === "from-app") return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: options.installedIn, pluginData: "from-app" });
        if (r.errors.length > 0) return { errors: r.errors };
        if (!r.path.startsWith(join(options.installedIn, "node_modules", "wasmgrad"))) {
          return { errors: [{ text: `wasmgrad resolved to ${r.path}, not the installed package` }] };
        }
        return { path: r.path };
      });
    },
  };
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: options.platform,
    target: "es2022",
    conditions: options.conditions,
    loader: options.wasmAsFile ? { ".wasm": "file" } : undefined,
    logLevel: "silent",
    plugins: options.wasmModules ? [wasmAsModules, resolveFromApp] : [resolveFromApp],
  });
}
