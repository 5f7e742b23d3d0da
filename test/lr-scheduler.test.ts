// optim.lrScheduler: lr sequences against PyTorch's documented formulas, written out here in
// float64 (closed forms, the recursions torch's get_lr() uses, and a few values printed by
// torch 2.13.0 as anchors), plus state dicts, checkpoints and errors.
import { beforeEach, describe, expect, it } from "vitest";
import { ValueError, io, nn, optim, setBackend, tensor, type Tensor } from "../src/index.js";

const { StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, OneCycleLR, ReduceLROnPlateau } = optim.lrScheduler;

beforeEach(() => setBackend("wasm"));

/** An optimizer with one parameter per group, at the given lrs. */
function sgd(lrs: number[] = [0.1], extra: Partial<optim.SGDOptions> = {}) {
  return new optim.SGD(
    lrs.map((lr) => ({ params: [tensor([0, 0], { requiresGrad: true })], lr })),
    { momentum: 0.9, ...extra },
  );
}
function adam(lrs: number[] = [0.1]) {
  return new optim.Adam(lrs.map((lr) => ({ params: [tensor([0, 0], { requiresGrad: true })], lr })));
}
const lrsOf = (opt: optim.lrScheduler.AnyOptimizer) => opt.paramGroups.map((g) => g.options.lr as number);

/** lr of group `g` after construction and after each of n steps: n + 1 values. */
function sequence(opt: optim.lrScheduler.AnyOptimizer, s: { step(): void }, n: number, g = 0): number[] {
  const out = [lrsOf(opt)[g]];
  for (let i = 0; i < n; i++) {
    s.step();
    out.push(lrsOf(opt)[g]);
  }
  return out;
}

/** Each value within `rel` (relative) of the expected one. */
function expectClose(got: number[], want: number[], rel = 1e-12) {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => {
    if (Math.abs(v - want[i]) > rel * Math.max(Math.abs(want[i]), 1e-300)) {
      throw new Error(`index ${i}: got ${v}, expected ${want[i]} (rel ${rel})\n got  ${got.join(", ")}\n want ${want.join(", ")}`);
    }
  });
}

describe("StepLR, MultiStepLR, ExponentialLR", () => {
  it("StepLR: lr = initial · gamma^⌊epoch/stepSize⌋, per group", () => {
    const opt = sgd([0.1, 0.8]);
    const s = new StepLR(opt, { stepSize: 3, gamma: 0.5 });
    expect(s.lastEpoch).toBe(0);
    expect(s.getLastLr()).toEqual([0.1, 0.8]);
    const seq0: number[] = [lrsOf(opt)[0]],
      seq1: number[] = [lrsOf(opt)[1]];
    for (let e = 1; e <= 10; e++) {
      s.step();
      seq0.push(lrsOf(opt)[0]);
      seq1.push(lrsOf(opt)[1]);
    }
    // Halving is exact in binary, so the chainable products equal the closed form bit for bit.
    expect(seq0).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125]);
    expect(seq1).toEqual([0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1, 0.1]);
    expect(s.lastEpoch).toBe(10);
    expect(s.getLastLr()).toEqual([0.0125, 0.1]);
  });

  it("StepLR: the PyTorch docs example (0.05, stepSize 30, gamma 0.1) over 100 epochs; default gamma 0.1", () => {
    const opt = sgd([0.05]);
    const got = sequence(opt, new StepLR(opt, { stepSize: 30 }), 99);
    expectClose(
      got,
      got.map((_, e) => 0.05 * 0.1 ** Math.floor(e / 30)),
    );
    expect(got[29]).toBe(0.05);
    expect(got[30]).toBeCloseTo(0.005, 15);
    expect(got[60]).toBeCloseTo(0.0005, 15);
    expect(got[99]).toBeCloseTo(0.00005, 15);
  });

  it("MultiStepLR: decays at each milestone; a milestone listed twice decays by gamma²", () => {
    const opt = sgd([0.8]);
    const got = sequence(opt, new MultiStepLR(opt, { milestones: [9, 2, 5, 5], gamma: 0.5 }), 11);
    //            e: 0    1    2    3    4    5    6    7    8    9     10    11
    expect(got).toEqual([0.8, 0.8, 0.4, 0.4, 0.4, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05]);
    // The docs example: 0.05 until 30, 0.005 until 80, then 0.0005.
    const o2 = sgd([0.05]);
    const doc = sequence(o2, new MultiStepLR(o2, { milestones: [30, 80] }), 99);
    expectClose(
      doc,
      doc.map((_, e) => 0.05 * 0.1 ** ((e >= 30 ? 1 : 0) + (e >= 80 ? 1 : 0))),
    );
  });

  it("ExponentialLR: lr = initial · gamma^epoch", () => {
    const opt = sgd([2]);
    expect(sequence(opt, new ExponentialLR(opt, { gamma: 0.5 }), 5)).toEqual([2, 1, 0.5, 0.25, 0.125, 0.0625]);
    const o2 = sgd([0.1]);
    const got = sequence(o2, new ExponentialLR(o2, { gamma: 0.9 }), 40);
    expectClose(
      got,
      got.map((_, e) => 0.1 * 0.9 ** e),
      1e-13,
    );
  });

  it("the schedulers are chainable: a change from outside carries on, as in torch", () => {
    const opt = sgd([1]);
    const s = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    s.step(); // e1: 1
    opt.paramGroups[0].options.lr = 0.3;
    s.step(); // e2: 0.3 · 0.5
    expect(lrsOf(opt)).toEqual([0.15]);
    s.step();
    expect(lrsOf(opt)).toEqual([0.15]);
  });

  it("initialLr is recorded in each group (torch's initial_lr) and kept by a second scheduler", () => {
    const opt = sgd([0.1, 0.2]);
    const a = new ExponentialLR(opt, { gamma: 0.5 });
    expect(opt.paramGroups.map((g) => g.options)).toMatchObject([{ initialLr: 0.1 }, { initialLr: 0.2 }]);
    a.step();
    const b = new CosineAnnealingLR(opt, { TMax: 4 });
    expect(b.baseLrs).toEqual([0.1, 0.2]); // setdefault: the first scheduler's initial lrs
    expect(opt.stateDict().paramGroups[1]).toMatchObject({ initialLr: 0.2, lr: 0.1 });
  });
});

