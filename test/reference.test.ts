// The golden files under test/reference/golden are committed outputs of the generators in
// test/reference/ (run by `npm run test:reference`): each records the script, the library
// versions and the seed that produced it, and each generator has its output committed.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const DIR = join(import.meta.dirname, "reference");
const GOLDEN = join(DIR, "golden");

/** The meta header of a golden JSON file (NaN/Infinity, which Python writes, read as strings). */
function metaOf(f: string): Record<string, unknown> | undefined {
  return JSON.parse(readFileSync(f, "utf8").replace(/\b(-?Infinity|NaN)\b/g, '"$1"')).meta;
}

/** JSON files of the Hugging Face and PEFT folder formats (config.json, adapter_config.json, shard indexes). */
const FOLDER_FORMAT_FILES = new Set(["config.json", "adapter_config.json", "model.safetensors.index.json"]);

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return jsonFiles(p);
    // (checkpoint and adapter folders hold the formats' own JSON files, which carry no meta header)
    return f.endsWith(".json") && !FOLDER_FORMAT_FILES.has(f) ? [p] : [];
  });
}

describe("golden files", () => {
  const files = jsonFiles(GOLDEN);
  it("exist, and each names the script, versions and seed that produced it", () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const meta = metaOf(f) as { script: string; python: string; numpy: string; seed: unknown };
      expect(meta, `${f}: no meta header`).toBeDefined();
      expect(meta.script, f).toMatch(/^test\/reference\/\w+\.py$/);
      expect(meta.python, f).toMatch(/^3\.\d+/);
      expect(meta.numpy, f).toMatch(/^\d+\.\d+/);
      expect(typeof meta.seed, f).toBe("number");
      expect(readdirSync(DIR), `${f}: its script is missing`).toContain(meta.script.split("/").pop());
    }
  });

  it("every generator has committed output", () => {
    const scripts = readdirSync(DIR).filter((f) => f.endsWith(".py") && f !== "golden_io.py");
    const produced = new Set(files.map((f) => String(metaOf(f)?.script).split("/").pop()));
    for (const s of scripts) expect(produced.has(s), `${s} has no golden file`).toBe(true);
  });
});
