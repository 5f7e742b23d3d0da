// Run by test/fast-math.test.ts in a Node started with --experimental-wasm-relaxed-simd (Node 20
// needs the flag; 21+ has relaxed SIMD on): loads the fast-math kernels from build/ and prints one
// JSON line of facts the test checks against float64 and the default kernels.
import {
  ValueError,
  createBackend,
  getBackend,
  initFastMath,
  manualSeed,
  nn,
  noGrad,
  optim,
  rand,
  relaxedSimdSupported,
  setBackend,
  setFastMath,
  tensor,
} from "../../src/index.js";
import type { Backend, Tensor } from "../../src/index.js";

const F = nn.functional;

const dir = new URL("../../build/", import.meta.url);
const facts: Record<string, unknown> = { supported: relaxedSimdSupported() };

// A missing file is an error naming it, not a silent fallback (the runtime does support relaxed SIMD).
try {
  await initFastMath({ plain: new URL("no-such-kernels.wasm", dir), shared: new URL("kernels-mt-relaxed.wasm", dir) });
  facts.missingFile = "no error";
} catch (e) {
  facts.missingFile = `${(e as Error).constructor.name}: ${(e as Error).message}`;
}
// The built package finds its two files next to dist/index.js without being told.
const dist = (await import(new URL("../../dist/index.js", import.meta.url).href)) as typeof import("../../src/index.js");
facts.distDefault = await dist.initFastMath();
facts.distBackend = dist.createBackend("wasm", { fastMath: true }).fastMath;
facts.loaded = await initFastMath({ plain: new URL("kernels-relaxed.wasm", dir), shared: new URL("kernels-mt-relaxed.wasm", dir) });

// setFastMath before the first tensor switches the default backend; after it, it refuses to.
facts.setFastMath = setFastMath(true);
facts.defaultIsFast = getBackend().fastMath;
tensor([1]);
try {
  setFastMath(false);
  facts.lateSwitch = "no error";
} catch (e) {
  facts.lateSwitch = e instanceof ValueError ? `ValueError: ${e.message}` : String(e);
}

const fast = createBackend("wasm", { fastMath: true });
const fast2 = createBackend("wasm", { fastMath: true });
fast2.setNumThreads(2);
const plainFast = createBackend("wasm", { fastMath: true, shared: false });
const exact = createBackend("wasm");
facts.backends = [fast.fastMath, plainFast.fastMath, exact.fastMath];
await new Promise((r) => setTimeout(r, 300)); // the worker starts asynchronously

/** Every gemm form and path on `be` (matmul through the tensor API), as numbers. */
function products(be: Backend): number[][] {
  setBackend(be);
  manualSeed(1);
  const a = rand([67, 300]).sub(0.5),
    b = rand([300, 45]).sub(0.5),
    small = rand([3, 300]).sub(0.5);
  const big = rand([256, 256]).sub(0.5);
  return noGrad(() =>
    [a.matmul(b), a.matmul(b.T.contiguous().T), a.T.contiguous().T.matmul(b), small.matmul(b.T.contiguous().T), big.matmul(big)].map(
      (t) => t.toArray().flat() as number[],
    ),
  );
}

/** Float64 products of the same inputs (rand draws float32 values; the sums are exact enough). */
function reference(be: Backend): number[][] {
  setBackend(be);
  manualSeed(1);
  const get = (t: Tensor) => ({ v: Float64Array.from(t.toArray().flat(2) as number[]), r: t.shape[0], c: t.shape[1] });
  const a = get(rand([67, 300]).sub(0.5)),
    b = get(rand([300, 45]).sub(0.5)),
    small = get(rand([3, 300]).sub(0.5)),
    big = get(rand([256, 256]).sub(0.5));
  const mm = (x: typeof a, y: typeof a) => {
    const out: number[] = [];
    for (let i = 0; i < x.r; i++)
      for (let j = 0; j < y.c; j++) {
        let s = 0;
        for (let k = 0; k < x.c; k++) s += x.v[i * x.c + k] * y.v[k * y.c + j];
        out.push(s);
      }
    return out;
  };
  return [mm(a, b), mm(a, b), mm(a, b), mm(small, b), mm(big, big)];
}

const maxErr = (x: number[][], ref: number[][]) => Math.max(...x.map((row, i) => Math.max(...row.map((v, j) => Math.abs(v - ref[i][j])))));
const ref = reference(exact);
const pf = products(fast),
  pe = products(exact);
facts.gemmErrFast = maxErr(pf, ref);
facts.gemmErrExact = maxErr(pe, ref);
facts.gemmBitsDiffer = pf.some((row, i) => row.some((v, j) => v !== pe[i][j]));
facts.gemmThreadsSame = JSON.stringify(products(fast2)) === JSON.stringify(pf);
facts.gemmUnsharedSame = JSON.stringify(products(plainFast)) === JSON.stringify(pf);

/** Causal attention forward and input gradients on `be`. */
function attention(be: Backend): number[] {
  setBackend(be);
  manualSeed(2);
  const [q, k, v] = [0, 1, 2].map(() => rand([2, 3, 40, 16]).sub(0.5).requiresGrad_());
  const y = F.scaledDotProductAttention(q, k, v, { isCausal: true });
  y.mul(rand([2, 3, 40, 16]))
    .sum()
    .backward();
  return [...(y.toArray().flat(3) as number[]), ...[q, k, v].flatMap((t) => t.grad!.toArray().flat(3) as number[])];
}
const af = attention(fast),
  ae = attention(exact);
facts.attentionMaxDiff = Math.max(...af.map((x, i) => Math.abs(x - ae[i])));
facts.attentionMaxAbs = Math.max(...ae.map(Math.abs));

/** Ten SGD steps of a small MLP on fixed data: the losses. */
function train(be: Backend): number[] {
  setBackend(be);
  manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(20, 64), new nn.ReLU(), new nn.Linear(64, 5));
  const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
  const x = rand([32, 20]),
    y = tensor(
      Int32Array.from({ length: 32 }, (_, i) => i % 5),
      { dtype: "int32" },
    );
  const losses: number[] = [];
  for (let i = 0; i < 10; i++) {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  return losses;
}
const lf = train(fast),
  le = train(exact);
facts.lossMaxDiff = Math.max(...lf.map((x, i) => Math.abs(x - le[i])));
console.log(JSON.stringify(facts));
process.exit(0);
