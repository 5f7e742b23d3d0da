// The RMSprop step kernel (assembly/rmsprop.ts): wasm against its JS twin over odd lengths with guard
// cells, in two option settings; torch.optim.RMSprop's trajectories are checked end to end in
// test/optim/trajectories.test.ts.
import { describe, it } from "vitest";
import { checkTwin } from "./optimizer-twin.js";

describe("rmspropStep", () => {
  it("wasm = js twin (to float32 rounding), options on", () => {
    checkTwin("rmspropStep", 3, (be, p, g, s) => be.rmspropStep(p.ptr, g.ptr, s[0].ptr, s[1].ptr, s[2].ptr, p.n, 0.01, 0.9, 0.1, 1e-8, 0.01, 0.9, true, false));
  });
  it("wasm = js twin, other options", () => {
    checkTwin("rmspropStep", 3, (be, p, g, s) => be.rmspropStep(p.ptr, g.ptr, s[0].ptr, 0, 0, p.n, 0.01, 0.99, 0.01, 1e-8, 0, 0, false, true), 0, 91);
  });
});
