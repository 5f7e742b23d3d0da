// Recurrent layers nn.GRU and nn.LSTM with PyTorch's parameter names (weight_ih_l0, weight_hh_l0,
// bias_ih_l0, bias_hh_l0, ...), gate order (LSTM: input, forget, cell, output; GRU: reset,
// update, new) and init U(±1/√hidden). The input projections of a whole sequence are one matrix
// product per layer; the recurrence is a loop over time steps built from the library's ops, so
// autograd differentiates it.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { MAX_DIM, Tensor, zeros } from "../tensor.js";
import * as F from "../ops/index.js";
import { Module, Parameter } from "./module.js";
import { uniform_ } from "./init.js";
import { checkArgCount, checkBool, checkOptions, describe } from "../check.js";

/** Options of nn.GRU / nn.LSTM (PyTorch's keyword arguments, camelCased). */
export interface RNNOptions {
  numLayers?: number;
  bias?: boolean;
  /** Input and output as (batch, seq, feature) instead of (seq, batch, feature). */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, in training mode. */
  dropout?: number;
  /** Only false is supported (bidirectional layers are not implemented). */
  bidirectional?: boolean;
}

abstract class RNNBase extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;

  constructor(
    readonly mode: "GRU" | "LSTM",
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: RNNOptions,
    gates: number,
  ) {
    super();
    for (const [name, v] of [
      ["inputSize", inputSize],
      ["hiddenSize", hiddenSize],
    ] as const) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_DIM)
        throw new ValueError(`${mode}: ${name} must be a positive integer, got ${describe(v)}`);
    }
    checkOptions(mode, options, ["numLayers", "bias", "batchFirst", "dropout", "bidirectional"]);
    this.numLayers = options.numLayers ?? 1;
    if (!Number.isInteger(this.numLayers) || this.numLayers < 1)
      throw new ValueError(`${mode}: numLayers must be a positive integer, got ${describe(options.numLayers)}`);
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    checkBool(mode, "bias", this.bias);
    checkBool(mode, "batchFirst", this.batchFirst);
    this.dropout = options.dropout ?? 0;
    if (typeof this.dropout !== "number" || !(this.dropout >= 0 && this.dropout <= 1))
      throw new ValueError(`${mode}: dropout must be a number from 0 to 1, got ${describe(options.dropout)}`);
    if (options.bidirectional !== undefined && options.bidirectional !== false) {
      throw new ValueError(`${mode}: bidirectional layers are not supported (got bidirectional: ${describe(options.bidirectional)})`);
    }
    const params = this as unknown as Record<string, Parameter>;
    for (let l = 0; l < this.numLayers; l++) {
      params[`weight_ih_l${l}`] = Parameter.empty([gates * hiddenSize, l === 0 ? inputSize : hiddenSize]);
      params[`weight_hh_l${l}`] = Parameter.empty([gates * hiddenSize, hiddenSize]);
      if (this.bias) {
        params[`bias_ih_l${l}`] = Parameter.empty([gates * hiddenSize]);
        params[`bias_hh_l${l}`] = Parameter.empty([gates * hiddenSize]);
      }
    }
    this.resetParameters();
  }

  /** Every weight and bias U(-1/√hidden, 1/√hidden), as PyTorch. */
  resetParameters(): void {
    checkArgCount("resetParameters", arguments, 0);
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const p of this.parameters()) uniform_(p, -k, k);
  }

  /** The layer's weights and biases (biases null without bias). */
  protected layer(l: number): { wih: Parameter; whh: Parameter; bih: Parameter | null; bhh: Parameter | null } {
    const p = this as unknown as Record<string, Parameter>;
    return { wih: p[`weight_ih_l${l}`], whh: p[`weight_hh_l${l}`], bih: this.bias ? p[`bias_ih_l${l}`] : null, bhh: this.bias ? p[`bias_hh_l${l}`] : null };
  }

  /** The input as (seq, batch, feature) and whether it came unbatched (seq, feature). */
  protected sequence(input: Tensor): { x: Tensor; batched: boolean } {
    if (!(input instanceof Tensor)) throw new ValueError(`${this.mode}: input must be a Tensor, got ${describe(input)}`);
    if (input.ndim !== 2 && input.ndim !== 3)
      throw new ShapeError(
        `${this.mode}: expected input (seq, batch, ${this.inputSize})${this.batchFirst ? " as (batch, seq, ...)" : ""} or unbatched (seq, ${this.inputSize}), got ${shapeStr(input.shape)}`,
      );
    if (input.shape[input.ndim - 1] !== this.inputSize)
      throw new ShapeError(
        `${this.mode}: input has ${input.shape[input.ndim - 1]} features, expected inputSize ${this.inputSize} (input ${shapeStr(input.shape)})`,
      );
    if (input.ndim === 2) return { x: input.unsqueeze(1), batched: false };
    return { x: this.batchFirst ? input.transpose(0, 1) : input, batched: true };
  }

  /** A given initial state (numLayers, batch, hidden), or zeros. */
  protected initial(h: Tensor | undefined, batch: number, batched: boolean, what: string, like: Tensor): Tensor {
    const shape = [this.numLayers, batch, this.hiddenSize];
    if (h === undefined || h === null) return zeros(shape, { backend: like.backend });
    if (!(h instanceof Tensor)) throw new ValueError(`${this.mode}: ${what} must be a Tensor, got ${describe(h)}`);
    const hb = batched ? h : h.unsqueeze(1);
    if (hb.ndim !== 3 || hb.shape.some((d, i) => d !== shape[i]))
      throw new ShapeError(`${this.mode}: ${what} must have shape ${shapeStr(batched ? shape : [this.numLayers, this.hiddenSize])}, got ${shapeStr(h.shape)}`);
    return hb;
  }

  /** The output sequence back in the caller's layout. */
  protected output(y: Tensor, batched: boolean): Tensor {
    if (!batched) return y.squeeze(1);
    return this.batchFirst ? y.transpose(0, 1) : y;
  }

  /** Dropout between layers (training only, never after the last). */
  protected between(y: Tensor, l: number): Tensor {
    return l < this.numLayers - 1 && this.dropout > 0 ? F.dropout(y, this.dropout, this.training) : y;
  }

  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `${this.inputSize}, ${this.hiddenSize}${this.numLayers > 1 ? `, num_layers=${this.numLayers}` : ""}${this.batchFirst ? ", batch_first=True" : ""}`;
  }
}