describe("CosineAnnealingLR", () => {
  const closed = (base: number, etaMin: number, T: number, e: number) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * e) / T))) / 2;

  it("follows the closed form η_min + (η_0 − η_min)(1 + cos(π t/T))/2 through 3 half periods (torch's recursion)", () => {
    const opt = sgd([0.1, 0.05]);
    const s = new CosineAnnealingLR(opt, { TMax: 10, etaMin: 0.001 });
    const got0 = [lrsOf(opt)[0]],
      got1 = [lrsOf(opt)[1]];
    for (let e = 1; e <= 30; e++) {
      s.step();
      got0.push(lrsOf(opt)[0]);
      got1.push(lrsOf(opt)[1]);
    }
    expectClose(
      got0,
      got0.map((_, e) => closed(0.1, 0.001, 10, e)),
      1e-12,
    );
    expectClose(
      got1,
      got1.map((_, e) => closed(0.05, 0.001, 10, e)),
      1e-12,
    );
    expect(got0[10]).toBe(0.001); // 1 + cos(π) = 0 exactly
    expect(got0[20]).toBeCloseTo(0.1, 14); // climbs back (no restarts), period 2·TMax
  });

  it("TMax 2 by hand: 1, ½, 0, ½, 1, ½, 0", () => {
    const opt = sgd([1]);
    const got = sequence(opt, new CosineAnnealingLR(opt, { TMax: 2 }), 6);
    expectClose(
      got.map((v) => v + 1),
      [2, 1.5, 1, 1.5, 2, 1.5, 1],
      1e-15,
    );
  });

  it("uses torch's recursive form, not the closed form: bitwise torch 2.13 values, and an outside change persists", () => {
    const opt = sgd([0.1]);
    const got = sequence(opt, new CosineAnnealingLR(opt, { TMax: 7, etaMin: 0.001 }), 30);
    // torch.optim.lr_scheduler.CosineAnnealingLR(SGD(lr=0.1), T_max=7, eta_min=0.001), printed by torch 2.13.0:
    // the recursion drifts from the closed form in the last digits (0.10000000000000092 at epoch 28).
    const torchValues: Record<number, number> = {
      1: 0.09509795896116975,
      6: 0.005902041038830259,
      7: 0.001,
      8: 0.005902041038830253,
      14: 0.10000000000000002,
      23: 0.019637254807992846,
      28: 0.10000000000000092,
      30: 0.08136274519200815,
    };
    for (const [e, v] of Object.entries(torchValues)) expect(got[Number(e)], `epoch ${e}`).toBe(v);

    // Recursion: η_t = η_min + (η_{t−1} − η_min)·(1 + cos(πt/T))/(1 + cos(π(t−1)/T)) from the *current* lr.
    const o2 = sgd([0.1]);
    const s2 = new CosineAnnealingLR(o2, { TMax: 7, etaMin: 0.001 });
    s2.step();
    s2.step();
    o2.paramGroups[0].options.lr = 0.05;
    s2.step();
    const e = 3,
      T = 7;
    expect(lrsOf(o2)[0]).toBe(((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (0.05 - 0.001) + 0.001);
  });
});

