// nn modules against real PyTorch 1.13 (test/reference/nn_modules.py): each torch state dict is
// loaded unchanged (same keys, shapes) into our module, and the outputs and the gradients of the
// inputs and of every parameter must match to float32 tolerance, on both backends.
import { nn } from "../../src/index.js";
import { type ModuleCase, type ModuleSpec, describeModuleCases, loadGolden } from "../helpers/golden.js";

const golden = loadGolden<{ cases: Record<string, ModuleCase> }>("nn_modules");

/** Our module for each case and how to call it (outputs as a list, like the generator's). */
const CASES: Record<string, ModuleSpec> = {
  embedding_padding: { make: () => new nn.Embedding(10, 4, { paddingIdx: 2 }) },
  layer_norm_2d_affine: { make: () => new nn.LayerNorm([4, 5]) },
  layer_norm_no_affine: { make: () => new nn.LayerNorm(6, { elementwiseAffine: false }) },
  rms_norm: { make: () => new nn.RMSNorm([7]) },
  rms_norm_eps: { make: () => new nn.RMSNorm([3, 4], { eps: 1e-3 }) },
  gelu_tanh_module: { make: () => new nn.GELU({ approximate: "tanh" }) },
  leaky_relu_module: { make: () => new nn.LeakyReLU(0.2) },
  conv1d_grouped: { make: () => new nn.Conv1d(4, 6, 3, { stride: 2, padding: 1, groups: 2 }) },
  conv2d_grouped: { make: () => new nn.Conv2d(4, 8, 3, { padding: 1, groups: 2 }) },
  conv2d_depthwise: { make: () => new nn.Conv2d(4, 4, 3, { stride: 2, groups: 4, bias: false }) },
  adaptive_avg_pool2d: { make: () => new nn.AdaptiveAvgPool2d([3, 4]) },
  gru_2layers: {
    make: () => new nn.GRU(5, 6, { numLayers: 2 }),
    call: (m, [x, h]) => {
      const [out, hn] = (m as nn.GRU)(x, h);
      return [out, hn];
    },
  },
  lstm_2layers_batch_first: {
    make: () => new nn.LSTM(5, 6, { numLayers: 2, batchFirst: true }),
    call: (m, [x, h, c]) => {
      const [out, [hn, cn]] = (m as nn.LSTM)(x, [h, c]);
      return [out, hn, cn];
    },
  },
  lstm_unbatched_no_bias: {
    make: () => new nn.LSTM(3, 4, { bias: false }),
    call: (m, [x, h, c]) => {
      const [out, [hn, cn]] = (m as nn.LSTM)(x, [h, c]);
      return [out, hn, cn];
    },
  },
};

describeModuleCases("nn modules vs PyTorch 1.13", golden, CASES);
