// The plain-JS twin of assembly/attention.ts: the same blocks of queries, tiles of keys and
// float32 operations in the same order (each step rounded with Math.fround), so the results equal
// the wasm kernel's bit for bit. Written one row at a time where the kernel does four at once:
// the rows do not interact, only the block/tile structure (which keys a block visits) matters.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";
import { fromBits, sexp, slog } from "./vmath.js";

const f = Math.fround;
const ROWS = 4;
const TILE = 64;

/** A float32 dot product of D elements at a and b (element indices), in the kernel's lane order. */
function dot(F: Float32Array, a: number, b: number, D: number): number {
  const D4 = D & ~3;
  const c = [0, 0, 0, 0];
  for (let d = 0; d < D4; d += 4) for (let l = 0; l < 4; l++) c[l] = f(c[l] + f(F[a + d + l] * F[b + d + l]));
  let s = f(f(c[0] + c[1]) + f(c[2] + c[3]));
  for (let d = D4; d < D; d++) s = f(s + f(F[a + d] * F[b + d]));
  return s;
}

/** The kernel's int32 argument record: `n` words, then the 14 strides. */
function record(I: Int32Array, args: number, n: number): { words: number[]; strides: number[] } {
  const all = Array.from(I.subarray(args >>> 2, (args >>> 2) + n + 14));
  return { words: all.slice(0, n), strides: all.slice(n) };
}

/** Element offsets of pair bh's q, k, v, o and dout (laid out as o) and mask rows (-1: no mask). */
function bases(bh: number, H: number, st: number[], q: number, k: number, v: number, o: number, mask: number, dout: number) {
  const b = Math.floor(bh / H),
    h = bh % H;
  const at = (ptr: number, i: number) => (ptr >>> 2) + b * st[i] + h * st[i + 1];
  return { qb: at(q, 0), kb: at(k, 3), vb: at(v, 6), ob: at(o, 9), dob: at(dout, 9), mb: mask !== 0 ? at(mask, 12) : -1 };
}

function keyEnd(S: number, i0: number, nr: number, causal: boolean, causalOffset: number): number {
  if (!causal) return S;
  return Math.max(0, Math.min(S, i0 + nr + causalOffset));
}

