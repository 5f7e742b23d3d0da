// kill -9 in the middle of training (and in the middle of a checkpoint write), then resume:
// the run must end bitwise identical to one that was never interrupted. The training runs in a
// child process (test/io-train-child.ts) on synthetic data: 4 epochs of 40 batches, Adam, an LR
// schedule, shuffling and noise from the global generator, a checkpoint every 7 steps (never at
// an epoch boundary, so every resume is mid-epoch). The killed runs sleep 2 ms per step so the
// kill surely lands before they finish; sleeping changes no numbers.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { io } from "../src/index.js";

const ROOT = join(import.meta.dirname, "..");
const CHILD = join(import.meta.dirname, "io-train-child.ts");
const MNIST_EXAMPLE = join(ROOT, "examples", "mnist-mlp.ts");
const dir = mkdtempSync(join(tmpdir(), "wasmgrad-kill9-"));
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const c of running) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

/**
 * Runs the child; `killWhen` sees each stdout line and returns true to SIGKILL the child right
 * then, or as soon as `killWhenExists` names an existing file. The child is node itself with
 * tsx as a loader (`npx tsx` would put a wrapper process between us and the trainer, and the
 * kill would miss it).
 */
function runChild(args: string[], killWhen?: (line: string) => boolean, killWhenExists?: () => boolean, script = CHILD): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=wasmgrad-source", script, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const lines: string[] = [];
    let stderr = "";
    let buffered = "";
    let killing = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (!killing && killWhen?.(line)) {
          killing = true;
          const poll = () => {
            if (killWhenExists === undefined || killWhenExists()) child.kill("SIGKILL");
            else if (child.exitCode === null) setImmediate(poll);
          };
          poll();
        }
      }
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      if (code !== 0 && signal !== "SIGKILL") reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve({ code, signal, lines });
    });
  });
}

/** Step, epoch and DataLoader position recorded in a checkpoint file. */
function positionOf(path: string) {
  const meta = JSON.parse(io.readSafetensors(path).metadata.checkpoint);
  return { step: meta.step as number, epoch: meta.epoch as number, batchesDone: meta.loader.batchesDone as number };
}

const ckptStep = (line: string) => (line.startsWith("ckpt ") ? Number(line.split(" ")[1]) : -1);

