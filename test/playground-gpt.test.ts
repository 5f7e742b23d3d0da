// The playground's GPT page (examples/browser/gpt.html) in headless Chromium: a character-level GPT
// trains in a Web Worker on the first-name lists with a live loss chart (the train and validation
// estimates fall), Stop ends training early through the shared flag, and a prompt's continuation
// streams in token by token from the KV-cache generator. A screenshot goes to
// test-output/playground-gpt.png.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { type Playground, startPlayground } from "../examples/browser/server.js";
import { chromiumLaunchOptions, repoRoot } from "./runtimes/harness.js";

interface GptState {
  training: boolean;
  trained: boolean;
  steps: number;
  evals: { step: number; train: number; val: number }[];
  generating: boolean;
  tokens: number;
  text: string;
  errors: string[];
}

describe("browser playground: GPT page", () => {
  let playground: Playground;
  let browser: Browser;
  let page: Page;
  const logs: string[] = [];
  const state = () => page.evaluate(() => (window as unknown as { __gpt: GptState }).__gpt);
  const waitFor = async (what: string, fn: string, timeout = 90_000) => {
    try {
      await page.waitForFunction(`(() => { const s = window.__gpt; return ${fn}; })()`, null, { timeout, polling: 50 });
    } catch (e) {
      throw new Error(
        `GPT page: waiting for ${what} failed: ${(e as Error).message.split("\n")[0]}\n${logs.join("\n")}\nstate: ${JSON.stringify(await state().catch(() => null))?.slice(0, 2000)}`,
      );
    }
  };

  beforeAll(async () => {
    const { executablePath, args } = await chromiumLaunchOptions();
    const { chromium } = await import("playwright-core");
    playground = await startPlayground({ port: 0 });
    browser = await chromium.launch({ executablePath, args });
    page = await browser.newPage({ viewport: { width: 1360, height: 820 } });
    page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await playground?.close();
  });

  it("trains a GPT in a worker with a live loss chart, stops on request, and streams generated tokens", async () => {
    await page.goto(`${playground.url}gpt.html`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.fill("#steps", "300");
    await page.selectOption("#threads", "2");
    await page.click("#train");
    await waitFor("training to finish", "s.trained === true");
    const s = await state();
    expect(s.errors).toEqual([]);
    expect(s.steps).toBe(300);
    expect(s.evals.length).toBe(10);
    expect(s.evals[9].val).toBeLessThan(s.evals[0].val - 0.3);
    expect(await page.textContent("#status")).toMatch(/trained 300 steps in [\d.]+ s; val loss [\d.]+/);

    await page.fill("#tokens", "120");
    await page.fill("#prompt", "Ma");
    await page.click("#generate");
    await waitFor("tokens to stream", "s.tokens > 0");
    await waitFor("generation to finish", "s.generating === false");
    const g = await state();
    expect(g.tokens).toBe(120);
    expect(g.text.length).toBe(120);
    expect((await page.textContent("#output"))!.startsWith("Ma")).toBe(true);
    expect(await page.textContent("#genstatus")).toMatch(/120 tokens in [\d.]+ s \([\d,]+ tokens\/s, KV cache\)/);
    await page.screenshot({ path: join(repoRoot, "test-output/playground-gpt.png"), fullPage: true });

    // Stop ends a long run early.
    await page.fill("#steps", "100000");
    await page.click("#train");
    await waitFor("training to start", "s.steps > 20");
    await page.click("#stop");
    await waitFor("training to stop", "s.trained === true");
    expect((await state()).steps).toBeLessThan(100000);
  }, 240_000);
});
