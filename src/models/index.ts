export { MnistMLP, MnistCNN } from "./mnist.js";
