// The NAdam step kernel (assembly/nadam.ts): wasm against its JS twin over odd lengths with guard
// cells, in two option settings; torch.optim.NAdam's trajectories are checked end to end in
// test/optim/trajectories.test.ts.
import { describe, it } from "vitest";
import { checkTwin } from "./optimizer-twin.js";

describe("nadamStep", () => {
  it("wasm = js twin (to float32 rounding), options on", () => {
    checkTwin("nadamStep", 2, (be, p, g, s, t) =>
      be.nadamStep(p.ptr, g.ptr, s[0].ptr, s[1].ptr, p.n, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.01, 1 - 0.999 ** t, 0.0002, 0.0017),
    );
  });
  it("wasm = js twin, other options", () => {
    checkTwin(
      "nadamStep",
      2,
      (be, p, g, s, t) => be.nadamStep(p.ptr, g.ptr, s[0].ptr, s[1].ptr, p.n, 0.8, 0.2, 0.99, 0.01, 1e-8, 0, 1 - 0.99 ** t, 0.001, 0.002),
      0,
      91,
    );
  });
});
