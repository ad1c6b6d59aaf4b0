/**
 * The one import of TensorFlow.js for the engine. Importing tfjs through this module guarantees
 * the corrected gradients are registered, and saved tensors shared rather than copied
 * (saved_tensors.ts), before any differentiation runs.
 */
import * as tf from "@tensorflow/tfjs";
import { registerCorrectedGradients } from "./gradients.ts";
import { shareSavedTensors } from "./saved_tensors.ts";

registerCorrectedGradients();
shareSavedTensors(true);
// Production mode silences tfjs's console advice (for example, to install tfjs-node, which is
// not an option in Deno); it does not disable shape or argument checks.
tf.enableProdMode();

export { tf };
export { logSoftmax } from "./gradients.ts";
