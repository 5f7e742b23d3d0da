// Runs a program of the repository (an example, a benchmark, a script) the way its npm script
// does: node with tsx and the source condition, from the repository root.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "../..");

/** Runs `file` (relative to the root) with args; returns its exit status and output. */
export function runProgram(file: string, args: string[], timeoutMs = 300_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--conditions=wasmgrad-source", join(ROOT, file), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