describe("OneCycleLR", () => {
  const cosAnneal = (start: number, end: number, pct: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  const linAnneal = (start: number, end: number, pct: number) => (end - start) * pct + start;

  it("two phases (fastai): up to maxLr over pctStart, down to initialLr/finalDivFactor; momentum mirrored", () => {
    const opt = sgd([0.1, 0.1]);
    const s = new OneCycleLR(opt, { maxLr: [1, 0.5], totalSteps: 10 });
    // initial_lr = max_lr/div_factor = 0.04, min_lr = initial_lr/final_div_factor = 4e-6; phase 1 ends at
    // float(pct_start·total_steps) − 1 = 2, phase 2 at total_steps − 1 = 9.
    expect(opt.paramGroups[0].options).toMatchObject({ initialLr: 0.04, maxLr: 1, minLr: 4e-6, maxMomentum: 0.95, baseMomentum: 0.85 });
    const end1 = 0.3 * 10 - 1,
      end2 = 9;
    const lr: number[][] = [],
      mom: number[] = [];
    for (let t = 0; t <= 10; t++) {
      if (t > 0) s.step();
      lr.push(lrsOf(opt));
      mom.push(opt.paramGroups[0].options.momentum);
    }
    const want = (max: number, t: number) => {
      const initial = max / 25,
        min = initial / 1e4;
      return t <= end1 ? cosAnneal(initial, max, t / end1) : cosAnneal(max, min, (t - end1) / (end2 - end1));
    };
    const wantMom = (t: number) => (t <= end1 ? cosAnneal(0.95, 0.85, t / end1) : cosAnneal(0.85, 0.95, (t - end1) / (end2 - end1)));
    expectClose(
      lr.map((l) => l[0]),
      lr.map((_, t) => want(1, t)),
      1e-15,
    );
    expectClose(
      lr.map((l) => l[1]),
      lr.map((_, t) => want(0.5, t)),
      1e-15,
    );
    expectClose(
      mom,
      mom.map((_, t) => wantMom(t)),
      1e-15,
    );
    // Phase boundaries, as torch 2.13.0 prints them: start (1 + (0.04 − 1)·2/2 rounds to 0.040000000000000036),
    // the middle of phase 1, the peak, the first step down, the end (min_lr) and the one step past it torch allows.
    expect([lr[0][0], lr[1][0], lr[2][0], lr[3][0], lr[9][0], lr[10][0]]).toEqual([
      0.040000000000000036, 0.52, 1, 0.9504846320134737, 4e-6, 0.04951936798652623,
    ]);
    expect([mom[0], mom[2], mom[3], mom[9]]).toEqual([0.95, 0.85, 0.854951556604879, 0.95]);
    expect(s.getLastLr()).toEqual(lr[10]);
    // Step 11 of 10 throws, as in torch, and changes nothing.
    expect(() => s.step()).toThrow(/tried to step 11 times. The specified number of total steps is 10/);
    expect(s.lastEpoch).toBe(10);
    expect(lrsOf(opt)).toEqual(lr[10]);
  });

  it("linear annealing, epochs × stepsPerEpoch, Adam's beta1 cycled and beta2 kept", () => {
    const opt = adam([0.1]);
    const s = new OneCycleLR(opt, { maxLr: 0.01, epochs: 3, stepsPerEpoch: 7, pctStart: 0.25, annealStrategy: "linear", divFactor: 10, finalDivFactor: 100 });
    const end1 = 0.25 * 21 - 1; // 4.25
    const lr: number[] = [],
      b1: number[] = [];
    for (let t = 0; t <= 20; t++) {
      if (t > 0) s.step();
      lr.push(lrsOf(opt)[0]);
      const betas = opt.paramGroups[0].options.betas;
      expect(betas[1]).toBe(0.999);
      b1.push(betas[0]);
    }
    expectClose(
      lr,
      lr.map((_, t) => (t <= end1 ? linAnneal(0.001, 0.01, t / end1) : linAnneal(0.01, 1e-5, (t - end1) / (20 - end1)))),
      1e-14,
    );
    expectClose(
      b1,
      b1.map((_, t) => (t <= end1 ? linAnneal(0.95, 0.85, t / end1) : linAnneal(0.85, 0.95, (t - end1) / (20 - end1)))),
      1e-14,
    );
    expect(lr[20]).toBeCloseTo(1e-5, 18);
    // The defaults' betas array is not modified in place (groups share it).
    expect(opt.defaults.betas).toEqual([0.9, 0.999]);
  });

  it("threePhase: up, back down to initialLr, then to minLr with momentum held at max", () => {
    const opt = sgd([0.1]);
    const s = new OneCycleLR(opt, { maxLr: 0.2, totalSteps: 20, threePhase: true });
    const e1 = 0.3 * 20 - 1,
      e2 = 2 * 0.3 * 20 - 2,
      e3 = 19; // 5, 10, 19
    const lr: number[] = [],
      mom: number[] = [];
    for (let t = 0; t <= 20; t++) {
      if (t > 0) s.step();
      lr.push(lrsOf(opt)[0]);
      mom.push(opt.paramGroups[0].options.momentum);
    }
    const want = (t: number) =>
      t <= e1 ? cosAnneal(0.008, 0.2, t / e1) : t <= e2 ? cosAnneal(0.2, 0.008, (t - e1) / (e2 - e1)) : cosAnneal(0.008, 8e-7, (t - e2) / (e3 - e2));
    expectClose(
      lr,
      lr.map((_, t) => want(t)),
      1e-14,
    );
    expect([lr[5], lr[10], lr[13], lr[19]]).toEqual([0.2, 0.008, 0.0060002, 8e-7]); // torch 2.13.0
    expect(mom.slice(10)).toEqual(Array(11).fill(0.95));
    expect(mom[5]).toBe(0.85);
  });

  it("rejects bad options before touching the optimizer", () => {
    const opt = sgd([0.1]);
    expect(() => new OneCycleLR(opt, { maxLr: 1 })).toThrow(/totalSteps OR \(epochs AND stepsPerEpoch\)/);
    expect(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 10, pctStart: 1.5 })).toThrow(ValueError);
    expect(() => new OneCycleLR(opt, { maxLr: [1, 2], totalSteps: 10 })).toThrow(/one number per parameter group/);
    // pct_start·total_steps − 1 = 0: torch's constructor dies with ZeroDivisionError.
    expect(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 10, pctStart: 0.1 })).toThrow(/ZeroDivisionError/);
    expect(opt.paramGroups[0].options).toMatchObject({ lr: 0.1, momentum: 0.9 });
    expect("maxLr" in opt.paramGroups[0].options).toBe(false);
  });
});

