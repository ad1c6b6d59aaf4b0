/**
 * The one import of TensorFlow.js for the engine. Importing tfjs through this module guarantees
 * the corrected gradients are registered before any differentiation runs.
 */
import * as tf from "@tensorflow/tfjs";
import { registerCorrectedGradients } from "./gradients.ts";

registerCorrectedGradients();

export { tf };
export { logSoftmax } from "./gradients.ts";
