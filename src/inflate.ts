// A streaming DEFLATE decoder (RFC 1951) with the zlib (RFC 1950) and gzip (RFC 1952) wrappers
// and their checksums (Adler-32, CRC-32), in plain TypeScript: synchronous and the same in every
// runtime. The caller pulls the output into buffers it sized itself (read), so the caller, not
// the compressed data, decides how much is ever decompressed: a file that inflates to a gigabyte
// costs what the caller asked for and one more byte, which shows that there is more.
//
// Errors are FormatErrors that name the data (`name`) and the byte offset in the compressed
// input. Accepted and rejected inputs are those of zlib (test/inflate.test.ts compares them on
// random and hand-made streams), including gzip's concatenated members and trailing zero bytes.
import { FormatError } from "./errors.js";

export type InflateFormat = "deflate" | "zlib" | "gzip";

// What the decoder expects next.
const HEADER = 0; // the zlib or gzip header of a stream (or member)
const BLOCK = 1; // a block header (or the trailer, after the final block)
const STORED = 2; // the bytes of a stored block
const CODES = 3; // Huffman codes of a fixed or dynamic block
const TRAILER = 4; // the checksum (and size) after the deflate data
const DONE = 5;
const FAILED = 6;

/** Back-references reach at most this far. */
const WINDOW = 32768;

// Lengths (symbols 257–285) and distances (0–29): base values and extra bits.
const LEN_BASE = Uint16Array.of(3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258);
const LEN_EXTRA = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0);
const DIST_BASE = Uint16Array.of(
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
);
const DIST_EXTRA = Uint8Array.of(0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13);
/** The order in which a dynamic block lists the code lengths of its code-length code. */
const CLEN_ORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15);

// ---- Huffman tables ------------------------------------------------------------------------------
//
// One flat table per code, indexed by the next `bits` input bits (the longest code's length; the
// first bit read is the lowest): entry = symbol << 4 | code length, 0 where no code starts so.

const LITLEN = 0;
const DISTANCE = 1;
const CODELEN = 2;

interface Table {
  entries: Uint16Array;
  mask: number;
}

/**
 * Fills `entries` from the code lengths of n symbols; returns the mask of the index bits, or an
 * error message. zlib's rules: over-subscribed sets are invalid; incomplete ones too, except a
 * single code of length 1 for literals/lengths and distances.
 */
function buildTable(lengths: Uint8Array, offset: number, n: number, entries: Uint16Array, kind: number): number | string {
  const count = new Uint16Array(16);
  for (let s = 0; s < n; s++) count[lengths[offset + s]]++;
  count[0] = 0;
  let max = 15;
  while (max > 0 && count[max] === 0) max--;
  if (max === 0) {
    // No codes at all: every lookup fails (a block may still end without using this table).
    entries[0] = entries[1] = 0;
    return 1;
  }
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = (left << 1) - count[len];
    if (left < 0) return "over-subscribed";
  }
  if (left > 0 && (kind === CODELEN || max !== 1)) return "incomplete";
  const size = 1 << max;
  if (left > 0) entries.fill(0, 0, size);
  const next = new Uint16Array(16);
  for (let len = 1, code = 0; len <= 15; len++) {
    code = (code + count[len - 1]) << 1;
    next[len] = code;
  }
  for (let s = 0; s < n; s++) {
    const len = lengths[offset + s];
    if (len === 0) continue;
    let code = next[len]++;
    let rev = 0;
    for (let k = 0; k < len; k++, code >>= 1) rev = (rev << 1) | (code & 1);
    const entry = (s << 4) | len;
    for (let i = rev; i < size; i += 1 << len) entries[i] = entry;
  }
  return size - 1;
}

let fixedTables: { lit: Table; dist: Table } | null = null;

/** The tables of fixed-code blocks (built once). */
function fixed(): { lit: Table; dist: Table } {
  if (fixedTables === null) {
    const lengths = new Uint8Array(288 + 32);
    lengths.fill(8, 0, 144);
    lengths.fill(9, 144, 256);
    lengths.fill(7, 256, 280);
    lengths.fill(8, 280, 288);
    lengths.fill(5, 288, 320); // 32 distance codes: 30 and 31 are invalid when used
    const lit = new Uint16Array(512);
    const dist = new Uint16Array(32);
    fixedTables = {
      lit: { entries: lit, mask: buildTable(lengths, 0, 288, lit, LITLEN) as number },
      dist: { entries: dist, mask: buildTable(lengths, 288, 32, dist, DISTANCE) as number },
    };
  }
  return fixedTables;
}