describe("ReduceLROnPlateau", () => {
  /** lr after each step(metric). */
  function run(metrics: number[], options: optim.lrScheduler.ReduceLROnPlateauOptions, lr = 1) {
    const opt = sgd([lr]);
    const s = new ReduceLROnPlateau(opt, options);
    return metrics.map((m) => {
      s.step(m);
      return lrsOf(opt)[0];
    });
  }
  const metrics = [10, 9, 9, 9.5, 9, 8.9995, 8.9995, 9, 9, 9];

  it("min, rel threshold: reduces after more than `patience` bad epochs; 8.9995 is no improvement on 9", () => {
    // best·(1 − 1e-4): 9 → 8.9991, so 8.9995 is a bad epoch. Bad epochs: e3 1, e4 2, e5 3 > 2 → ×0.5;
    // e6 1, e7 2, e8 3 → ×0.5; e9 1, e10 2.
    expect(run(metrics, { patience: 2, factor: 0.5 })).toEqual([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]);
  });

  it("min, abs threshold: 8.9995 < 9 − 1e-4 is an improvement, so the second reduction comes one epoch later", () => {
    expect(run(metrics, { patience: 2, factor: 0.5, thresholdMode: "abs" })).toEqual([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]);
  });

  it("max mode, patience 0, cooldown 2, minLr: bad epochs in cooldown are ignored; the floor holds", () => {
    const got = run([0.5, 0.4, 0.4, 0.4, 0.4, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6], { mode: "max", patience: 0, factor: 0.1, cooldown: 2, minLr: 0.002 });
    // e1 best 0.5; e2 bad → ×0.1, cooldown 2; e3, e4 in cooldown; e5 bad → ×0.1; e6 0.6 improves (cooldown 1);
    // e7 cooldown 0; e8 bad → max(0.001, 0.002) = 0.002; e9, e10 cooldown; e11 bad → 0.002 again (no change).
    expectClose(got, [1, 0.1, 0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.002, 0.002, 0.002, 0.002], 0);
  });

  it("max mode rel threshold, per-group minLr, eps skips tiny reductions, tensor metrics", () => {
    const opt = sgd([1, 3e-8]);
    const s = new ReduceLROnPlateau(opt, { mode: "max", patience: 1, factor: 0.5, minLr: [0.3, 0] });
    const seen: number[][] = [];
    for (const m of [1, 1.00005, 1.00005, 2, 2.0001, 2.0001]) {
      s.step(tensor([m]));
      seen.push(lrsOf(opt));
    }
    // 1.00005 > 1·(1 + 1e-4)? no: bad, bad → reduce at e3: group 0 → 0.5, group 1 → 1.5e-8 (3e-8 − 1.5e-8 > 1e-8).
    // e4 improves; e5 2.0001 > 2.0002? no: bad; e6 bad → group 0 → max(0.25, 0.3) = 0.3; group 1 7.5e-9 skipped (< eps).
    expect(seen).toEqual([
      [1, 3e-8],
      [1, 3e-8],
      [0.5, 1.5e-8],
      [0.5, 1.5e-8],
      [0.5, 1.5e-8],
      [0.3, 1.5e-8],
    ]);
    expect(s.getLastLr()).toEqual([0.3, 1.5e-8]);
    expect(s.best).toBe(2);
    expect(s.lastEpoch).toBe(6);
  });

  it("a NaN metric is a bad epoch; invalid options throw", () => {
    expect(run([1, NaN, NaN], { patience: 1 })).toEqual([1, 1, 0.1]);
    const opt = sgd([1]);
    expect(() => new ReduceLROnPlateau(opt, { factor: 1 })).toThrow(/invalid factor 1 \(expected 0 ≤ factor < 1\)/);
    expect(() => new ReduceLROnPlateau(opt, { mode: "up" as "min" })).toThrow(/mode must be one of 'min', 'max', got "up"/);
    expect(() => new ReduceLROnPlateau(opt, { thresholdMode: "x" as "rel" })).toThrow(/thresholdMode must be one of 'rel', 'abs', got "x"/);
    expect(() => new ReduceLROnPlateau(opt, { minLr: [0, 0] })).toThrow(ValueError);
  });
});

