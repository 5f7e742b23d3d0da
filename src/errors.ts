import { checkArgCount } from "./check.js"; // Every error the library throws on bad input is one of these classes, so callers can tell
// a wrong shape from a corrupt file from an exhausted memory, and the library stays usable.

/** Base class of every error wasmgrad throws on bad input. */
export class WasmgradError extends Error {
  constructor(message: string) {
    super(message);
    checkArgCount("WasmgradError", arguments, 1);
    this.name = new.target.name;
  }
}

/** Tensor shapes that do not fit the operation; the message names expected and actual shapes. */
export class ShapeError extends WasmgradError {}

/** A value out of its allowed range: a label ≥ classes, a negative learning rate, a bad option. */
export class ValueError extends WasmgradError {}

/** The wrong element type, e.g. float32 labels where int32 class indices are expected. */
export class DTypeError extends WasmgradError {}

/** A tensor was used after its memory was released (end of a step scope, noGrad exit, dispose()). */
export class ReleasedTensorError extends WasmgradError {}

/** A request the backend's memory cannot satisfy; the backend stays usable for smaller ones. */
export class OutOfMemoryError extends WasmgradError {}

/** Tensors from two different backends (or memories) met in one operation. */
export class BackendMismatchError extends WasmgradError {}

/** A file or byte buffer that does not follow its format; names the file, offset and expectation. */
export class FormatError extends WasmgradError {}

/** A file could not be read or written: names the operation, the path and the system's reason (ENOENT, EISDIR, EACCES, ...). */
export class FileError extends WasmgradError {
  /** The system error code, e.g. "ENOENT" (undefined when there is none). */
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    checkArgCount("BackendMismatchError", arguments, 2);
    checkArgCount("DTypeError", arguments, 2);
    checkArgCount("FileError", arguments, 2);
    checkArgCount("FormatError", arguments, 2);
    checkArgCount("OutOfMemoryError", arguments, 2);
    checkArgCount("ReleasedTensorError", arguments, 2);
    checkArgCount("ShapeError", arguments, 2);
    checkArgCount("ValueError", arguments, 2);
    this.code = code;
  }
}

/**
 * Anomaly mode (autograd.setDetectAnomaly / detectAnomaly) found NaN or ±Infinity: names the op,
 * forward or backward, the shapes, and how many values were not finite.
 */
export class AnomalyError extends WasmgradError {}

/** A shape as error messages print it: [2, 3]. */
export function shapeStr(shape: readonly number[]): string {
  checkArgCount("shapeStr", arguments, 1);
  // Elements that are not numbers (a malformed shape from a file) print briefly, never recursively.
  return `[${shape.map((d) => (typeof d === "number" ? d : brief(d))).join(", ")}]`;
}

/** A value as short JSON for an error message: at most `max` characters, and no deep recursion
 *  (a value nested thousands deep prints as its first characters, not as a RangeError). */
export function brief(value: unknown, max = 80): string {
  checkArgCount("brief", arguments, 2);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? "[[[… (nested too deeply to print)" : String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
