// examples/polynomial.ts prints what the PyTorch tutorial's programs print: the same lines as
// examples/pytorch/polynomial.py under torch 1.13 (recorded by test/reference/examples_output.py),
// numbers within float32 summation-order differences.
import { describe, expect, it } from "vitest";
import { loadGolden } from "../helpers/golden.js";
import { runProgram } from "./run.js";

/** The numbers of one printed line, and the line with them blanked out. */
function split(line: string): { words: string; numbers: number[] } {
  const numbers: number[] = [];
  const words = line.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/g, (m) => {
    numbers.push(Number(m));
    return "#";
  });
  return { words, numbers };
}

describe("examples/polynomial.ts", () => {
  it("prints torch's lines for both programs (wasm backend)", () => {
    const gold = loadGolden<{ polynomial: { args: string[]; lines: string[] } }>("examples_output").polynomial;
    const r = runProgram("examples/polynomial.ts", gold.args);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.length).toBe(gold.lines.length);
    lines.forEach((line, i) => {
      const ours = split(line),
        theirs = split(gold.lines[i]);
      expect(ours.words, `line ${i}`).toBe(theirs.words);
      // Coefficients that torch leaves at ~1e-9 are exactly 0 here: compare with an absolute floor.
      ours.numbers.forEach((v, k) =>
        expect(Math.abs(v - theirs.numbers[k]), `line ${i}: ${line} vs ${gold.lines[i]}`).toBeLessThanOrEqual(1e-4 * Math.abs(theirs.numbers[k]) + 1e-6),
      );
    });
  }, 120_000);

  it("answers --help and rejects a malformed --init", () => {
    expect(runProgram("examples/polynomial.ts", ["--help"]).stdout).toMatch(/usage: npm run polynomial/);
    const bad = runProgram("examples/polynomial.ts", ["--init", "1,2"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--init needs four numbers/);
  });
});
