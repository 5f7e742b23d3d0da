// The RAdam step kernel (assembly/radam.ts): wasm against its JS twin over odd lengths with guard
// cells, in two option settings; torch.optim.RAdam's trajectories are checked end to end in
// test/optim/trajectories.test.ts.
import { describe, it } from "vitest";
import { checkTwin } from "./optimizer-twin.js";

describe("radamStep", () => {
  it("wasm = js twin (to float32 rounding), options on", () => {
    checkTwin("radamStep", 2, (be, p, g, s, t) =>
      be.radamStep(p.ptr, g.ptr, s[0].ptr, s[1].ptr, p.n, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.01, 1 - 0.9 ** t, 0.001, false, 0),
    );
  });
  it("wasm = js twin, other options", () => {
    checkTwin(
      "radamStep",
      2,
      (be, p, g, s, t) => be.radamStep(p.ptr, g.ptr, s[0].ptr, s[1].ptr, p.n, 0.9, 0.1, 0.99, 0.01, 1e-8, 0, 1 - 0.9 ** t, 0.001, true, 0.0007),
      0,
      91,
    );
  });
});
