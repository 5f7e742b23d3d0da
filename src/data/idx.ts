// The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/): a big-endian magic
// number 0x0000TTDD (TT element type, DD number of dimensions), DD big-endian uint32 sizes,
// then the elements. Only unsigned bytes (TT = 0x08) are used by MNIST and supported here.
import { FormatError, ValueError } from "../errors.js";
import { checkOptions, describe, checkArgCount } from "../check.js";
import { checkMaxBytes, gunzipSync } from "../gunzip.js";

/** A parsed IDX file: its element type, dims and data. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/**
 * The header of IDX bytes (or of a prefix of them): dims, header length and the element count
 * the dims declare. Throws FormatError for a wrong magic number, element type or dimension
 * count; returns null when `bytes` ends before the header does.
 */
export function readIdxHeader(bytes: Uint8Array, name: string, expectedDims?: number): { dims: number[]; header: number; count: number } | null {
  if (bytes.length < 4) return null;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new FormatError(`${name}: not an IDX file: the magic number at byte 0 starts with 0x${hex(bytes[0])} 0x${hex(bytes[1])}, expected 0x00 0x00`);
  }
  if (bytes[2] !== UBYTE) {
    throw new FormatError(`${name}: unsupported IDX element type 0x${hex(bytes[2])} at byte 2 (expected 0x08, unsigned byte)`);
  }
  const ndims = bytes[3];
  if (expectedDims !== undefined && ndims !== expectedDims) {
    throw new FormatError(
      `${name}: expected ${expectedDims} dimension${expectedDims > 1 ? "s" : ""} (magic 0x0000080${expectedDims}), the magic number at byte 0 says ${ndims}`,
    );
  }
  const header = 4 + 4 * ndims;
  if (bytes.length < header) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d; // a float: exact up to 2^53, and any larger count is rejected against the file size
  }
  return { dims, header, count };
}

/** Parses an IDX file's bytes; every error names the file (`name`) and the byte offset. */
export function parseIdx(bytes: Uint8Array, name: string, expectedDims?: number): IdxArray {
  checkArgCount("parseIdx", arguments, 3);
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`parseIdx: expected the file's bytes as a Uint8Array, got ${describe(bytes)}`);
  if (bytes.length < 4) {
    throw new FormatError(`${name}: ${bytes.length} bytes is too short for an IDX file (a 4-byte magic number comes first)`);
  }
  const h = readIdxHeader(bytes, name, expectedDims);
  if (h === null) {
    const header = 4 + 4 * bytes[3];
    throw new FormatError(`${name}: truncated header: ${bytes[3]} dimension sizes need ${header} bytes, the file has ${bytes.length}`);
  }
  const { dims, header, count } = h;
  const available = bytes.length - header;
  if (available < count) {
    throw new FormatError(
      `${name}: truncated data: dimensions [${dims.join(", ")}] need ${count} bytes after the header (byte ${header}), the file has ${available}`,
    );
  }
  if (available > count) {
    throw new FormatError(`${name}: ${available - count} unexpected bytes after the data, at byte offset ${header + count} (dimensions [${dims.join(", ")}])`);
  }
  return { dims, data: bytes.subarray(header) };
}

/**
 * For gunzip: the decompressed size an IDX file announces in its header (checked as far as a
 * prefix allows), so decompression stops there instead of trusting the gzip stream.
 */
export function idxDeclaredSize(name: string, expectedDims?: number): (prefix: Uint8Array) => number | null {
  return (prefix) => {
    const h = readIdxHeader(prefix, name, expectedDims);
    return h === null ? null : h.header + h.count;
  };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}

/** Options of parseIdxFile: the most bytes gzipped data may decompress to. */
export interface ParseIdxFileOptions {
  /**
   * The most bytes gzipped data may decompress to (default 256 MiB; the MNIST training images
   * are 47 MB): a header that declares more is a ValueError before anything is decompressed.
   * Raise it for bigger files you trust. Plain bytes are taken as they are.
   */
  maxBytes?: number;
}

/**
 * An IDX file's bytes, plain or gzipped, parsed. Gzipped data is decompressed no further than
 * the size its IDX header declares, and not at all when that is over `maxBytes`.
 */
export function parseIdxFile(bytes: Uint8Array, name: string, expectedDims?: number, options: ParseIdxFileOptions = {}): IdxArray {
  checkArgCount("parseIdxFile", arguments, 4);
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`parseIdxFile: expected the file's bytes as a Uint8Array, got ${describe(bytes)}`);
  checkOptions("parseIdxFile", options, ["maxBytes"]);
  const maxBytes = checkMaxBytes("parseIdxFile", options.maxBytes);
  return parseIdx(gunzipSync(bytes, name, idxDeclaredSize(name, expectedDims), maxBytes), name, expectedDims);
}
