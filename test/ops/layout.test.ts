// Views and layouts as PyTorch has them: which ops share memory, their strides, when view() must
// refuse, that every op family gives the same result on a strided view as on a dense copy (both
// backends), up to 8 dims, and dtypes (int32, bool) through arithmetic, comparisons and casts.
import { describe, expect, it } from "vitest";
import { createBackend } from "../../src/backend/index.js";
import { DTypeError, ShapeError, type Tensor, ValueError, arange, ops, randn, tensor, zeros } from "../../src/index.js";
import { Generator } from "../../src/random.js";

const BACKENDS = [createBackend("wasm"), createBackend("js")];

describe.each(BACKENDS.map((b) => [b.name, b] as const))("views and layouts [%s]", (_name, be) => {
  const opt = { backend: be };
  const ar = (...shape: number[]) =>
    arange(
      0,
      shape.reduce((a, b) => a * b, 1),
      { dtype: "float32", backend: be },
    ).reshape(shape);

  it("strides and contiguity match PyTorch's for each view op", () => {
    const x = ar(2, 3, 4);
    expect(x.stride()).toEqual([12, 4, 1]);
    expect(x.transpose(0, 2).stride()).toEqual([1, 4, 12]);
    expect(x.permute(1, 2, 0).stride()).toEqual([4, 1, 12]);
    expect(x.unsqueeze(1).stride()).toEqual([12, 12, 4, 1]);
    expect(x.narrow(2, 1, 2).stride()).toEqual([12, 4, 1]);
    expect(x.narrow(2, 1, 2).isContiguous()).toBe(false);
    expect(x.select(1, 2).stride()).toEqual([12, 1]);
    expect(x.index(":", ":", "::2").stride()).toEqual([12, 4, 2]);
    expect(ar(3, 1).expand(2, 3, 4).stride()).toEqual([0, 1, 0]);
    expect(x.T.shape).toEqual([4, 3, 2]);
    expect(x.mT.shape).toEqual([2, 4, 3]);
    expect(x.transpose(0, 1).isContiguous()).toBe(false);
    expect(x.transpose(0, 1).contiguous().isContiguous()).toBe(true);
  });

  it("views share memory with their base; reshape copies only when it must", () => {
    const x = zeros([3, 4], opt);
    x.select(0, 1).fill_(7);
    x.index(":", "2:").fill_(1);
    x.T.narrow(0, 0, 1).fill_(-1);
    expect(x.tolist()).toEqual([
      [-1, 0, 1, 1],
      [-1, 7, 1, 1],
      [-1, 0, 1, 1],
    ]);
    const y = x.view(12);
    expect(y.storage).toBe(x.storage);
    const t = x.T;
    expect(t.reshape(12).storage).not.toBe(x.storage); // transposed: reshape copies
    expect(t.reshape(12).toArray()).toEqual([-1, -1, -1, 0, 7, 0, 1, 1, 1, 1, 1, 1]);
    x.narrow(0, 0, 2).copy_(tensor([5, 6, 7, 8], opt));
    expect(x.toArray().slice(0, 8)).toEqual([5, 6, 7, 8, 5, 6, 7, 8]);
  });

  it("view refuses layouts it cannot express, as PyTorch does, and accepts those it can", () => {
    const x = ar(2, 3, 4);
    expect(() => x.transpose(0, 1).view(24)).toThrow(ShapeError);
    expect(() => x.transpose(0, 1).view(24)).toThrow(/not compatible with the input's layout .* use \.reshape/);
    expect(x.transpose(0, 1).view(3, 2, 4).shape).toEqual([3, 2, 4]);
    // Splitting a dim of a strided tensor is fine: each new dim stays inside one contiguous block.
    expect(x.index(":", ":", "::2").view(2, 3, 2, 1).stride()).toEqual([12, 4, 2, 2]);
    expect(x.narrow(1, 0, 2).view(2, 8).toArray()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(() => x.narrow(2, 0, 2).view(12)).toThrow(ShapeError);
  });

  it("every op family gives the same values on a strided view as on its dense copy", () => {
    const g = new Generator(3);
    const base = tensor(
      Float32Array.from({ length: 4 * 5 * 6 }, () => g.normal()),
      { shape: [4, 5, 6], backend: be },
    );
    const views: Tensor[] = [base.transpose(0, 2), base.permute(1, 0, 2).index(":", "1:", "::2"), base.select(1, 3), base.narrow(2, 1, 4).mT];
    const opsToCheck: [string, (t: Tensor) => Tensor][] = [
      ["exp", (t) => t.exp()],
      ["tanh", (t) => t.tanh()],
      ["relu", (t) => t.relu()],
      ["add self", (t) => t.add(t)],
      ["mul row", (t) => t.mul(t.select(0, 0))],
      ["sum 0", (t) => t.sum(0)],
      ["sum all", (t) => t.sum()],
      ["max -1", (t) => t.max(-1).values],
      ["softmax 0", (t) => t.softmax(0)],
      ["logsumexp -1", (t) => t.logsumexp(-1)],
      ["var", (t) => t.var()],
      ["cumsum 0", (t) => t.cumsum(0)],
      ["matmul", (t) => t.matmul(t.mT)],
      ["clone", (t) => t.clone()],
      ["gelu", (t) => ops.gelu(t)],
      ["where", (t) => ops.where(t.gt(0), t, t.neg())],
      ["cat", (t) => ops.cat([t, t], 0)],
      ["tril", (t) => (t.ndim >= 2 ? t.tril() : t)],
      ["index select", (t) => t.indexSelect(0, tensor([0, 0], { dtype: "int32", backend: be }))],
    ];
    for (const v of views) {
      const d = v.contiguous();
      expect(v.toArray()).toEqual(d.toArray());
      for (const [name, f] of opsToCheck) {
        const a = f(v).toArray(),
          b = f(d).toArray();
        expect(a.length, name).toBe(b.length);
        a.forEach((val, i) =>
          expect(Math.abs(val - b[i]), `${name} on a view of shape [${v.shape}] [${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(b[i]))),
        );
      }
    }
  });

  it("gradients flow back through views into the base's layout", () => {
    const x = ar(3, 4).requiresGrad_();
    const y = x.T.index("1:3")
      .mul(tensor([[1], [10]], opt))
      .sum();
    y.backward();
    expect(x.grad!.tolist()).toEqual([
      [0, 1, 10, 0],
      [0, 1, 10, 0],
      [0, 1, 10, 0],
    ]);
    const z = ar(2, 3).requiresGrad_();
    z.unsqueeze(0).expand(4, 2, 3).select(2, 1).sum().backward();
    expect(z.grad!.tolist()).toEqual([
      [0, 4, 0],
      [0, 4, 0],
    ]);
  });

  it("up to 8 dims; a 9th is a clear error", () => {
    const x = randn([2, 1, 2, 1, 2, 1, 2, 3], opt);
    expect(x.permute(7, 6, 5, 4, 3, 2, 1, 0).contiguous().permute(7, 6, 5, 4, 3, 2, 1, 0).toArray()).toEqual(x.toArray());
    expect(x.sum([0, 2, 4, 6]).shape).toEqual([1, 1, 1, 3]);
    expect(() => x.unsqueeze(0)).toThrow(/at most 8 dimensions/);
    expect(() => zeros([1, 1, 1, 1, 1, 1, 1, 1, 1], opt)).toThrow(ShapeError);
  });

  it("dtypes: int32 arithmetic stays int32, division and floats promote, comparisons give bool", () => {
    const i = tensor([7, -3, 2], { dtype: "int32", backend: be });
    expect(i.add(i).dtype).toBe("int32");
    expect(i.mul(3).tolist()).toEqual([21, -9, 6]);
    expect(i.div(2).dtype).toBe("float32");
    expect(i.div(2).tolist()).toEqual([3.5, -1.5, 1]);
    expect(i.add(0.5).dtype).toBe("float32");
    expect(i.gt(0).tolist()).toEqual([true, false, true]);
    expect(i.gt(0).dtype).toBe("bool");
    expect(i.gt(0).logicalAnd(i.lt(5)).tolist()).toEqual([false, false, true]);
    expect(tensor([1.9, -1.9, 0], opt).int().tolist()).toEqual([1, -1, 0]);
    expect(tensor([1.9, 0, -0.0], opt).bool().tolist()).toEqual([true, false, false]);
    expect(tensor([true, false], opt).float().tolist()).toEqual([1, 0]);
    expect(tensor([true, false, true], opt).dtype).toBe("bool");
    expect(i.sum().item()).toBe(6);
    expect(() => i.requiresGrad_()).toThrow(DTypeError);
    expect(() => i.mean()).toThrow(DTypeError);
  });

  it("bad layout arguments are named", () => {
    const x = ar(2, 3);
    expect(() => x.permute(0, 0)).toThrow(/permute: dims \[0, 0\] repeat a dim/);
    expect(() => x.permute(0)).toThrow(/permute: expected 2 dims for shape \[2, 3\]/);
    expect(() => x.transpose(0, 2)).toThrow(/transpose: dim1 2 is out of range/);
    expect(() => x.expand(3, 3)).toThrow(/expand: the expanded size 3 must match the existing size 2 at non-singleton dimension 0/);
    expect(() => x.narrow(1, 2, 2)).toThrow(/narrow: start 2 \+ length 2 exceeds dim 1 of size 3/);
    expect(() => x.select(0, 2)).toThrow(/select: index 2 is out of range for dim 0 of size 2/);
    expect(() => x.index(0, 0, 0)).toThrow(/index: too many indices \(3\) for a tensor of shape \[2, 3\]/);
    expect(() => x.index("1:2:0")).toThrow(/positive step/);
    expect(() => x.indexSelect(1, tensor([0, 3], { dtype: "int32", backend: be }))).toThrow(
      /indexSelect: index 3 at position 1 is out of range for dim 1 of size 3/,
    );
    expect(() => x.gather(1, tensor([[0.5]], opt))).toThrow(DTypeError);
    expect(() => ops.cat([x, ar(2, 2)], 0)).toThrow(/cat: tensor 1 has shape \[2, 2\], expected \[-1, 3\]/);
    expect(() => x.split([1, 1], 1)).toThrow(/split: sizes \[1, 1\] do not add up to dim 1 of size 3/);
    expect(() => x.data && x.T.data).toThrow(ValueError);
  });
});
