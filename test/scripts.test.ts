// Every program behind a package.json script answers --help with a usage text and exit code 0,
// and rejects a misspelt flag in one line, naming it with a did-you-mean suggestion (exit code 2),
// instead of running or printing a stack trace.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;

/** Scripts that run one of our TypeScript programs (`tsx [--conditions=...] file.ts`), with that file. */
const programs = Object.entries(scripts)
  .map(([name, cmd]) => [name, /^tsx (?:--conditions=\S+ )?(\S+\.ts)$/.exec(cmd)?.[1]] as const)
  .filter((e): e is readonly [string, string] => e[1] !== undefined && e[0] !== "cli"); // the CLI has its own tests (cli.test.ts)

function run(file: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=wasmgrad-source", join(ROOT, file), ...args], { cwd: ROOT });
    let stdout = "",
      stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe("package.json scripts", () => {
  it("cover the programs this test expects", () => {
    expect(programs.map(([n]) => n)).toEqual(
      expect.arrayContaining(["mnist", "mnist:convnet", "char-rnn", "polynomial", "bench:kernels", "bench", "fuzz", "soak", "playground", "test:reference"]),
    );
  });

  it.concurrent.each(programs)(
    "%s: --help prints usage; a misspelt flag is one line with a suggestion",
    async (name, file) => {
      const help = await run(file, ["--help"]);
      expect(help.status, `${name} --help: ${help.stderr}`).toBe(0);
      expect(help.stdout).toMatch(/^usage: /);
      const flags = [...help.stdout.matchAll(/^\s+(?:-\w, )?--([\w-]+)/gm)].map((m) => m[1]).filter((f) => f !== "help");

      const unknown = await run(file, ["--no-such-flag"]);
      expect(unknown.status, name).toBe(2);
      expect(unknown.stderr.trim().split("\n"), name).toHaveLength(1);
      expect(unknown.stderr).toMatch(/unknown flag --no-such-flag/);

      if (flags.length > 0) {
        const flag = flags.find((f) => f.length >= 4) ?? flags[0];
        const typo = flag.length >= 4 ? flag.slice(0, -1) : `${flag}x`;
        const r = await run(file, [`--${typo}`, "1"]);
        expect(r.status, name).toBe(2);
        expect(r.stderr.trim(), name).toMatch(new RegExp(`unknown flag --${typo} \\(did you mean --${flag}\\?\\)`));
      }
    },
    120_000,
  );
});
