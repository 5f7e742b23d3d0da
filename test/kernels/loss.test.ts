// Losses and (log-)softmax (assembly/loss.ts): wasm SIMD and the plain-JS reference, on seeded random data over odd and aligned
// sizes, against float64 references (or bit-exactly, where the result is one IEEE operation).
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/random.js";
import { BACKENDS, LENGTHS, U, alloc, expectBitwise, expectClose, expectGuards, freeAll, randArray, randLabels, read } from "./buffers.js";

// ---- losses and (log-)softmax ------------------------------------------------------------------

/** float64 log Σ exp of a row. */
function lse64(x: ArrayLike<number>, o: number, C: number): number {
  let m = -Infinity;
  for (let j = 0; j < C; j++) m = Math.max(m, x[o + j]);
  let s = 0;
  for (let j = 0; j < C; j++) s += Math.exp(x[o + j] - m);
  return m + Math.log(s);
}

/** Bound on the float32 error of a row's log-sum-exp (C-term sum, max and log roundings). */
function lseErr(x: ArrayLike<number>, o: number, C: number, l: number): number {
  let mx = 0;
  for (let j = 0; j < C; j++) mx = Math.max(mx, Math.abs(x[o + j]));
  return (2 * C + 8) * U + 4 * U * (Math.abs(l) + mx);
}

const LOSS_SHAPES: [number, number][] = [
  [1, 1],
  [1, 3],
  [3, 5],
  [5, 17],
  [3, 1001],
  [4, 8],
  [7, 4],
];

describe("softmax cross-entropy (fused)", () => {
  const cases = (g: Generator) => LOSS_SHAPES.map(([M, C]) => ({ M, C, X: randArray(g, M * C, -4, 4), L: randLabels(g, M, C) }));

  function checkXent(M: number, C: number, X: Float32Array, L: Int32Array, tag: string): void {
    const lse = new Float64Array(M),
      loss = new Float64Array(M),
      err = new Float64Array(M);
    let total = 0;
    for (let i = 0; i < M; i++) {
      lse[i] = lse64(X, i * C, C);
      loss[i] = lse[i] - X[i * C + L[i]];
      err[i] = lseErr(X, i * C, C, lse[i]) + 2 * U * Math.abs(loss[i]);
      total += loss[i];
    }
    const g = new Generator(M * 1000 + C);
    const scales = randArray(g, M, -2, 2);
    for (const be of BACKENDS) {
      const x = alloc(be, M * C, X),
        lab = alloc(be, M, L, { int: true });
      const losses = alloc(be, M, null, { pre: 17 }),
        l = alloc(be, M, null, { pre: 18 });
      for (const withLosses of [true, false]) {
        const t = be.softmaxXentForward(x.ptr, lab.ptr, M, C, withLosses ? losses.ptr : 0, l.ptr, -100);
        const tag2 = `${tag} ${be.name} ${M}x${C}`;
        expect(Number.isFinite(t), `${tag2}: total finite`).toBe(true);
        expect(Math.abs(t - total), `${tag2}: total ${t} vs ${total}`).toBeLessThanOrEqual(err.reduce((a, b) => a + b, 0));
        expectClose(`${tag2}: lse`, read(l), lse, (i) => err[i]);
        if (withLosses) expectClose(`${tag2}: losses`, read(losses), loss, (i) => err[i]);
      }
      expectGuards(`xent forward ${be.name}`, losses, l);
      // backward: (softmax - onehot) · scale · scales[i]
      for (const [scale, useScales] of [
        [1, false],
        [0.25, false],
        [-1.5, true],
      ] as const) {
        const dx = alloc(be, M * C, null, { pre: 19 }),
          sc = alloc(be, M, scales);
        be.softmaxXentBackward(dx.ptr, x.ptr, lab.ptr, l.ptr, M, C, scale, useScales ? sc.ptr : 0, -100);
        const got = read(dx);
        const ref = new Float64Array(M * C),
          tol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          const s = scale * (useScales ? scales[i] : 1);
          for (let j = 0; j < C; j++) {
            const p = Math.exp(X[i * C + j] - lse[i]);
            ref[i * C + j] = (j === L[i] ? p - 1 : p) * s;
            tol[i * C + j] = Math.abs(s) * (p * (err[i] + 4 * U) + 4 * U) + 1e-37;
          }
        }
        expect(got.every(Number.isFinite), `${tag} backward finite ${be.name}`).toBe(true);
        expectClose(`${tag} backward ${be.name} ${M}x${C} scale=${scale} scales=${useScales}`, got, ref, (k) => tol[k]);
        expectGuards(`xent backward ${be.name}`, dx);
        freeAll(dx, sc);
      }
      freeAll(x, lab, losses, l);
    }
  }

  it("forward (losses, lse, total) and backward (scale, per-row scales) vs float64", () => {
    for (const { M, C, X, L } of cases(new Generator(30))) checkXent(M, C, X, L, "xent");
  });

  it("large logits (±1e4) stay finite and correct", () => {
    const g = new Generator(31);
    for (const [M, C] of [
      [4, 3],
      [5, 17],
      [3, 1001],
    ]) {
      const X = randArray(g, M * C, -1e4, 1e4);
      for (let i = 0; i < M * C; i++) if (g.random() < 0.3) X[i] = g.random() < 0.5 ? 1e4 : -1e4;
      X[0] = 1e4;
      X[1] = 1e4; // a tie at the top of row 0
      const L = randLabels(g, M, C);
      L[0] = 1;
      checkXent(M, C, X, L, "xent ±1e4");
    }
  });
});

