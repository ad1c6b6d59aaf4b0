/**
 * The one import of TensorFlow.js for the engine. Importing tfjs through this module guarantees
 * the corrected gradients are registered before any differentiation runs.
 */
import * as tf from "@tensorflow/tfjs";
import { registerCorrectedGradients } from "./gradients.ts";

registerCorrectedGradients();
// Production mode silences tfjs's console advice (for example, to install tfjs-node, which is
// not an option in Deno); it does not disable shape or argument checks.
tf.enableProdMode();

export { tf };
export { logSoftmax } from "./gradients.ts";
