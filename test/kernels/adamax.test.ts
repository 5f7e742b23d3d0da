// The Adamax step kernel (assembly/adamax.ts): wasm against its JS twin over odd lengths with guard
// cells, in two option settings; torch.optim.Adamax's trajectories are checked end to end in
// test/optim/trajectories.test.ts.
import { describe, it } from "vitest";
import { checkTwin } from "./optimizer-twin.js";

describe("adamaxStep", () => {
  it("wasm = js twin (to float32 rounding), options on", () => {
    checkTwin("adamaxStep", 2, (be, p, g, s, t) =>
      be.adamaxStep(p.ptr, g.ptr, s[0].ptr, s[1].ptr, p.n, 0.9, 0.1, 0.999, 1e-8, 0.01, 0.002 / (1 - 0.9 ** t), false),
    );
  });
  it("wasm = js twin, other options", () => {
    checkTwin("adamaxStep", 2, (be, p, g, s) => be.adamaxStep(p.ptr, g.ptr, s[0].ptr, s[1].ptr, p.n, 0.8, 0.2, 0.99, 1e-8, 0, 0.002, true), 0, 91);
  });
});