describe("kill -9 and resume", () => {
  it("killed twice mid-epoch and resumed from the last checkpoint: final state bitwise identical to an uninterrupted run", async () => {
    const refOut = join(dir, "reference.ckpt");
    const ckpt = join(dir, "run.ckpt");
    const out = join(dir, "resumed.ckpt");
    const reference = runChild(["--out", refOut]);

    const chain = (async () => {
      const first = await runChild(["--checkpoint", ckpt, "--delay", "2"], (l) => ckptStep(l) >= 50);
      expect(first.signal).toBe("SIGKILL");
      expect(first.lines.at(-1)).not.toMatch(/^done/);
      const at1 = positionOf(ckpt);
      const second = await runChild(["--checkpoint", ckpt, "--resume", "--delay", "2"], (l) => ckptStep(l) >= 100);
      expect(second.signal).toBe("SIGKILL");
      expect(second.lines[0]).toBe(`resumed ${at1.epoch} ${at1.step} ${at1.batchesDone}`);
      const at2 = positionOf(ckpt);
      const last = await runChild(["--checkpoint", ckpt, "--resume", "--out", out]);
      expect(last.code).toBe(0);
      expect(last.lines[0]).toBe(`resumed ${at2.epoch} ${at2.step} ${at2.batchesDone}`);
      expect(last.lines.at(-1)).toBe("done 160");
      return [at1, at2];
    })();
    const [ref, resumedFrom] = await Promise.all([reference, chain]);
    expect(ref.lines.at(-1)).toBe("done 160");
    console.log(`resumed from ${resumedFrom.map((at) => `step ${at.step} (epoch ${at.epoch + 1}, batch ${at.batchesDone}/40)`).join(" and ")}`);

    // Both resumes started in the middle of an epoch (40 batches each).
    for (const at of resumedFrom) {
      expect(at.batchesDone).toBeGreaterThan(0);
      expect(at.batchesDone).toBeLessThan(40);
    }
    expect(resumedFrom[0].step).toBeGreaterThanOrEqual(50);
    expect(resumedFrom[1].step).toBeGreaterThanOrEqual(100);

    const a = io.readSafetensors(refOut);
    const b = io.readSafetensors(out);
    for (const key of ["model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias", "optimizer.0.exp_avg", "optimizer.3.exp_avg_sq"]) {
      expect(Buffer.from(b.tensors[key].data.buffer).equals(Buffer.from(a.tensors[key].data.buffer)), key).toBe(true);
    }
    // Everything else too: optimizer steps and lr, scheduler, generator state, loader position.
    expect(JSON.parse(b.metadata.checkpoint)).toEqual(JSON.parse(a.metadata.checkpoint));
    expect(readFileSync(out).equals(readFileSync(refOut))).toBe(true);
  });

  it("killed while writing a checkpoint: the previous one stays intact and loadable", async () => {
    const path = join(dir, "big.ckpt");
    let midWrite = 0;
    /** The temp files of `path` (<path>.<pid>-<unique>.tmp) on disk now. */
    const temps = () => readdirSync(dir).filter((f) => f.startsWith("big.ckpt.") && f.endsWith(".tmp"));
    for (let attempt = 0; attempt < 2; attempt++) {
      // After two complete checkpoints, killed as soon as a temp file appears (the third write's).
      const run = await runChild(
        ["--write-loop", path],
        (l) => l === "saved 2",
        () => temps().length > 0,
      );
      expect(run.signal).toBe("SIGKILL");
      const saved = run.lines.filter((l) => l.startsWith("saved ")).map((l) => Number(l.split(" ")[1]));
      expect(saved.slice(0, 2)).toEqual([1, 2]); // more if a loaded machine missed the first temp file
      // The file holds a complete checkpoint: the last one reported, or the next one if its
      // rename won the race with the kill.
      const last = saved.at(-1)!;
      const { tensors, metadata } = io.readSafetensors(path);
      const step = JSON.parse(metadata.checkpoint).step as number;
      expect([last, last + 1]).toContain(step);
      expect(tensors["model.weight"].data.every((v) => v === step)).toBe(true);
      expect(tensors["model.bias"].data.every((v) => v === step)).toBe(true);
      if (temps().length > 0) {
        midWrite++;
        expect(step).toBe(last);
        for (const t of temps()) rmSync(join(dir, t));
      }
    }
    expect(midWrite).toBeGreaterThan(0);
    console.log(`kills that landed inside a write (temp file left behind): ${midWrite}/2`);
  });

  it("npm run mnist -- --checkpoint path --resume: killed mid-epoch, resumed, same losses and accuracy", async () => {
    const ckpt = join(dir, "mnist.ckpt");
    const common = ["--limit", "2000", "--epochs", "2"];
    const results = (r: Run) => r.lines.filter((l) => /^(Epoch|Test accuracy)/.test(l)).map((l) => l.replace(/\s+\(.*\)$/, ""));
    const reference = runChild(common, undefined, undefined, MNIST_EXAMPLE);
    // Killed as soon as the first mid-epoch checkpoint (step 7 of 20 in epoch 1) is on disk.
    const killed = await runChild(
      [...common, "--checkpoint", ckpt, "--checkpoint-every", "7"],
      () => true,
      () => existsSync(ckpt),
      MNIST_EXAMPLE,
    );
    expect(killed.signal).toBe("SIGKILL");
    expect(results(killed)).toEqual([]);
    const resumed = await runChild([...common, "--checkpoint", ckpt, "--checkpoint-every", "7", "--resume"], undefined, undefined, MNIST_EXAMPLE);
    expect(resumed.lines[1]).toMatch(/^Resumed from .*mnist\.ckpt: step (7|14), epoch 1 after batch (7|14)\/20$/);
    const ref = await reference;
    expect(results(ref)).toHaveLength(3);
    expect(results(resumed)).toEqual(results(ref));
  });
});
