// The Adagrad step kernel (assembly/adagrad.ts): wasm against its JS twin over odd lengths with guard
// cells, in two option settings; torch.optim.Adagrad's trajectories are checked end to end in
// test/optim/trajectories.test.ts.
import { describe, it } from "vitest";
import { checkTwin } from "./optimizer-twin.js";

describe("adagradStep", () => {
  it("wasm = js twin (to float32 rounding), options on", () => {
    checkTwin("adagradStep", 1, (be, p, g, s, t) => be.adagradStep(p.ptr, g.ptr, s[0].ptr, p.n, 0.01 / (1 + (t - 1) * 0.1), 1e-10, 0.01, false));
  });
  it("wasm = js twin, other options", () => {
    checkTwin("adagradStep", 1, (be, p, g, s) => be.adagradStep(p.ptr, g.ptr, s[0].ptr, p.n, 0.01, 1e-6, 0, true), 0, 91);
  });
});
