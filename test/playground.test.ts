// The browser playground (examples/browser, npm run playground) in headless Chromium: the page
// loads cross-origin isolated, the worker trains the MLP on an MNIST slice and the charts update,
// real MNIST test digits drawn on the pad with mouse strokes are recognised, fine-tuning on
// drawings moves the prediction, weights round-trip through the save and load buttons, and the CNN
// trains until stopped. A screenshot goes to test-output/playground.png.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { io } from "wasmgrad";
import { type Playground, startPlayground } from "../examples/browser/server.js";
import { repoRoot, chromiumLaunchOptions } from "./runtimes/harness.js";
import { mnistTest } from "./cli-fixtures.js";

interface PlaygroundState {
  ready: boolean;
  training: boolean;
  steps: number;
  lossPoints: [number, number][];
  accPoints: [number, number][];
  epochs: { epoch: number; testAccuracy: number; loss: number; seconds: number }[];
  prediction: { digit: number; probs: number[] } | null;
  predictions: number;
  finetunes: number;
  loads: number;
  saves: number;
  model: string;
  errors: string[];
  chartDraws: number;
}

const { images: testImages, labels: testLabels } = mnistTest();

describe("browser playground", () => {
  let playground: Playground;
  let browser: Browser;
  let page: Page;
  const logs: string[] = [];

  const state = () => page.evaluate(() => (window as unknown as { __playground: PlaygroundState }).__playground);
  const waitFor = async (what: string, fn: string, timeout = 60_000) => {
    try {
      await page.waitForFunction(`(() => { const s = window.__playground; return ${fn}; })()`, null, { timeout, polling: 50 });
    } catch (e) {
      throw new Error(
        `playground: waiting for ${what} failed: ${(e as Error).message.split("\n")[0]}\n${logs.join("\n")}\nstate: ${JSON.stringify(await state().catch(() => null))?.slice(0, 2000)}`,
      );
    }
  };

  /** Paints MNIST test image `index` on the pad: one mouse stroke per horizontal run of ink. */
  async function drawMnistDigit(index: number): Promise<void> {
    await page.click("#clear");
    const box = (await page.locator("#pad").boundingBox())!;
    const px = testImages.subarray(index * 784, (index + 1) * 784);
    const scale = box.width / 28;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        if (px[y * 28 + x] < 128 || (x > 0 && px[y * 28 + x - 1] >= 128)) continue;
        let end = x;
        while (end + 1 < 28 && px[y * 28 + end + 1] >= 128) end++;
        const cy = box.y + (y + 0.5) * scale;
        await page.mouse.move(box.x + (x + 0.5) * scale, cy);
        await page.mouse.down();
        await page.mouse.move(box.x + (end + 0.5) * scale, cy, { steps: 2 });
        await page.mouse.up();
      }
    }
  }

  beforeAll(async () => {
    const { executablePath, args, source } = await chromiumLaunchOptions();
    console.log(`chromium from ${source}`);
    const { chromium } = await import("playwright-core");
    playground = await startPlayground({ port: 0 });
    browser = await chromium.launch({
      executablePath,
      args,
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
    page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await playground?.close();
  });

  it("trains in a worker with live charts, recognises drawn MNIST digits, fine-tunes on drawings, saves and loads weights", async () => {
    await page.goto(`${playground.url}?limit=6000&testLimit=1000&epochs=2&threads=2`);
    await waitFor("the data to load", "s.ready === true");
    expect(await page.evaluate(() => crossOriginIsolated), "COOP/COEP make the page cross-origin isolated").toBe(true);
    expect(await page.textContent("#env")).toMatch(/6,000 training \/ 1,000 test images · 2 threads/);

    // Train the MLP: 2 epochs of 60 steps.
    await page.click("#train");
    await waitFor("training to finish", "s.epochs.length === 2 && s.training === false");
    const trained = await state();
    expect(trained.errors).toEqual([]);
    expect(trained.steps).toBe(120);
    expect(trained.lossPoints.length).toBeGreaterThanOrEqual(2);
    expect(trained.lossPoints[trained.lossPoints.length - 1][1]).toBeLessThan(trained.lossPoints[0][1]);
    expect(trained.epochs[1].testAccuracy).toBeGreaterThan(0.85);
    // The loss chart has its blue line drawn.
    const blue = await page.evaluate(() => {
      const c = document.getElementById("loss-chart") as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 80 && d[i + 1] > 70 && d[i + 1] < 150 && d[i + 2] > 180) n++;
      return n;
    });
    expect(blue, "blue loss-curve pixels on the chart").toBeGreaterThan(100);

    // Real MNIST test digits, drawn stroke by stroke with the mouse.
    const predicted: [number, number][] = [];
    for (const index of [0, 1, 2]) {
      const before = (await state()).predictions;
      await drawMnistDigit(index);
      await waitFor(`a prediction for test digit #${index}`, `s.predictions > ${before} && s.prediction !== null`);
      await page.waitForTimeout(200); // let the last stroke's prediction arrive
      predicted.push([testLabels[index], (await state()).prediction!.digit]);
    }
    console.log(`playground: drawn MNIST test digits (label, prediction): ${JSON.stringify(predicted)}`);
    for (const [label, digit] of predicted) expect(digit).toBe(label);

    // Fine-tune: label the current drawing (a "1") as the digit the model finds second most likely.
    const probs = (await state()).prediction!.probs;
    const target = probs.map((p, d) => [d, p]).sort((a, b) => b[1] - a[1])[1][0];
    await page.selectOption("#label", String(target));
    for (let i = 0; i < 4; i++) await page.click("#add");
    expect(await page.locator("#examples figure").count()).toBe(4);
    const predictionsBefore = (await state()).predictions;
    await page.click("#finetune");
    await waitFor("fine-tuning", `s.finetunes === 1 && s.predictions > ${predictionsBefore}`);
    const after = (await state()).prediction!;
    console.log(
      `playground: fine-tuned towards ${target}: P(${target}) ${probs[target].toFixed(4)} → ${after.probs[target].toFixed(4)}, prediction ${after.digit}`,
    );
    expect(after.probs[target]).toBeGreaterThan(probs[target] + 0.2);
    expect(await page.textContent("#ftlog")).toMatch(/before fine-tuning → .* after/);

    mkdirSync(join(repoRoot, "test-output"), { recursive: true });
    await page.waitForTimeout(300); // the probability bars' CSS transition
    await page.screenshot({ path: join(repoRoot, "test-output/playground.png"), fullPage: true });

    // Save → a safetensors download the library reads; load it back → the same prediction.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
    const file = await download.path();
    const { tensors, metadata } = io.readSafetensors(new Uint8Array(readFileSync(file)));
    expect(metadata["wasmgrad.model"]).toBe("mlp");
    expect(tensors["fc1.weight"].shape).toEqual([128, 784]);
    await drawMnistDigit(3);
    await waitFor("a prediction", "s.prediction !== null");
    await page.waitForTimeout(200);
    const savedPrediction = (await state()).prediction!;
    const predictionsBeforeLoad = (await state()).predictions;
    await page.setInputFiles("#load", { name: "saved.safetensors", mimeType: "application/octet-stream", buffer: readFileSync(file) });
    await waitFor("the weights to load and a new prediction", `s.loads === 1 && s.predictions > ${predictionsBeforeLoad}`);
    expect((await state()).prediction!.probs).toEqual(savedPrediction.probs);
    expect((await state()).errors).toEqual([]);
  });

  it("trains the CNN until stopped", async () => {
    await page.selectOption("#model", "cnn");
    await page.fill("#epochs", "1");
    await page.fill("#batch", "32");
    await page.click("#train");
    await waitFor("CNN steps", "s.model === 'cnn' && s.steps >= 8");
    await page.click("#stop");
    await waitFor("the CNN to stop", "s.training === false");
    const s = await state();
    expect(s.errors).toEqual([]);
    expect(await page.textContent("#status")).toMatch(/^stopped after \d+ steps/);
    expect(s.lossPoints.every(([, l]) => Number.isFinite(l))).toBe(true);
  });

  it("the speedrun CNN comes with its recipe (Adam, one-cycle to 0.005, batch 128, 2 epochs) and learns in one epoch", async () => {
    await page.selectOption("#model", "speedrun");
    const recipe = await page.evaluate(() => ["optimizer", "lr", "batch", "epochs"].map((id) => (document.getElementById(id) as HTMLInputElement).value));
    expect(recipe).toEqual(["adam", "0.005", "128", "2"]);
    await page.fill("#epochs", "1");
    const epochsBefore = (await state()).epochs.length;
    await page.click("#train");
    await waitFor("a speedrun epoch on the 6,000 images", `s.model === 'speedrun' && s.training === false && s.epochs.length > ${epochsBefore}`, 90_000);
    const s = await state();
    expect(s.errors).toEqual([]);
    const epoch = s.epochs.at(-1)!;
    expect(epoch.testAccuracy).toBeGreaterThan(0.85); // 46 steps of the one-cycle schedule on 6,000 images
    expect(epoch.seconds).toBeGreaterThan(0);
  });
});
