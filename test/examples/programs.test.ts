// The ported example programs run and print the lines their torch twins (examples/pytorch/) print.
// Short runs only; the full runs and their PyTorch figures are in the README.
import { describe, expect, it } from "vitest";
import { runProgram } from "./run.js";

describe("examples/mnist-convnet.ts (pytorch/examples mnist/main.py)", () => {
  it("--dry-run trains one batch and tests, printing main.py's lines", () => {
    const r = runProgram("examples/mnist-convnet.ts", ["--dry-run", "--epochs", "1", "--test-limit", "500"]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => l !== "");
    expect(lines[0]).toMatch(/^Train Epoch: 1 \[0\/60000 \(0%\)\]\tLoss: \d\.\d{6}$/);
    expect(Number(lines[0].split("Loss: ")[1])).toBeCloseTo(Math.log(10), 0); // an untrained net guesses uniformly
    expect(lines[1]).toMatch(/^\[epoch 1: \d+\.\d s training\]$/);
    expect(lines[2]).toMatch(/^Test set: Average loss: \d\.\d{4}, Accuracy: \d+\/500 \(\d+%\)$/);
  }, 120_000);
});

describe("examples/char-rnn.ts", () => {
  it("learns from a slice of the names corpus (validation loss falls below the uniform guess) and samples", () => {
    const r = runProgram("examples/char-rnn.ts", ["--epochs", "2", "--limit", "600", "--hidden", "32", "--samples", "3"]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^char-rnn: 540 training names, 60 validation, \d+ symbols; GRU 1×32/);
    const uniform = Number(/uniform guess (\d+\.\d+)/.exec(lines[1])![1]);
    const losses = lines.slice(1, 4).map((l) => Number(/validation loss (\d+\.\d+)/.exec(l)![1]));
    expect(losses[0]).toBeCloseTo(uniform, 0);
    expect(losses[2]).toBeLessThan(losses[0] - 0.3);
    expect(lines[5]).toMatch(/^samples: [a-z' -]*, [a-z' -]*, [a-z' -]*$/);
  }, 120_000);
});

describe("examples/mnist-speedrun.ts", () => {
  it("trains the speedrun CNN for a few steps per seed and scores held-out training images far above chance", () => {
    const r = runProgram("examples/mnist-speedrun.ts", ["--epochs", "0.04", "--val", "2000", "--seeds", "2"]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^MNIST speedrun: CNN 24c5-p2-32c3-p2-256-10, Adam \+ one-cycle \(max lr 0\.005\), batch 128, 0\.04 epoch\(s\), 1 thread\(s\); scoring 2000 held-out training images$/,
    );
    expect(lines[1]).toMatch(/^seed 0: \d+\.\d\d% in \d+\.\d s of training \(18 steps\)$/);
    const summary = JSON.parse(lines[3]) as { seeds: number; meanAccuracy: number; accuracies: number[] };
    expect(summary.seeds).toBe(2);
    // 18 steps take an untrained net (10%) well past 70% on images it never saw.
    for (const a of summary.accuracies) expect(a).toBeGreaterThan(70);
    expect(summary.accuracies[0]).not.toBe(summary.accuracies[1]); // the seeds differ
  }, 120_000);
});
