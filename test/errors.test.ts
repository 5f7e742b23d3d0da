// Bad input throws the documented error class with a message that names what was wrong, and
// leaves the library usable.
import { describe, expect, it } from "vitest";
import { createBackend, type Backend } from "../src/backend/index.js";
import { tensor, zeros } from "../src/tensor.js";
import * as ops from "../src/ops/index.js";
import { BackendMismatchError, DTypeError, ShapeError, ValueError } from "../src/errors.js";
import { thrown } from "./helpers/errors.js";

for (const name of ["wasm", "js"] as const) {
  describe(`errors [${name}]`, () => {
    const be: Backend = createBackend(name);
    const opt = { backend: be };

    it("matmul with mismatched shapes: ShapeError naming both shapes", () => {
      const a = zeros([2, 3], opt),
        b = zeros([4, 5], opt);
      const e = thrown(ShapeError, () => ops.matmul(a, b));
      expect(e.message).toContain("[2, 3]");
      expect(e.message).toContain("[4, 5]");
      const e2 = thrown(ShapeError, () => a.matmul(zeros([2, 3], opt)));
      expect(e2.message).toMatch(/\[2, 3\].*\[2, 3\]/);
      // batched: the inner dims must still agree
      const e3 = thrown(ShapeError, () => ops.matmul(zeros([2, 3, 4], opt), zeros([5, 2], opt)));
      expect(e3.message).toContain("[2, 3, 4]");
      expect(e3.message).toContain("[5, 2]");
      // The library still works after the error.
      expect(ops.matmul(tensor([[1, 2, 3]], opt), tensor([[1], [1], [1]], opt)).item()).toBe(6);
    });

    it("linear with mismatched shapes: ShapeError naming both shapes", () => {
      const W = zeros([4, 5], opt);
      const e = thrown(ShapeError, () => ops.linear(zeros([2, 3], opt), W));
      expect(e.message).toContain("[2, 3]");
      expect(e.message).toContain("[4, 5]");
      const e2 = thrown(ShapeError, () => ops.linear(zeros([7, 2, 6], opt), W, zeros([4], opt)));
      expect(e2.message).toContain("[7, 2, 6]");
      expect(e2.message).toContain("[4, 5]");
      // a bias of the wrong length names it and the weight
      const e3 = thrown(ShapeError, () => ops.linear(zeros([2, 5], opt), W, zeros([3], opt)));
      expect(e3.message).toContain("[3]");
      expect(e3.message).toContain("[4, 5]");
    });

    it("crossEntropy with a label out of range: ValueError naming the value and its index", () => {
      const logits = zeros([4, 5], { ...opt, requiresGrad: true });
      const e = thrown(ValueError, () => ops.crossEntropy(logits, tensor(Int32Array.from([0, 4, 7, 1]), opt)));
      expect(e.message).toMatch(/\b7\b/);
      expect(e.message).toMatch(/index 2\b/);
      expect(e.message).toMatch(/\b5 classes\b/);
      const e2 = thrown(ValueError, () => ops.crossEntropy(logits, tensor(Int32Array.from([0, 1, 2, -1]), opt)));
      expect(e2.message).toContain("-1");
      expect(e2.message).toMatch(/index 3\b/);
      const e3 = thrown(ValueError, () => ops.nllLoss(logits, tensor(Int32Array.from([5, 0, 0, 0]), opt)));
      expect(e3.message).toMatch(/\b5\b/);
      expect(e3.message).toMatch(/index 0\b/);
      // Nothing half-done: a valid call afterwards works and is differentiable.
      const loss = ops.crossEntropy(logits, tensor(Int32Array.from([0, 4, 3, 1]), opt));
      expect(loss.item()).toBeCloseTo(Math.log(5), 6);
      loss.backward();
      expect(logits.grad).not.toBeNull();
    });

    it("float32 labels: DTypeError", () => {
      const logits = zeros([3, 4], opt);
      const e = thrown(DTypeError, () => ops.crossEntropy(logits, tensor([0, 1, 2], opt)));
      expect(e.message).toContain("float32");
      expect(e.message).toContain("int32");
      thrown(DTypeError, () => ops.nllLoss(logits, tensor([0, 1, 2], opt)));
      // int32 tensors cannot require gradients
      thrown(DTypeError, () => tensor(Int32Array.from([1, 2]), opt).requiresGrad_());
      // and int32 logits
      thrown(DTypeError, () => ops.crossEntropy(tensor(Int32Array.from([1, 2, 3, 4]), { ...opt, shape: [1, 4] }), tensor(Int32Array.from([0]), opt)));
    });

    it("mixing tensors of two backends: BackendMismatchError", () => {
      const other = createBackend(name === "wasm" ? "js" : "wasm");
      const same = createBackend(name); // same kind, different memory: also a mismatch
      for (const ob of [other, same]) {
        const a = tensor(
          [
            [1, 2],
            [3, 4],
          ],
          opt,
        );
        const b = tensor(
          [
            [1, 2],
            [3, 4],
          ],
          { backend: ob },
        );
        const row = tensor([1, 2], { backend: ob });
        const e = thrown(BackendMismatchError, () => a.add(b));
        expect(e.message).toContain(be.name);
        expect(e.message).toContain(ob.name);
        thrown(BackendMismatchError, () => a.sub(row));
        thrown(BackendMismatchError, () => a.mul(b));
        thrown(BackendMismatchError, () => a.matmul(b));
        thrown(BackendMismatchError, () => ops.linear(a, b));
        thrown(BackendMismatchError, () => ops.linear(a, a, row));
        thrown(BackendMismatchError, () => ops.crossEntropy(a, tensor(Int32Array.from([0, 1]), { backend: ob })));
        thrown(BackendMismatchError, () => ops.mseLoss(a, b));
        thrown(BackendMismatchError, () => a.copy_(b));
        const x = tensor([1, 2], { ...opt, requiresGrad: true });
        thrown(BackendMismatchError, () => x.mul(2).backward(tensor([1, 1], { backend: ob })));
      }
    });

    it("other shape errors name the shapes", () => {
      const a = zeros([2, 3], opt);
      const e = thrown(ShapeError, () => a.add(zeros([3, 2], opt)));
      expect(e.message).toContain("[2, 3]");
      expect(e.message).toContain("[3, 2]");
      const e2 = thrown(ShapeError, () => a.reshape(4, 2));
      expect(e2.message).toContain("[4, 2]");
      expect(e2.message).toContain("[2, 3]");
      const e3 = thrown(ShapeError, () => ops.mseLoss(a, zeros([6], opt)));
      expect(e3.message).toContain("[2, 3]");
      expect(e3.message).toContain("[6]");
      const e4 = thrown(ShapeError, () => ops.crossEntropy(a, tensor(Int32Array.from([0, 1, 2]), opt)));
      expect(e4.message).toContain("[3]");
      expect(e4.message).toContain("[2, 3]");
    });
  });
}
