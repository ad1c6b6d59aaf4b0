/**
 * The TaylorGLO baseline (Gonzalez & Miikkulainen 2021, "Optimizing Loss Functions Through
 * Multivariate Taylor Polynomial Parameterization"): the loss is a third-order Taylor polynomial
 * in the target y and the prediction f (softmax output for classification, the raw prediction
 * for regression), expanded about a learned centre (a, b). Terms without f do not change any
 * gradient, so the polynomial keeps the six that contain it:
 *
 *   l(y, f) = t0 (f-b) + t1 (f-b)^2 + t2 (f-b)^3 + t3 (y-a)(f-b) + t4 (y-a)(f-b)^2
 *           + t5 (y-a)^2 (f-b)
 *
 * with phi = [a, b, t0..t5], eight parameters that CMA-ES (core/cmaes.ts) searches. Per-element
 * values are summed over classes and averaged over the batch, as compileLoss and ML3 do, so it
 * trains and is evaluated by the same code as every other loss.
 */
import { tf } from "./tensor/tf.ts";
import type { BatchLoss, Task } from "./metaloss.ts";

export const TAYLORGLO_PARAMETERS = 8;

/**
 * A start that is already a sensible loss: about squared error, l = (f - y)^2 up to terms
 * without f, expanded about (0, 0): f^2 - 2 y f, so t1 = 1, t3 = -2.
 */
export const TAYLORGLO_START = [0, 0, 0, 1, 0, -2, 0, 0];

export function taylorGloLoss(task: Task): BatchLoss {
  return (outputs, targets, phi) => {
    const f = task === "classification" ? tf.softmax(outputs) : outputs;
    const p = tf.unstack(phi);
    const u = tf.sub(f, p[1]);
    const v = tf.sub(targets, p[0]);
    const u2 = tf.square(u);
    const terms = [
      tf.mul(p[2], u),
      tf.mul(p[3], u2),
      tf.mul(p[4], tf.mul(u2, u)),
      tf.mul(p[5], tf.mul(v, u)),
      tf.mul(p[6], tf.mul(v, u2)),
      tf.mul(p[7], tf.mul(tf.square(v), u)),
    ];
    const perElement = tf.addN(terms) as tf.Tensor2D;
    return task === "classification" ? tf.mean(tf.sum(perElement, 1)) : tf.mean(perElement);
  };
}
