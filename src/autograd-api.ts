// The `autograd` namespace of the package (torch.autograd): anomaly detection.
//   import { autograd } from "wasmgrad";
//   autograd.setDetectAnomaly(true);              // or: autograd.detectAnomaly(() => { ... })
export { setDetectAnomaly, isAnomalyEnabled, detectAnomaly } from "./autograd.js";
