/**
 * Gradients of a loss with respect to the parameters of a dense network (linear model or MLP),
 * with backpropagation written out as tensor ops; the loss's gradient with respect to the outputs
 * is its own written-out one (BatchLoss.valueAndGradient) or, for a loss without one, autodiff's.
 *
 * Why: tfjs's tape records every forward op and clones each tensor it saves for the backward
 * pass (on wasm a real copy, x and W1 included); for the unrolled steps that work then happens
 * twice, once for the inner gradient and once for the outer one. The explicit backward pass is
 * itself made of differentiable ops, so the outer tape differentiates through it like any other
 * computation (tests/hypergradient.test.ts checks it against finite differences).
 */
import { tf } from "./tensor/tf.ts";
import { matMulT } from "./tensor/products.ts";
import type { BatchLoss, LossAndGradient } from "./metaloss.ts";
import type { Params } from "./models.ts";

export function denseLossGradients(
  loss: BatchLoss,
  phi: tf.Tensor1D,
  params: Params,
  x: tf.Tensor2D,
  targets: tf.Tensor2D,
): { value: () => tf.Scalar; grads: tf.Tensor[] } {
  const layers = params.length / 2;
  const inputs: tf.Tensor[] = []; // the input of each layer
  const preActivations: tf.Tensor[] = [];
  let h: tf.Tensor = x;
  for (let i = 0; i < layers; i++) {
    inputs.push(h);
    const z = tf.add(tf.matMul(h, params[2 * i]), params[2 * i + 1]);
    preActivations.push(z);
    h = i < layers - 1 ? tf.relu(z) : z;
  }
  const top = outputGradient(loss, h as tf.Tensor2D, targets, phi);
  let g: tf.Tensor = top.gradient;
  const grads: tf.Tensor[] = new Array(params.length);
  for (let i = layers - 1; i >= 0; i--) {
    grads[2 * i] = matMulT(inputs[i], g, true, false);
    grads[2 * i + 1] = tf.sum(g, 0);
    if (i > 0) g = tf.mul(matMulT(g, params[2 * i], false, true), tf.step(preActivations[i - 1]));
  }
  return { value: top.value, grads };
}

/** The loss's own written-out gradient with respect to the outputs, or tfjs autodiff's. */
export function outputGradient(
  loss: BatchLoss,
  outputs: tf.Tensor2D,
  targets: tf.Tensor2D,
  phi: tf.Tensor1D,
): LossAndGradient {
  if (loss.valueAndGradient) return loss.valueAndGradient(outputs, targets, phi);
  const { value, grad } = tf.valueAndGrad((o: tf.Tensor) => loss(o as tf.Tensor2D, targets, phi))(
    outputs,
  );
  return { value: () => value as tf.Scalar, gradient: grad as tf.Tensor2D };
}
