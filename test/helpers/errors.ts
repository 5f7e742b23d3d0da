// The assertion behind every "bad input throws the documented error class" test.
import { expect } from "vitest";
import { WasmgradError } from "../../src/errors.js";

/** Calls fn, expects it to throw an instance of cls (a WasmgradError named after its class), returns the error. */
export function thrown<E extends Error>(cls: new (...args: never[]) => E, fn: () => unknown): E {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${cls.name} to be thrown`).toBeInstanceOf(cls);
  expect(caught).toBeInstanceOf(WasmgradError);
  expect((caught as Error).name).toBe(cls.name);
  return caught as E;
}