describe("log-softmax, softmax, nll, mse", () => {
  it("logSoftmax forward and backward", () => {
    const g = new Generator(40);
    for (const [M, C] of LOSS_SHAPES) {
      for (const range of [4, 1e4]) {
        const X = randArray(g, M * C, -range, range),
          DY = randArray(g, M * C, -1, 1);
        const yRef = new Float64Array(M * C),
          yTol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          const l = lse64(X, i * C, C),
            e = lseErr(X, i * C, C, l);
          for (let j = 0; j < C; j++) {
            yRef[i * C + j] = X[i * C + j] - l;
            yTol[i * C + j] = e + 2 * U * Math.abs(yRef[i * C + j]);
          }
        }
        // Backward is fed the float32 forward output, as autograd does.
        const Y = Float32Array.from(yRef);
        const dxRef = new Float64Array(M * C),
          dxTol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          let s = 0,
            sAbs = 0;
          for (let j = 0; j < C; j++) {
            s += DY[i * C + j];
            sAbs += Math.abs(DY[i * C + j]);
          }
          for (let j = 0; j < C; j++) {
            const p = Math.exp(Y[i * C + j]);
            dxRef[i * C + j] = DY[i * C + j] - p * s;
            dxTol[i * C + j] = 4 * U * Math.abs(DY[i * C + j]) + p * sAbs * (C + 8) * U + 1e-37;
          }
        }
        for (const be of BACKENDS) {
          const x = alloc(be, M * C, X),
            y = alloc(be, M * C, null, { pre: 17 });
          be.logSoftmaxForward(y.ptr, x.ptr, M, C);
          expectClose(`logSoftmax ${be.name} ${M}x${C} ±${range}`, read(y), yRef, (k) => yTol[k]);
          expectGuards(`logSoftmax ${be.name}`, y);
          const yy = alloc(be, M * C, Y),
            dy = alloc(be, M * C, DY),
            dx = alloc(be, M * C, null, { pre: 18 });
          be.logSoftmaxBackward(dx.ptr, dy.ptr, yy.ptr, M, C);
          expectClose(`logSoftmaxBackward ${be.name} ${M}x${C}`, read(dx), dxRef, (k) => dxTol[k]);
          expectGuards(`logSoftmaxBackward ${be.name}`, dx);
          freeAll(x, y, yy, dy, dx);
        }
      }
    }
  });

  it("softmax forward and backward", () => {
    const g = new Generator(41);
    for (const [M, C] of LOSS_SHAPES) {
      for (const range of [4, 1e4]) {
        const X = randArray(g, M * C, -range, range),
          DY = randArray(g, M * C, -1, 1);
        const yRef = new Float64Array(M * C),
          yTol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          const l = lse64(X, i * C, C),
            e = lseErr(X, i * C, C, l);
          for (let j = 0; j < C; j++) {
            yRef[i * C + j] = Math.exp(X[i * C + j] - l);
            yTol[i * C + j] = yRef[i * C + j] * (e + 8 * U) + 1e-37;
          }
        }
        const Y = Float32Array.from(yRef);
        const dxRef = new Float64Array(M * C),
          dxTol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          let s = 0,
            sAbs = 0;
          for (let j = 0; j < C; j++) {
            s += DY[i * C + j] * Y[i * C + j];
            sAbs += Math.abs(DY[i * C + j] * Y[i * C + j]);
          }
          for (let j = 0; j < C; j++) {
            const y = Y[i * C + j],
              dy = DY[i * C + j];
            dxRef[i * C + j] = y * (dy - s);
            dxTol[i * C + j] = y * (Math.abs(dy) + sAbs) * (C + 8) * U + 1e-37;
          }
        }
        for (const be of BACKENDS) {
          const x = alloc(be, M * C, X),
            y = alloc(be, M * C, null, { pre: 17 });
          be.softmaxForward(y.ptr, x.ptr, M, C);
          const got = read(y);
          expect(got.every(Number.isFinite), `softmax finite ${be.name}`).toBe(true);
          expectClose(`softmax ${be.name} ${M}x${C} ±${range}`, got, yRef, (k) => yTol[k]);
          expectGuards(`softmax ${be.name}`, y);
          const yy = alloc(be, M * C, Y),
            dy = alloc(be, M * C, DY),
            dx = alloc(be, M * C, null, { pre: 18 });
          be.softmaxBackward(dx.ptr, dy.ptr, yy.ptr, M, C);
          expectClose(`softmaxBackward ${be.name} ${M}x${C}`, read(dx), dxRef, (k) => dxTol[k]);
          expectGuards(`softmaxBackward ${be.name}`, dx);
          freeAll(x, y, yy, dy, dx);
        }
      }
    }
  });

  it("nll forward and backward", () => {
    const g = new Generator(42);
    for (const [M, C] of LOSS_SHAPES) {
      const X = randArray(g, M * C, -5, 0),
        L = randLabels(g, M, C),
        scales = randArray(g, M, -2, 2);
      const losses = Array.from(L, (c, i) => -X[i * C + c]);
      const total = losses.reduce((a, b) => a + b, 0);
      for (const be of BACKENDS) {
        const x = alloc(be, M * C, X),
          lab = alloc(be, M, L, { int: true }),
          out = alloc(be, M, null, { pre: 17 });
        const t = be.nllForward(x.ptr, lab.ptr, M, C, out.ptr, -100);
        expect(Math.abs(t - total), `nll total ${be.name}`).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(total)));
        expectBitwise(`nll losses ${be.name} ${M}x${C}`, read(out), losses);
        expectGuards(`nll ${be.name}`, out);
        expect(be.nllForward(x.ptr, lab.ptr, M, C, 0, -100)).toBe(t);
        for (const [scale, useScales] of [
          [0.5, false],
          [-3, true],
        ] as const) {
          const dx = alloc(be, M * C, randArray(g, M * C), { pre: 18 }),
            sc = alloc(be, M, scales);
          be.nllBackward(dx.ptr, lab.ptr, M, C, scale, useScales ? sc.ptr : 0, -100);
          const ref = new Float64Array(M * C);
          for (let i = 0; i < M; i++) ref[i * C + L[i]] = -scale * (useScales ? scales[i] : 1);
          expectClose(`nllBackward ${be.name} ${M}x${C}`, read(dx), ref, (k) => 2 * U * Math.abs(ref[k]));
          expectGuards(`nllBackward ${be.name}`, dx);
          freeAll(dx, sc);
        }
        freeAll(x, lab, out);
      }
    }
  });

  it("mse forward (sum, per-element squares) and backward (scale, per-element scales)", () => {
    const g = new Generator(43);
    for (const n of LENGTHS) {
      const A = randArray(g, n, -3, 3),
        B = randArray(g, n, -3, 3),
        scales = randArray(g, n, -2, 2);
      const sq = Array.from(A, (a, i) => (a - B[i]) ** 2);
      const total = sq.reduce((a, b) => a + b, 0);
      for (const be of BACKENDS) {
        const a = alloc(be, n, A),
          b = alloc(be, n, B),
          out = alloc(be, n, null, { pre: 17 });
        const t = be.mseForward(a.ptr, b.ptr, n, out.ptr);
        expect(Math.abs(t - total), `mse total ${be.name} n=${n}`).toBeLessThanOrEqual(4 * U * total + 1e-30);
        expectClose(`mse squares ${be.name} n=${n}`, read(out), sq, (i) => 4 * U * sq[i]);
        expectGuards(`mse ${be.name}`, out);
        expect(be.mseForward(a.ptr, b.ptr, n, 0)).toBe(t);
        for (const [scale, useScales] of [
          [2 / n, false],
          [-0.7, true],
        ] as const) {
          const dx = alloc(be, n, null, { pre: 18 }),
            sc = alloc(be, n, scales);
          be.mseBackward(dx.ptr, a.ptr, b.ptr, n, scale, useScales ? sc.ptr : 0);
          const ref = Array.from(A, (v, i) => (v - B[i]) * scale * (useScales ? scales[i] : 1));
          expectClose(`mseBackward ${be.name} n=${n}`, read(dx), ref, (i) => 4 * U * Math.abs(ref[i]) + 1e-37);
          expectGuards(`mseBackward ${be.name}`, dx);
          freeAll(dx, sc);
        }
        freeAll(a, b, out);
      }
    }
  });
});
