// The Adadelta step kernel (assembly/adadelta.ts): wasm against its JS twin over odd lengths with guard
// cells, in two option settings; torch.optim.Adadelta's trajectories are checked end to end in
// test/optim/trajectories.test.ts.
import { describe, it } from "vitest";
import { checkTwin } from "./optimizer-twin.js";

describe("adadeltaStep", () => {
  it("wasm = js twin (to float32 rounding), options on", () => {
    checkTwin("adadeltaStep", 2, (be, p, g, s) => be.adadeltaStep(p.ptr, g.ptr, s[0].ptr, s[1].ptr, p.n, 1.0, 0.9, 0.1, 1e-6, 0.05, false));
  });
  it("wasm = js twin, other options", () => {
    checkTwin("adadeltaStep", 2, (be, p, g, s) => be.adadeltaStep(p.ptr, g.ptr, s[0].ptr, s[1].ptr, p.n, 0.5, 0.8, 0.2, 1e-6, 0, true), 0, 91);
  });
});
