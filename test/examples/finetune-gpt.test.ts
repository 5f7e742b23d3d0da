// examples/finetune-gpt.ts on a tiny slice: a 2-layer GPT pretrained for a few steps on the Brown
// corpus, LoRA-fine-tuned on the names and compared with a GPT of the adapters' size trained from
// scratch. The printed figures must make sense: the adapter count is what r × (in + out) of the
// wrapped layers gives, the baseline is about that size, LoRA lowers the names' validation loss,
// the adapter is written in PEFT's layout and reloading it gives the same loss.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runProgram } from "./run.js";

describe("examples/finetune-gpt.ts", () => {
  it("pretrains, LoRA-fine-tunes (val loss falls), trains the same budget from scratch, saves and reloads the adapter", () => {
    const out = mkdtempSync(join(tmpdir(), "wasmgrad-finetune-gpt-"));
    try {
      const flags = ["--pretrain-steps", "150", "--pretrain-block", "32", "--layers", "2", "--heads", "2", "--embd", "32"];
      const r = runProgram("examples/finetune-gpt.ts", [...flags, "--steps", "40", "--batch", "8", "--block", "32", "--samples", "2", "--out", out]);
      expect(r.status, r.stderr).toBe(0);
      const text = r.stdout;
      const num = (re: RegExp) => Number(re.exec(text)![1].replace(/,/g, ""));
      expect(text).toMatch(/^pretraining: 150 steps of 8×32 tokens in [\d.]+ s; Brown val loss \d\.\d{4}$/m);
      expect(text).toMatch(/^names: 8,849 \(7,964 train, 885 val\)/m);

      const before = num(/val loss on names before fine-tuning: (\d\.\d{4})/);
      const uniform = num(/uniform guess (\d\.\d{4})/);
      expect(uniform).toBeCloseTo(Math.log(85), 3); // Brown's 85 characters
      // r × (in + out) summed over c_attn (32 → 96), attn.c_proj (32 → 32), c_fc (32 → 128), mlp.c_proj (128 → 32), 2 layers.
      const trainable = num(/base frozen: ([\d,]+) trainable parameters/);
      expect(trainable).toBe(2 * 8 * (128 + 64 + 160 + 160));
      const after = num(/LoRA: val loss (\d\.\d{4}) after 40 steps of 8×32 tokens/);
      expect(after).toBeLessThan(before - 0.1);
      const scratchParams = num(/from scratch: GPT with 2 layers, 4 heads, embd \d+: ([\d,]+) trainable parameters/);
      expect(Math.abs(scratchParams - trainable) / trainable).toBeLessThan(0.15);
      const scratch = num(/from scratch: val loss (\d\.\d{4})/);
      expect(scratch).toBeLessThan(uniform);
      expect(text).toMatch(/^ {2}LoRA {9}\S.*, \S/m); // two sampled names

      const config = JSON.parse(readFileSync(join(out, "adapter", "adapter_config.json"), "utf8"));
      expect(config).toMatchObject({ peft_type: "LORA", r: 8, lora_alpha: 16, target_modules: ["c_attn", "c_proj", "c_fc"], task_type: "CAUSAL_LM" });
      expect(existsSync(join(out, "adapter", "adapter_model.safetensors"))).toBe(true);
      expect(num(/lora\.loadAdapter: val loss (\d\.\d{4}) \(identical\)/)).toBe(after);

      // --base loads the saved base instead of pretraining: the same loss before fine-tuning.
      const again = runProgram("examples/finetune-gpt.ts", [
        "--base",
        join(out, "base"),
        "--steps",
        "2",
        "--batch",
        "8",
        "--block",
        "32",
        "--samples",
        "0",
        "--out",
        out,
      ]);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^base: loaded .*base \([\d,]+ parameters, 2 layers, embd 32, vocabulary 85\)$/m);
      expect(again.stdout).not.toMatch(/pretraining:/);
      expect(Number(/before fine-tuning: (\d\.\d{4})/.exec(again.stdout)![1])).toBe(before);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
