/**
 * The ML3 baseline (Bechtle et al. 2021, "Meta Learning via Learned Loss"): the loss is a small
 * neural network applied to each output element's pair (y, f), with f = softmax(logits) for
 * classification and the raw prediction for regression, exactly the inputs EvoMAL's symbolic
 * losses see. Its softplus output keeps the loss non-negative; per-element values are summed over
 * classes and averaged over the batch, as compileLoss does. phi is the network's flat weight
 * vector, so ML3 is tuned by the same unrolled-differentiation loop as EvoMAL's local search
 * (CandidateEvaluator.localSearchOf) and trained by the same final evaluation: only the loss differs.
 */
import { tf } from "./tensor/tf.ts";
import type { BatchLoss, Task } from "./metaloss.ts";
import { Rng } from "../core/rng.ts";

/** Hidden widths of the loss network; the published ML3 used two layers of 40 units. */
export const ML3_HIDDEN = [40, 40];

function layerWidths(hidden: number[]): number[] {
  return [2, ...hidden, 1];
}

/** Number of weights: one [in, out] matrix and one bias per layer. */
export function ml3ParameterCount(hidden: number[] = ML3_HIDDEN): number {
  const w = layerWidths(hidden);
  let n = 0;
  for (let i = 0; i + 1 < w.length; i++) n += w[i] * w[i + 1] + w[i + 1];
  return n;
}

/**
 * Initial weights, PyTorch's default for linear layers (uniform in +-1/sqrt(fanIn)), from a
 * seeded generator so that the baseline is reproducible.
 */
export function ml3InitialPhi(seed: number, hidden: number[] = ML3_HIDDEN): number[] {
  const rng = new Rng(seed);
  const w = layerWidths(hidden);
  const phi: number[] = [];
  for (let i = 0; i + 1 < w.length; i++) {
    const bound = 1 / Math.sqrt(w[i]);
    for (let k = 0; k < w[i] * w[i + 1] + w[i + 1]; k++) phi.push((2 * rng.next() - 1) * bound);
  }
  return phi;
}

/** The network on rows of (y, f): [n, 2] -> [n, 1], its weights sliced out of phi. */
function network(input: tf.Tensor2D, phi: tf.Tensor1D, hidden: number[]): tf.Tensor2D {
  const w = layerWidths(hidden);
  let h = input;
  let offset = 0;
  for (let i = 0; i + 1 < w.length; i++) {
    const W = tf.reshape(tf.slice(phi, offset, w[i] * w[i + 1]), [w[i], w[i + 1]]) as tf.Tensor2D;
    offset += w[i] * w[i + 1];
    const b = tf.slice(phi, offset, w[i + 1]);
    offset += w[i + 1];
    const z = tf.add(tf.matMul(h, W), b) as tf.Tensor2D;
    h = i + 2 < w.length ? tf.relu(z) : tf.softplus(z);
  }
  return h;
}

/** ML3's loss as a BatchLoss, for the task's output convention. */
export function ml3Loss(task: Task, hidden: number[] = ML3_HIDDEN): BatchLoss {
  return (outputs, targets, phi) => {
    const f = task === "classification" ? tf.softmax(outputs) : outputs;
    const [b, c] = outputs.shape;
    const pairs = tf.stack([tf.reshape(targets, [-1]), tf.reshape(f, [-1])], 1) as tf.Tensor2D;
    const perElement = tf.reshape(network(pairs, phi, hidden), [b, c]);
    return task === "classification" ? tf.mean(tf.sum(perElement, 1)) : tf.mean(perElement);
  };
}
