// npm run build:js: src/ → dist/ as one ES module per source module, so that a user's bundler keeps
// only the modules a program reaches (a single pre-bundled file turns every namespace into an
// object that bundlers keep whole). Each module is bundled on its own with every relative import
// left as an import: only third-party code that users do not install (@assemblyscript/loader, a
// devDependency) is inlined into the module that uses it. The command line, dist/cli.js, is one
// bundle of src/cli/ importing the library modules beside it.
//
//   node scripts/build-js.mjs [--outdir=dist]
// (test/runtimes/harness.ts rebuilds into a temp dir with --outdir to check that dist/ is fresh.)
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log("usage: node scripts/build-js.mjs [--outdir=dist]\nBuilds dist/*.js (one ES module per src/ module) and dist/cli.js (one bundle).");
  process.exit(0);
}
const unknown = args.filter((a) => !a.startsWith("--outdir="));
if (unknown.length > 0) {
  console.error(`build-js: unknown argument ${unknown[0]} (expected --outdir=<dir>)`);
  process.exit(2);
}
const outdir = resolve(root, args.find((a) => a.startsWith("--outdir="))?.slice("--outdir=".length) ?? "dist");
const src = join(root, "src");

/** Every library module: src/**\/*.ts except declarations and the command line. */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return p === join(src, "cli") ? [] : sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Packages the published package imports at run time (dependencies, itself, Node built-ins): left as imports. */
const keepBare = /^(wasmgrad(\/.*)?|js-tiktoken(\/.*)?|node:.*)$/;

const oneModulePerFile = {
  name: "one-module-per-file",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (a) => {
      if (a.kind === "entry-point") return undefined;
      if (a.path.endsWith(".wasm")) {
        // The kernels a module imports as a compiled module (the workerd entry): copied beside it.
        const file = resolve(a.resolveDir, a.path);
        const outDir = join(outdir, relative(src, a.resolveDir));
        mkdirSync(outdir, { recursive: true });
        copyFileSync(file, join(outdir, basename(file)));
        const rel = relative(outDir, join(outdir, basename(file)));
        return { path: rel.startsWith(".") ? rel : `./${rel}`, external: true };
      }
      if (a.path.startsWith(".")) {
        // Node's ESM loader (no bundler) needs the extension: `./x.js` in the source is `./x.js` in dist.
        if (!a.path.endsWith(".js")) return { errors: [{ text: `relative import "${a.path}" in ${relative(root, a.importer)} must end in .js` }] };
        return { path: a.path, external: true };
      }
      if (keepBare.test(a.path)) return { path: a.path, external: true };
      return undefined; // inlined: a devDependency the user does not install
    });
  },
};

const common = { format: "esm", platform: "neutral", target: "es2022", logLevel: "warning" };
await esbuild.build({ ...common, entryPoints: sources(src), outbase: src, outdir, bundle: true, plugins: [oneModulePerFile] });
// The command line: its own modules (src/cli/) in one bundle; a library module it imports by
// relative path (the embedded kernels) stays an import of that module in dist, so the program and
// "wasmgrad" share one backend state and one copy of the kernels.
const cliDir = join(src, "cli");
const libraryByPath = {
  name: "library-by-path",
  setup(build) {
    build.onResolve({ filter: /^\./ }, (a) => {
      const file = resolve(a.resolveDir, a.path);
      if (relative(cliDir, file).startsWith("..")) return { path: `./${relative(src, file)}`, external: true };
      return undefined;
    });
  },
};
await esbuild.build({
  ...common,
  entryPoints: { cli: join(cliDir, "bin.ts") },
  outdir,
  bundle: true,
  external: ["wasmgrad", "wasmgrad/*", "js-tiktoken", "node:*"],
  plugins: [libraryByPath],
});
