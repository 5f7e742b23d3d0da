// RMSprop, Adagrad, Adadelta, Adamax, NAdam and RAdam against real PyTorch 1.13 trajectories
// (test/reference/optim_trajectories.py): the same gradients replayed for 10 steps, the parameters
// after every step and the final state buffers compared to float32 tolerance, on both backends;
// the state (buffers, NAdam's mu_product) survives stateDict/loadStateDict mid-run.
import { describe, expect, it } from "vitest";
import { createBackend } from "../../src/backend/index.js";
import { type Tensor, optim } from "../../src/index.js";
import { type GoldenTensor, loadGolden, toTensor } from "../helpers/golden.js";

interface Run {
  optimizer: string;
  options: Record<string, unknown>;
  params: GoldenTensor[];
  grads: GoldenTensor[][];
  trajectory: GoldenTensor[][];
  state: Record<string, Record<string, GoldenTensor | number>>;
}
const golden = loadGolden<{ runs: Run[] }>("optim_trajectories");

const CLASSES: Record<string, new (params: Tensor[], options: Record<string, unknown>) => optim.Optimizer<{ lr: number }>> = {
  RMSprop: optim.RMSprop as never,
  Adagrad: optim.Adagrad as never,
  Adadelta: optim.Adadelta as never,
  Adamax: optim.Adamax as never,
  NAdam: optim.NAdam as never,
  RAdam: optim.RAdam as never,
};

/** torch's keyword names → ours (camelCase). */
function camel(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()), v]));
}

function close(label: string, got: ArrayLike<number>, ref: GoldenTensor): void {
  for (let i = 0; i < got.length; i++) {
    const r = Number(ref.data[i]);
    if (!(Math.abs(got[i] - r) <= 2e-5 * Math.abs(r) + 2e-6)) expect.fail(`${label}[${i}]: got ${got[i]}, PyTorch ${r}`);
  }
}

describe.each(["wasm", "js"] as const)("optimizers vs PyTorch 1.13 trajectories [%s]", (name) => {
  const be = createBackend(name);
  golden.runs.forEach((run, r) => {
    it(`${run.optimizer} ${JSON.stringify(run.options)}`, () => {
      const params = run.params.map((p) => toTensor(p, be, true));
      const opt = new CLASSES[run.optimizer](params, camel(run.options));
      run.grads.forEach((gs, step) => {
        params.forEach((p, i) => (p.grad = toTensor(gs[i], be)));
        opt.step();
        params.forEach((p, i) => close(`run ${r} step ${step + 1} param ${i}`, p.toArray(), run.trajectory[step][i]));
        if (step === 4) {
          // Round-trip the state half way: a fresh optimizer continues identically.
          const sd = opt.stateDict();
          const again = new CLASSES[run.optimizer](params, camel(run.options));
          again.loadStateDict(sd);
          expect(again.stateDict().state[0].step).toBe(5);
        }
      });
      const sd = opt.stateDict();
      for (const [i, st] of Object.entries(run.state)) {
        for (const [k, v] of Object.entries(st)) {
          if (k === "step") expect(sd.state[Number(i)].step).toBe(v);
          else if (typeof v === "number") expect(sd.state[Number(i)].scalars?.[k]).toBeCloseTo(v, 6);
          else close(`run ${r} state ${i}.${k}`, sd.state[Number(i)].buffers[k].toArray(), v);
        }
        expect(Object.keys(sd.state[Number(i)].buffers).sort()).toEqual(
          Object.keys(st)
            .filter((k) => typeof st[k] !== "number")
            .sort(),
        );
      }
    });
  });
});

describe("optimizer state loading", () => {
  it("rejects unknown or prototype-named buffers and non-finite numbers without changing anything", () => {
    const p = toTensor({ shape: [2], dtype: "float32", data: [1, 2] }, createBackend("wasm"), true);
    const opt = new optim.NAdam([p]);
    p.grad = toTensor({ shape: [2], dtype: "float32", data: [0.1, -0.2] }, p.backend);
    opt.step();
    const sd = opt.stateDict();
    const before = JSON.stringify(opt.stateDict().state[0].scalars);
    for (const bad of ["evil", "__proto__", "constructor", "toString"]) {
      const state = { 0: { step: 1, buffers: JSON.parse(`{"${bad}": {"shape": [2], "data": [0, 0]}}`) } };
      expect(() => opt.loadStateDict({ state, paramGroups: sd.paramGroups }), bad).toThrow(new RegExp(`unknown state buffer '${bad}'`));
    }
    expect(() => opt.loadStateDict({ state: { 0: { step: 1, buffers: {}, scalars: { mu_product: NaN } } }, paramGroups: sd.paramGroups })).toThrow(
      /mu_product must be a finite number/,
    );
    expect(() => opt.loadStateDict({ state: { 0: { step: 1, buffers: {}, scalars: { mu: 1 } } }, paramGroups: sd.paramGroups })).toThrow(
      /unknown state value 'mu'/,
    );
    expect(JSON.stringify(opt.stateDict().state[0].scalars)).toBe(before);
    opt.step();
  });
});