/**
 * nn.LSTM(inputSize, hiddenSize, options): forward(input, [h0, c0]?) returns
 * [output, [h_n, c_n]] as PyTorch, with i, f, g, o = σ, σ, tanh, σ of the gate pre-activations,
 * c' = f·c + i·g and h' = o·tanh(c').
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super("LSTM", inputSize, hiddenSize, options, 4);
    checkArgCount("LSTM", arguments, 3);
  }

  forward(input: Tensor, state?: [Tensor, Tensor]): [Tensor, [Tensor, Tensor]] {
    checkArgCount("forward", arguments, 2);
    const { x, batched } = this.sequence(input);
    const [L, N] = [x.shape[0], x.shape[1]];
    if (state !== undefined && (!Array.isArray(state) || state.length !== 2)) throw new ValueError(`LSTM: the state must be [h0, c0], got ${describe(state)}`);
    const h0 = this.initial(state?.[0], N, batched, "h0", x),
      c0 = this.initial(state?.[1], N, batched, "c0", x);
    let seq = x;
    const hs: Tensor[] = [],
      cs: Tensor[] = [];
    for (let l = 0; l < this.numLayers; l++) {
      const { wih, whh, bih, bhh } = this.layer(l);
      const xi = F.linear(seq, wih, bih); // (L, N, 4H) for all steps at once
      let h = h0.select(0, l),
        c = c0.select(0, l);
      const outs: Tensor[] = [];
      for (let t = 0; t < L; t++) {
        const gates = xi.select(0, t).add(F.linear(h, whh, bhh));
        const [i, f, g, o] = gates.chunk(4, 1);
        c = F.sigmoid(f)
          .mul(c)
          .add(F.sigmoid(i).mul(F.tanh(g)));
        h = F.sigmoid(o).mul(F.tanh(c));
        outs.push(h);
      }
      hs.push(h);
      cs.push(c);
      seq = this.between(F.stack(outs, 0), l);
    }
    const hn = F.stack(hs, 0),
      cn = F.stack(cs, 0);
    return [this.output(seq, batched), batched ? [hn, cn] : [hn.squeeze(1), cn.squeeze(1)]];
  }
}

/**
 * nn.GRU(inputSize, hiddenSize, options): forward(input, h0?) returns [output, h_n] as PyTorch,
 * with r, z = σ(...), n = tanh(W_in x + b_in + r·(W_hn h + b_hn)) and h' = (1 - z)·n + z·h.
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super("GRU", inputSize, hiddenSize, options, 3);
    checkArgCount("GRU", arguments, 3);
  }

  forward(input: Tensor, h0?: Tensor): [Tensor, Tensor] {
    checkArgCount("forward", arguments, 2);
    const { x, batched } = this.sequence(input);
    const [L, N] = [x.shape[0], x.shape[1]];
    const hInit = this.initial(h0, N, batched, "h0", x);
    let seq = x;
    const hs: Tensor[] = [];
    for (let l = 0; l < this.numLayers; l++) {
      const { wih, whh, bih, bhh } = this.layer(l);
      const xi = F.linear(seq, wih, bih);
      let h = hInit.select(0, l);
      const outs: Tensor[] = [];
      for (let t = 0; t < L; t++) {
        const [xr, xz, xn] = xi.select(0, t).chunk(3, 1);
        const [hr, hz, hn] = F.linear(h, whh, bhh).chunk(3, 1);
        const r = F.sigmoid(xr.add(hr)),
          z = F.sigmoid(xz.add(hz));
        const n = F.tanh(xn.add(r.mul(hn)));
        h = n.add(z.mul(h.sub(n))); // (1 - z)·n + z·h
        outs.push(h);
      }
      hs.push(h);
      seq = this.between(F.stack(outs, 0), l);
    }
    const hn = F.stack(hs, 0);
    return [this.output(seq, batched), batched ? hn : hn.squeeze(1)];
  }
}
