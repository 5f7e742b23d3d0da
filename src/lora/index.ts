// lora: low-rank adapters in the style of Hugging Face PEFT, with PEFT's adapter files.
//   lora.apply(model, { r: 8, alpha: 16, targetModules: ["c_attn"] }); ... lora.saveAdapter(model, "adapter");
export { LoraLinear, ADAPTER_NAME } from "./layer.js";
export {
  apply,
  merge,
  unmerge,
  mergeAndUnload,
  unload,
  trainableParameters,
  parameterCounts,
  loraLayers,
  configOf,
  type LoraOptions,
  type LoraConfig,
} from "./apply.js";
export { saveAdapter, loadAdapter, adapterKey, type AdapterFiles, type SaveAdapterOptions, type LoadAdapterOptions } from "./adapter.js";