describe("state dicts", () => {
  type AnySched = optim.lrScheduler.Scheduler;
  const cases: [string, (o: optim.SGD) => AnySched][] = [
    ["StepLR", (o) => new StepLR(o, { stepSize: 3, gamma: 0.7 })],
    ["MultiStepLR", (o) => new MultiStepLR(o, { milestones: [2, 6, 6], gamma: 0.5 })],
    ["ExponentialLR", (o) => new ExponentialLR(o, { gamma: 0.9 })],
    ["CosineAnnealingLR", (o) => new CosineAnnealingLR(o, { TMax: 5, etaMin: 0.01 })],
    ["OneCycleLR", (o) => new OneCycleLR(o, { maxLr: [0.5, 0.2], totalSteps: 16 })],
    ["ReduceLROnPlateau", (o) => new ReduceLROnPlateau(o, { patience: 1, cooldown: 1, factor: 0.5 })],
  ];
  const metric = (i: number) => [3, 2, 2.5, 2.2, 2.1, 2.3, 2.4, 1, 1.5, 1.6, 1.7, 1.8, 1.9, 2, 2.1][i];
  const stepOf = (s: AnySched, i: number) => (s instanceof ReduceLROnPlateau ? s.step(metric(i)) : s.step());

  for (const [name, make] of cases) {
    it(`${name}: JSON round trip mid-schedule continues exactly like an uninterrupted run`, () => {
      const refOpt = sgd([0.1, 0.05]);
      const ref = make(refOpt);
      const want: number[][] = [];
      for (let i = 0; i < 15; i++) {
        stepOf(ref, i);
        want.push([...lrsOf(refOpt), refOpt.paramGroups[0].options.momentum]);
      }

      const opt = sgd([0.1, 0.05]);
      const s = make(opt);
      const got: number[][] = [];
      for (let i = 0; i < 6; i++) {
        stepOf(s, i);
        got.push([...lrsOf(opt), opt.paramGroups[0].options.momentum]);
      }
      // Through JSON, as a checkpoint stores it, into fresh objects made with other settings.
      const state = JSON.parse(JSON.stringify({ optimizer: { ...opt.stateDict(), state: {} }, scheduler: s.stateDict() }));
      expect(state.scheduler.type).toBe(name);
      const opt2 = sgd([7, 7], { momentum: 0.5 });
      const s2 = make(opt2);
      opt2.loadStateDict(state.optimizer);
      s2.loadStateDict(state.scheduler);
      expect(s2.getLastLr()).toEqual(s.getLastLr());
      expect(s2.lastEpoch).toBe(6);
      for (let i = 6; i < 15; i++) {
        stepOf(s2, i);
        got.push([...lrsOf(opt2), opt2.paramGroups[0].options.momentum]);
      }
      expect(got).toEqual(want);
      expect(s2.stateDict()).toEqual(ref.stateDict());
    });
  }

  it("ReduceLROnPlateau's initial best (±Infinity) survives JSON; wrong or damaged states throw and change nothing", () => {
    const opt = sgd([1]);
    const s = new ReduceLROnPlateau(opt, { mode: "max" });
    const json = JSON.parse(JSON.stringify(s.stateDict()));
    expect(json.best).toBe("-Infinity");
    const s2 = new ReduceLROnPlateau(opt);
    s2.loadStateDict(json);
    expect(s2.best).toBe(-Infinity);
    expect(s2.mode).toBe("max");

    const step = new StepLR(opt, { stepSize: 2 });
    expect(() => step.loadStateDict(json)).toThrow(/StepLR.loadStateDict: the state is of a ReduceLROnPlateau/);
    const good = step.stateDict();
    expect(() => step.loadStateDict({ ...good, baseLrs: [1, 2] })).toThrow(/one number per parameter group/);
    expect(() => step.loadStateDict({ ...good, stepSize: 0 })).toThrow(/stepSize/);
    expect(() => step.loadStateDict({ ...good, lastEpoch: 1.5 })).toThrow(/lastEpoch/);
    expect(step.stateDict()).toEqual(good);
  });

  it("io.saveCheckpoint / loadCheckpoint carry the scheduler (and the optimizer's initialLr)", () => {
    const setup = () => {
      const model = new nn.Linear(3, 2);
      const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      return { model, optimizer, scheduler: new CosineAnnealingLR(optimizer, { TMax: 8, etaMin: 1e-3 }) };
    };
    const x = tensor([1, 2, 3, -1, 0, 2], { shape: [2, 3] });
    const stepOnce = (s: ReturnType<typeof setup>) => {
      s.optimizer.zeroGrad();
      (s.model(x) as Tensor).sum().backward();
      s.optimizer.step();
      s.scheduler.step();
    };
    const a = setup();
    for (let i = 0; i < 3; i++) stepOnce(a);
    const bytes = io.saveCheckpoint(null, { ...a, epoch: 3 });
    const b = setup();
    io.loadCheckpoint(bytes, b);
    expect(b.scheduler.lastEpoch).toBe(3);
    expect(b.optimizer.paramGroups[0].options).toMatchObject({ initialLr: 0.1 });
    for (let i = 0; i < 3; i++) {
      stepOnce(a);
      stepOnce(b);
    }
    expect(b.optimizer.lr).toBe(a.optimizer.lr);
    expect(b.model.weight.toArray()).toEqual(a.model.weight.toArray());
  });
});

describe("in a training loop", () => {
  it("the optimizer uses the scheduled lr: p −= lr·g with lr 1, ½, ¼", () => {
    const p = new nn.Parameter(tensor([0]));
    const opt = new optim.SGD([p], { lr: 1 });
    const s = new StepLR(opt, { stepSize: 1, gamma: 0.5 });
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      p.mul(2).sum().backward(); // grad 2
      opt.step();
      s.step();
      seen.push(p.item());
    }
    expect(seen).toEqual([-2, -3, -3.5]);
  });

  it("constructors check their arguments", () => {
    const opt = sgd([0.1]);
    expect(() => new StepLR(opt, { stepSize: 0 })).toThrow(ValueError);
    expect(() => new MultiStepLR(opt, { milestones: [1.5] })).toThrow(ValueError);
    expect(() => new ExponentialLR(opt, {} as { gamma: number })).toThrow(/gamma/);
    expect(() => new CosineAnnealingLR(opt, { TMax: -1 })).toThrow(/TMax/);
    expect(() => new StepLR({} as optim.SGD, { stepSize: 1 })).toThrow(/expected an optimizer/);
  });
});
