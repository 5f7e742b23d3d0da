import { checkArgCount } from "./check.js"; // The one seeded PRNG behind init, shuffling, dropout and augmentation (manualSeed(n)).
// xoshiro128** on 32-bit integer math: same sequence in every JS runtime, state is four uint32
// words that checkpoints save and restore. Not PyTorch's mt19937: same seed ≠ same numbers as torch.

/** The four 32-bit words of a Generator's state. */
export type RngState = [number, number, number, number];

/** A seedable random number generator (xoshiro128**) for init, shuffling, dropout and sampling (torch.Generator). */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    checkArgCount("Generator", arguments, 1);
    this.manualSeed(seed);
  }

  /** Seeds the state from a 32-bit seed via splitmix32 (no all-zero state). */
  manualSeed(seed: number): this {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    this.spareNormal = null;
    return this;
  }

  /** Next uniform uint32. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits (exactly representable in float32). */
  random(): number {
    return (this.nextU32() >>> 8) * 2 ** -24;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.random();
  }

  /** Standard normal (Box–Muller, pairs cached). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    const u1 = (this.nextU32() + 1) * 2 ** -32; // (0, 1]: log stays finite
    const u2 = this.nextU32() * 2 ** -32;
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  randint(n: number): number {
    if (!(n >= 1 && n <= 2 ** 32)) throw new RangeError(`randint: n must be in [1, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x: number;
    do x = this.nextU32();
    while (x >= limit);
    return x % n;
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** The generator's state, to save (torch's get_state). */
  getState(): { words: RngState; spareNormal: number | null } {
    return { words: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spareNormal };
  }

  /** Restores a state from getState(). */
  setState(state: { words: RngState; spareNormal: number | null }): void {
    [this.s0, this.s1, this.s2, this.s3] = state.words.map((w) => w >>> 0) as RngState;
    this.spareNormal = state.spareNormal;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The global generator (torch.default_generator). */
export const defaultGenerator = new Generator(0);

/** Seeds the global generator, as torch.manual_seed does. */
export function manualSeed(seed: number): Generator {
  checkArgCount("manualSeed", arguments, 1);
  return defaultGenerator.manualSeed(seed);
}
