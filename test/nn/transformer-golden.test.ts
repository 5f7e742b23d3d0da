// Attention and transformer layers against real PyTorch 1.13 (test/reference/transformer.py):
// scaled dot-product attention (fused kernel) with causal, bool and float masks;
// nn.MultiheadAttention self/cross attention with key-padding and float masks, with and without
// returned weights; TransformerEncoderLayer post-/pre-norm; TransformerDecoderLayer. Torch's state
// dicts load unchanged; outputs and every gradient match to float32 tolerance on both backends.
import { type Tensor, nn } from "../../src/index.js";
import { type ModuleCase, type ModuleSpec, describeModuleCases, loadGolden } from "../helpers/golden.js";

const golden = loadGolden<{ cases: Record<string, ModuleCase> }>("transformer");
const F = nn.functional;

/** A parameterless module around F.scaledDotProductAttention, like the generator's SDPA. */
class SDPA extends nn.Module {
  constructor(private readonly opts: { isCausal?: boolean; scale?: number } = {}) {
    super();
  }
  forward(q: Tensor, k: Tensor, v: Tensor, mask?: Tensor): Tensor {
    return F.scaledDotProductAttention(q, k, v, { ...this.opts, attnMask: mask ?? null });
  }
}

const mhaCall = (m: nn.Module) => m as nn.MultiheadAttention;

const CASES: Record<string, ModuleSpec> = {
  sdpa_plain: { make: () => new SDPA() },
  sdpa_causal_scale: { make: () => new SDPA({ isCausal: true, scale: 0.3 }) },
  sdpa_bool_mask: { make: () => new SDPA() },
  sdpa_float_mask_3d: { make: () => new SDPA() },
  mha_self_batch_first: {
    make: () => new nn.MultiheadAttention(8, 2, { batchFirst: true }),
    call: (m, [x]) => mhaCall(m).forward(x, x, x, { needWeights: true }) as Tensor[],
  },
  mha_cross_masks: {
    make: () => new nn.MultiheadAttention(12, 3),
    call: (m, [q, kv, mask, pad]) => [mhaCall(m).forward(q, kv, kv, { keyPaddingMask: pad, attnMask: mask, needWeights: false })[0]],
  },
  mha_separate_qkv_weights_per_head: {
    make: () => new nn.MultiheadAttention(6, 3, { bias: false }),
    call: (m, [q, k, v]) => mhaCall(m).forward(q, k, v, { averageAttnWeights: false }) as Tensor[],
  },
  encoder_post_norm_relu: { make: () => new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }) },
  encoder_pre_norm_gelu_causal: {
    make: () => new nn.TransformerEncoderLayer(8, 4, { dimFeedforward: 12, dropout: 0, activation: "gelu", batchFirst: true, normFirst: true }),
    call: (m, [x, mask]) => [(m as nn.TransformerEncoderLayer).forward(x, { srcMask: mask })],
  },
  decoder_post_norm: {
    make: () => new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: true }),
    call: (m, [tgt, memory, mask]) => [(m as nn.TransformerDecoderLayer).forward(tgt, memory, { tgtMask: mask })],
  },
};

describeModuleCases("attention and transformer layers vs PyTorch 1.13", golden, CASES);
