import { describe, expect, it } from "vitest";
import { setBackend, tensor } from "../src/index.js";

describe("smoke", () => {
  it("adds on both backends", () => {
    for (const b of ["wasm", "js"] as const) {
      setBackend(b);
      expect(
        tensor([1, 2, 3])
          .add(tensor([10, 20, 30]))
          .toArray(),
      ).toEqual([11, 22, 33]);
    }
  });
});