/** Fused attention forward and backward as plain loops. */
export function attentionKernels({ f32, i32 }: JsMemory) {
  return {
    attentionWorkFloats() {
      return ROWS * TILE;
    },
    attentionForward(args, bh0, bh1, _work) {
      const F = f32();
      const { words, strides } = record(i32(), args, 14);
      const [o, lse, q, k, v, mask, , H, T, S, D, scaleBits, causalWord, causalOffset] = words;
      const [, , qT, , , kT, , , vT, , , oT] = strides;
      const scale = fromBits(scaleBits),
        causal = causalWord !== 0;
      for (let bh = bh0; bh < bh1; bh++) {
        {
          const { qb, kb, vb, ob, mb } = bases(bh, H, strides, q, k, v, o, mask, 0);
          for (let i0 = 0; i0 < T; i0 += ROWS) {
            const nr = Math.min(ROWS, T - i0);
            const mx = new Array<number>(nr).fill(-Infinity),
              l = new Array<number>(nr).fill(0);
            for (let r = 0; r < nr; r++) F.fill(0, ob + (i0 + r) * oT, ob + (i0 + r) * oT + D);
            const jEnd = keyEnd(S, i0, nr, causal, causalOffset);
            for (let j0 = 0; j0 < jEnd; j0 += TILE) {
              const nj = Math.min(TILE, jEnd - j0);
              for (let r = 0; r < nr; r++) {
                const i = i0 + r;
                const p = new Array<number>(nj);
                let mt = -Infinity;
                for (let j = 0; j < nj; j++) {
                  let s = f(dot(F, qb + i * qT, kb + (j0 + j) * kT, D) * scale);
                  if (causal && j0 + j > i + causalOffset) s = -Infinity;
                  else if (mb >= 0) s = f(s + F[mb + i * S + j0 + j]);
                  p[j] = s;
                  if (s > mt) mt = s; // NaN scores are skipped, as the kernel's pmax does
                }
                const mNew = Math.max(mx[r], mt);
                let alpha = 1,
                  sum = 0;
                if (mNew === -Infinity) {
                  p.fill(0);
                } else {
                  alpha = mx[r] === -Infinity ? 0 : sexp(f(mx[r] - mNew));
                  for (let j = 0; j < nj; j++) p[j] = p[j] === -Infinity ? 0 : sexp(f(p[j] - mNew));
                  // four lane sums over j ≡ lane (mod 4) (the kernel pads the tile with zeros), added (0+1)+(2+3)
                  const lanes = [0, 0, 0, 0];
                  for (let j = 0; j < nj; j++) lanes[j & 3] = f(lanes[j & 3] + p[j]);
                  sum = f(f(lanes[0] + lanes[1]) + f(lanes[2] + lanes[3]));
                }
                l[r] = f(f(l[r] * alpha) + sum);
                mx[r] = mNew;
                const orow = ob + i * oT;
                for (let d = 0; d < D; d++) {
                  let c = f(F[orow + d] * alpha);
                  for (let j = 0; j < nj; j++) c = f(c + f(p[j] * F[vb + (j0 + j) * vT + d]));
                  F[orow + d] = c;
                }
              }
            }
            for (let r = 0; r < nr; r++) {
              const orow = ob + (i0 + r) * oT,
                at = (lse >>> 2) + bh * T + i0 + r;
              if (mx[r] === -Infinity) {
                F.fill(NaN, orow, orow + D);
                F[at] = -Infinity;
                continue;
              }
              const inv = f(1 / l[r]);
              for (let d = 0; d < D; d++) F[orow + d] = f(F[orow + d] * inv);
              F[at] = f(mx[r] + slog(l[r]));
            }
          }
        }
      }
    },
    attentionBackward(args, bh0, bh1, _work) {
      const F = f32();
      const { words, strides } = record(i32(), args, 18);
      const [dq, dk, dv, dout, q, k, v, o, lse, mask, , H, T, S, D, scaleBits, causalWord, causalOffset] = words;
      const [, , qT, , , kT, , , vT, , , oT] = strides;
      const scale = fromBits(scaleBits),
        causal = causalWord !== 0;
      for (let bh = bh0; bh < bh1; bh++) {
        {
          const { qb, kb, vb, ob, mb, dob } = bases(bh, H, strides, q, k, v, o, mask, dout);
          const dqb = (dq >>> 2) + bh * T * D,
            dkb = (dk >>> 2) + bh * S * D,
            dvb = (dv >>> 2) + bh * S * D;
          F.fill(0, dkb, dkb + S * D);
          F.fill(0, dvb, dvb + S * D);
          F.fill(0, dqb, dqb + T * D);
          for (let i0 = 0; i0 < T; i0 += ROWS) {
            const nr = Math.min(ROWS, T - i0);
            const delta = Array.from({ length: nr }, (_, r) => dot(F, dob + (i0 + r) * oT, ob + (i0 + r) * oT, D));
            const jEnd = keyEnd(S, i0, nr, causal, causalOffset);
            for (let j0 = 0; j0 < jEnd; j0 += TILE) {
              const nj = Math.min(TILE, jEnd - j0);
              const P: number[][] = [],
                DS: number[][] = [];
              for (let r = 0; r < nr; r++) {
                const i = i0 + r;
                const L = F[(lse >>> 2) + bh * T + i];
                P.push(new Array<number>(nj));
                DS.push(new Array<number>(nj));
                for (let j = 0; j < nj; j++) {
                  let s = f(dot(F, qb + i * qT, kb + (j0 + j) * kT, D) * scale);
                  const dp = dot(F, dob + i * oT, vb + (j0 + j) * vT, D);
                  if (causal && j0 + j > i + causalOffset) s = -Infinity;
                  else if (mb >= 0) s = f(s + F[mb + i * S + j0 + j]);
                  const p = s === -Infinity ? 0 : sexp(f(s - L));
                  P[r][j] = p;
                  DS[r][j] = f(f(p * f(dp - delta[r])) * scale);
                }
              }
              // dv_j += Σ_r p_rj dout_r and dk_j += Σ_r ds_rj q_r, rows in order.
              for (let j = 0; j < nj; j++) {
                for (let d = 0; d < D; d++) {
                  let cv = F[dvb + (j0 + j) * D + d],
                    ck = F[dkb + (j0 + j) * D + d];
                  for (let r = 0; r < nr; r++) {
                    cv = f(cv + f(P[r][j] * F[dob + (i0 + r) * oT + d]));
                    ck = f(ck + f(DS[r][j] * F[qb + (i0 + r) * qT + d]));
                  }
                  F[dvb + (j0 + j) * D + d] = cv;
                  F[dkb + (j0 + j) * D + d] = ck;
                }
              }
              // dq_r += Σ_j ds_rj k_j, keys in order.
              for (let r = 0; r < nr; r++) {
                for (let d = 0; d < D; d++) {
                  let c = F[dqb + (i0 + r) * D + d];
                  for (let j = 0; j < nj; j++) c = f(c + f(DS[r][j] * F[kb + (j0 + j) * kT + d]));
                  F[dqb + (i0 + r) * D + d] = c;
                }
              }
            }
          }
        }
      }
    },
  } satisfies Pick<Kernels, "attentionWorkFloats" | "attentionForward" | "attentionBackward">;
}