// ---- checksums -----------------------------------------------------------------------------------

/** CRC-32 lookup tables for eight bytes at a time (table k: a byte followed by k zero bytes). */
const CRC = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 0xff];
  return t;
})();

/** CRC-32 (gzip, PNG) of `bytes`, continuing from `crc` (the CRC of the bytes before). */
export function crc32(bytes: Uint8Array, crc = 0, from = 0, to = bytes.length): number {
  const t = CRC;
  let c = ~crc;
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + bytes[i + 4]] ^
      t[512 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]];
  }
  for (; i < to; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Adler-32 (zlib) of `bytes`, continuing from `adler`. */
export function adler32(bytes: Uint8Array, adler = 1, from = 0, to = bytes.length): number {
  let a = adler & 0xffff;
  let b = adler >>> 16;
  // 3800 bytes keep b below 2^31 between reductions.
  for (let i = from; i < to; ) {
    const stop = Math.min(i + 3800, to);
    for (; i < stop; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// ---- the decoder ---------------------------------------------------------------------------------

/**
 * Decompresses `input` (all of it in memory) in pieces: each read() fills the caller's buffer as
 * far as the data goes. read() returning less than asked means the data has ended and its
 * checksums are verified; so a caller that wants at most N bytes reads N, then one more to see
 * whether there is more. After an error the decoder throws the same error again.
 */
export class Inflater {
  private phase = HEADER;
  private error: FormatError | null = null;
  /** Input position (bytes loaded into the bit buffer are counted as read). */
  private ip = 0;
  /** Bit buffer: `bc` bits, the next one lowest; kept below 2^31. */
  private bb = 0;
  private bc = 0;
  private last = false;
  private storedLeft = 0;
  // Tables of the dynamic blocks (codes are up to 15 bits long), or the fixed ones.
  private lit: Table = { entries: new Uint16Array(1 << 15), mask: 0 };
  private dist: Table = { entries: new Uint16Array(1 << 15), mask: 0 };
  private dynLit: Table = this.lit;
  private dynDist: Table = this.dist;
  /** A back-reference cut short by a full buffer: bytes still to copy, and its distance. */
  private copyLen = 0;
  private copyDist = 0;
  /** The end of the output of earlier reads, last byte at WINDOW - 1. */
  private readonly hist = new Uint8Array(WINDOW);
  /** Output of the current member before `ckStart` (as of this read), and its running checksum. */
  private memberOut = 0;
  private check = 0;
  private ckStart = 0;
  private members = 0;

  constructor(
    private readonly input: Uint8Array,
    readonly format: InflateFormat,
    readonly name: string,
  ) {
    this.check = format === "zlib" ? 1 : 0;
  }

  /** Bytes of input the data took up to where decoding stands (after the end: the whole stream). */
  get inputUsed(): number {
    return Math.min(this.ip - (this.bc >> 3), this.input.length);
  }

  /** True once the end of the data (and its checksum) has been read. */
  get done(): boolean {
    return this.phase === DONE;
  }

  /**
   * Decompresses into out[offset, offset + length) and returns how many bytes it wrote: `length`
   * unless the data ended (checked complete) first. Throws a FormatError for corrupt, truncated
   * or inconsistent data.
   */
  read(out: Uint8Array, offset = 0, length = out.length - offset): number {
    if (this.error !== null) throw this.error;
    if (this.phase === FAILED) throw new Error("Inflater: read() after an error");
    const start = offset;
    const end = offset + length;
    let op = start;
    this.ckStart = start;
    try {
      while (this.phase !== DONE && op < end) {
        switch (this.phase) {
          case HEADER:
            this.header();
            break;
          case BLOCK:
            if (this.last) this.phase = TRAILER;
            else this.blockHeader();
            break;
          case STORED:
            op = this.stored(out, op, end);
            break;
          case CODES:
            op = this.codes(out, start, op, end);
            break;
          case TRAILER:
            this.trailer(out, op);
            break;
        }
      }
    } catch (e) {
      this.phase = FAILED;
      if (e instanceof FormatError) this.error = e;
      throw e;
    }
    this.checksum(out, op);
    this.remember(out, start, op);
    return op - start;
  }

  /**
   * Whether the data ends here (its checksums then verified), or more output follows (one byte of
   * it is read to tell, so a caller that gets false has its answer: the data is longer).
   */
  atEnd(): boolean {
    return this.phase === DONE || this.read(new Uint8Array(1)) === 0;
  }

  private fail(reason: string, at = this.inputUsed): FormatError {
    return new FormatError(`${this.name}: corrupt ${this.format} data at byte ${at}: ${reason}`);
  }

  private truncated(): FormatError {
    return new FormatError(`${this.name}: the ${this.format} data ends early, after ${this.input.length} bytes (truncated file)`);
  }

  /** `n` ≤ 24 bits from the input. */
  private bits(n: number): number {
    const input = this.input;
    while (this.bc < n) {
      this.bb |= (this.ip < input.length ? input[this.ip] : 0) << this.bc;
      this.ip++;
      this.bc += 8;
    }
    const v = this.bb & ((1 << n) - 1);
    this.bb >>>= n;
    this.bc -= n;
    if (this.ip > input.length && (this.ip - input.length) << 3 > this.bc) throw this.truncated();
    return v;
  }

  /** Drops the bits up to the next byte boundary and returns the whole bytes still buffered. */
  private alignToByte(): void {
    this.ip -= this.bc >> 3;
    this.bb = 0;
    this.bc = 0;
    if (this.ip > this.input.length) throw this.truncated();
  }

  private byte(): number {
    if (this.ip >= this.input.length) throw this.truncated();
    return this.input[this.ip++];
  }

  private header(): void {
    const at = this.ip;
    if (this.format === "zlib") {
      const cmf = this.byte();
      const flg = this.byte();
      if (((cmf << 8) | flg) % 31 !== 0) throw this.fail("incorrect header check", at);
      if ((cmf & 15) !== 8) throw this.fail(`unknown compression method ${cmf & 15}`, at);
      if (cmf >> 4 > 7) throw this.fail("invalid window size", at);
      if (flg & 0x20) throw this.fail("the stream needs a preset dictionary", at);
    } else if (this.format === "gzip") {
      const id1 = this.byte();
      const id2 = this.byte();
      if (id1 !== 0x1f || id2 !== 0x8b) {
        throw this.fail(
          this.members === 0 ? `not gzip data (it starts with 0x${hex(id1)} 0x${hex(id2)}, not 0x1f 0x8b)` : `unexpected bytes after the gzip data`,
          at,
        );
      }
      const method = this.byte();
      if (method !== 8) throw this.fail(`unknown compression method ${method}`, at);
      const flags = this.byte();
      if (flags & 0xe0) throw this.fail("unknown header flags set", at);
      this.ip += 6; // modification time, extra flags, operating system
      if (flags & 4) {
        const xlen = this.byte() | (this.byte() << 8);
        this.ip += xlen;
      }
      if (flags & 8) while (this.byte() !== 0);
      if (flags & 16) while (this.byte() !== 0);
      if (flags & 2) {
        const where = this.ip;
        const crc = crc32(this.input, 0, at, Math.min(where, this.input.length)) & 0xffff;
        if ((this.byte() | (this.byte() << 8)) !== crc) throw this.fail("header crc mismatch", where);
      }
      if (this.ip > this.input.length) throw this.truncated();
    }
    this.members++;
    this.phase = BLOCK;
  }

  private blockHeader(): void {
    const h = this.bits(3);
    this.last = (h & 1) === 1;
    switch (h >> 1) {
      case 0: {
        this.alignToByte();
        const at = this.ip;
        const len = this.byte() | (this.byte() << 8);
        const nlen = this.byte() | (this.byte() << 8);
        if (len !== (~nlen & 0xffff)) throw this.fail("invalid stored block lengths", at);
        this.storedLeft = len;
        this.phase = len === 0 ? BLOCK : STORED;
        return;
      }
      case 1: {
        const t = fixed();
        this.lit = t.lit;
        this.dist = t.dist;
        this.phase = CODES;
        return;
      }
      case 2:
        this.dynamicTables();
        this.phase = CODES;
        return;
      default:
        throw this.fail("invalid block type");
    }
  }

  private dynamicTables(): void {
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) throw this.fail("too many length or distance symbols");
    const lengths = new Uint8Array(nlen + ndist);
    const codeLengths = new Uint8Array(19);
    for (let i = 0; i < ncode; i++) codeLengths[CLEN_ORDER[i]] = this.bits(3);
    const clen = new Uint16Array(128);
    const cmask = buildTable(codeLengths, 0, 19, clen, CODELEN);
    if (typeof cmask === "string") throw this.fail(`invalid code lengths set (${cmask})`);
    for (let i = 0; i < nlen + ndist; ) {
      const e = clen[this.peek(cmask)];
      if (e === 0) throw this.fail("invalid code lengths set");
      this.bits(e & 15);
      const sym = e >> 4;
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let value = 0;
      let repeat: number;
      if (sym === 16) {
        if (i === 0) throw this.fail("invalid bit length repeat");
        value = lengths[i - 1];
        repeat = 3 + this.bits(2);
      } else if (sym === 17) {
        repeat = 3 + this.bits(3);
      } else {
        repeat = 11 + this.bits(7);
      }
      if (i + repeat > nlen + ndist) throw this.fail("invalid bit length repeat");
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    if (lengths[256] === 0) throw this.fail("invalid code -- missing end-of-block");
    const lmask = buildTable(lengths, 0, nlen, this.dynLit.entries, LITLEN);
    if (typeof lmask === "string") throw this.fail(`invalid literal/lengths set (${lmask})`);
    const dmask = buildTable(lengths, nlen, ndist, this.dynDist.entries, DISTANCE);
    if (typeof dmask === "string") throw this.fail(`invalid distances set (${dmask})`);
    this.dynLit.mask = lmask;
    this.dynDist.mask = dmask;
    this.lit = this.dynLit;
    this.dist = this.dynDist;
  }

  /** The next bits under `mask`, without consuming them. */
  private peek(mask: number): number {
    const input = this.input;
    while (this.bc < 16) {
      this.bb |= (this.ip < input.length ? input[this.ip] : 0) << this.bc;
      this.ip++;
      this.bc += 8;
    }
    return this.bb & mask;
  }

  private stored(out: Uint8Array, op: number, end: number): number {
    const n = Math.min(this.storedLeft, end - op, this.input.length - this.ip);
    out.set(this.input.subarray(this.ip, this.ip + n), op);
    this.ip += n;
    this.storedLeft -= n;
    op += n;
    if (this.storedLeft === 0) this.phase = BLOCK;
    else if (op < end) throw this.truncated();
    return op;
  }

  /** Huffman-coded symbols until the block ends or out[end] is reached. */
  private codes(out: Uint8Array, start: number, op: number, end: number): number {
    if (this.copyLen > 0) {
      op = this.copySlow(out, start, op, end, this.copyLen, this.copyDist);
      if (this.copyLen > 0) return op;
    }
    const input = this.input;
    const inLen = input.length;
    const lit = this.lit.entries;
    const lmask = this.lit.mask;
    const dist = this.dist.entries;
    const dmask = this.dist.mask;
    // Bytes of this member before out[op] are `produced + op`.
    const produced = this.memberOut - this.ckStart;
    let bb = this.bb;
    let bc = this.bc;
    let ip = this.ip;
    let ended = false;
    let err: string | null = null;
    while (op < end) {
      while (bc < 24) {
        bb |= (ip < inLen ? input[ip] : 0) << bc;
        ip++;
        bc += 8;
      }
      const e = lit[bb & lmask];
      const l = e & 15;
      if (l === 0) {
        err = "invalid literal/length code";
        break;
      }
      bb >>>= l;
      bc -= l;
      if (ip > inLen && (ip - inLen) << 3 > bc) break; // truncated
      const sym = e >> 4;
      if (sym < 256) {
        out[op++] = sym;
        continue;
      }
      if (sym === 256) {
        ended = true;
        break;
      }
      if (sym > 285) {
        err = "invalid literal/length code";
        break;
      }
      const xl = LEN_EXTRA[sym - 257];
      const len = LEN_BASE[sym - 257] + (bb & ((1 << xl) - 1));
      bb >>>= xl;
      bc -= xl;
      while (bc < 24) {
        bb |= (ip < inLen ? input[ip] : 0) << bc;
        ip++;
        bc += 8;
      }
      const de = dist[bb & dmask];
      const dl = de & 15;
      if (dl === 0) {
        err = "invalid distance code";
        break;
      }
      bb >>>= dl;
      bc -= dl;
      const dsym = de >> 4;
      if (dsym > 29) {
        err = "invalid distance code";
        break;
      }
      const xd = DIST_EXTRA[dsym];
      if (bc < xd) {
        bb |= (ip < inLen ? input[ip] : 0) << bc;
        ip++;
        bc += 8;
        if (bc < xd) {
          bb |= (ip < inLen ? input[ip] : 0) << bc;
          ip++;
          bc += 8;
        }
      }
      const d = DIST_BASE[dsym] + (bb & ((1 << xd) - 1));
      bb >>>= xd;
      bc -= xd;
      if (ip > inLen && (ip - inLen) << 3 > bc) break; // truncated
      if (d > produced + op) {
        err = "invalid distance too far back";
        break;
      }
      const src = op - d;
      if (src >= start && op + len <= end) {
        if (d >= len && len > 24) out.copyWithin(op, src, src + len);
        else if (d === 1 && len > 24) out.fill(out[src], op, op + len);
        else for (let k = 0; k < len; k++) out[op + k] = out[src + k];
        op += len;
      } else {
        op = this.copySlow(out, start, op, end, len, d);
      }
    }
    this.bb = bb;
    this.bc = bc;
    this.ip = ip;
    if (err !== null) throw this.fail(err);
    if (ip > inLen && (ip - inLen) << 3 > bc) throw this.truncated();
    if (ended) this.phase = BLOCK;
    return op;
  }

  /** Copies a back-reference that reaches before this read's output or past its end. */
  private copySlow(out: Uint8Array, start: number, op: number, end: number, len: number, d: number): number {
    const n = Math.min(len, end - op);
    const hist = this.hist;
    for (let k = 0; k < n; k++, op++) {
      const s = op - d;
      out[op] = s >= start ? out[s] : hist[WINDOW - (start - s)];
    }
    this.copyLen = len - n;
    this.copyDist = d;
    return op;
  }

  /** Brings the running checksum and size of the member up to out[op]. */
  private checksum(out: Uint8Array, op: number): void {
    if (this.format === "gzip") this.check = crc32(out, this.check, this.ckStart, op);
    else if (this.format === "zlib") this.check = adler32(out, this.check, this.ckStart, op);
    this.memberOut += op - this.ckStart;
    this.ckStart = op;
  }

  /** Keeps the last WINDOW bytes of out[start, op) for back-references from the next read. */
  private remember(out: Uint8Array, start: number, op: number): void {
    const n = op - start;
    if (n >= WINDOW) {
      this.hist.set(out.subarray(op - WINDOW, op));
    } else if (n > 0) {
      this.hist.copyWithin(0, n);
      this.hist.set(out.subarray(start, op), WINDOW - n);
    }
  }

  private trailer(out: Uint8Array, op: number): void {
    this.alignToByte();
    this.checksum(out, op);
    const at = this.ip;
    if (this.format === "zlib") {
      const stored = ((this.byte() << 24) | (this.byte() << 16) | (this.byte() << 8) | this.byte()) >>> 0;
      if (stored !== this.check) throw this.fail(`incorrect data check (Adler-32 0x${stored.toString(16)}, the data gives 0x${this.check.toString(16)})`, at);
    } else if (this.format === "gzip") {
      const stored = (this.byte() | (this.byte() << 8) | (this.byte() << 16) | (this.byte() << 24)) >>> 0;
      if (stored !== this.check) throw this.fail(`incorrect data check (CRC-32 0x${stored.toString(16)}, the data gives 0x${this.check.toString(16)})`, at);
      const size = (this.byte() | (this.byte() << 8) | (this.byte() << 16) | (this.byte() << 24)) >>> 0;
      if (size !== this.memberOut % 2 ** 32) throw this.fail(`incorrect length check (${size} bytes, the data has ${this.memberOut})`, at + 4);
      // zlib's rule: another member may follow; a zero byte (padding) ends the data.
      if (this.ip < this.input.length && this.input[this.ip] !== 0) {
        this.phase = HEADER;
        this.last = false;
        this.memberOut = 0;
        this.check = 0;
        return;
      }
    }
    this.phase = DONE;
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}
