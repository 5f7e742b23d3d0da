// Waiting for a backend's thread pool: workers start asynchronously, and on a busy machine a fixed
// sleep is not always long enough for them to take the first slices a test expects.
import type { Backend } from "../../src/backend/index.js";

/** Resolves once every worker of `be`'s pool has started (throws after `timeoutMs`). */
export async function workersReady(be: Backend, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!(be.threadPool?.()?.allReady() ?? true)) {
    if (Date.now() - start > timeoutMs) throw new Error(`the thread pool's workers did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
