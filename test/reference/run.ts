// npm run test:reference: regenerates every golden file with real PyTorch / numpy (Debian's
// /usr/bin/python3 with python3-torch and python3-numpy), runs the tests that read them, and
// reports whether the regenerated files differ from the committed ones (deterministic
// generators must reproduce identical bytes).
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseFlags } from "../../src/cli/flags.js";

const HERE = import.meta.dirname;
const ROOT = join(HERE, "../..");
const PYTHON = process.env.REFERENCE_PYTHON ?? "/usr/bin/python3";
const args = parseFlags(
  "npm run test:reference --",
  `Regenerates the golden files in test/reference/golden/ by running every test/reference/*.py with
${PYTHON} (override with REFERENCE_PYTHON), then runs the tests that read them and prints
\`git diff --stat\` of the golden files (it should be empty: the generators are deterministic).
Needs Debian's python3-torch and python3-numpy: apt-get install -y python3-torch python3-numpy`,
  { "no-generate": { type: "boolean", help: "only run the tests against the committed files" } },
);

/** Every test file that reads a golden file (through test/helpers/golden.ts or by path). */
function goldenTests(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".test.ts") && /loadGolden|reference\/golden|"reference"/.test(readFileSync(join(dir, f), "utf8")))
    .map((f) => join("test", f))
    .sort();
}

function run(cmd: string, argv: string[], cwd = ROOT): void {
  console.log(`$ ${cmd} ${argv.join(" ")}`);
  const r = spawnSync(cmd, argv, { cwd, stdio: "inherit" });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!args["no-generate"]) {
  const probe = spawnSync(PYTHON, ["-c", "import numpy, torch; print(numpy.__version__, torch.__version__)"], { encoding: "utf8" });
  if (probe.status !== 0) {
    console.error(
      `test:reference: ${PYTHON} cannot import numpy and torch (${(probe.stderr || probe.error?.message || "").trim().split("\n").pop()}).\n` +
        "Install Debian's packages: apt-get install -y python3-torch python3-numpy (or set REFERENCE_PYTHON)",
    );
    process.exit(1);
  }
  console.log(`numpy ${probe.stdout.trim().replace(" ", ", torch ")}`);
  const generators = readdirSync(HERE)
    .filter((f) => f.endsWith(".py") && f !== "golden_io.py" && f !== "safetensors_numpy.py")
    .sort();
  for (const g of generators) run(PYTHON, [g], HERE);
  // safetensors: numpy writes files for our reader, then reads the file our writer makes.
  run(PYTHON, ["safetensors_numpy.py", "write"], HERE);
  run(process.execPath, ["--import", "tsx", "--conditions=wasmgrad-source", "test/reference/write-ours.ts"]);
  run(PYTHON, ["safetensors_numpy.py", "read"], HERE);
  // LoRA: our saveAdapter writes an adapter folder, torch loads it as PEFT would (lora.py check).
  run(process.execPath, ["--import", "tsx", "--conditions=wasmgrad-source", "test/reference/write-ours-lora.ts"]);
  run(PYTHON, ["lora.py", "check"], HERE);
  // Hugging Face folders: ours fine-tuned from hf_models.py's, loaded back into its torch modules strictly.
  run(process.execPath, ["--import", "tsx", "--conditions=wasmgrad-source", "test/reference/write-ours-hf.ts"]);
  run(PYTHON, ["hf_models.py", "read-ours"], HERE);
}
run(process.execPath, [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", ...goldenTests(join(ROOT, "test"))]);
const diff = spawnSync("git", ["diff", "--stat", "--", "test/reference/golden"], { cwd: ROOT, encoding: "utf8" });
console.log(
  diff.stdout.trim() === ""
    ? "test:reference: the regenerated golden files equal the committed ones"
    : `test:reference: regenerated golden files differ from the committed ones:\n${diff.stdout}`,
);
