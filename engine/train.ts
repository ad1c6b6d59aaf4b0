/**
 * Inner training: SGD steps written as tensor arithmetic, so the same step serves plain training
 * and unrolled differentiation (where the hypergradient flows back through it).
 */
import { tf } from "./tensor/tf.ts";
import { logSoftmax } from "./tensor/tf.ts";
import type { BatchLoss, Task } from "./metaloss.ts";
import { forward, type ModelSpec, type Params } from "./models.ts";
import { denseLossGradients } from "./dense_backprop.ts";
import type { InnerOptimizer, UnrollOptions } from "../core/settings.ts";
import { isDenseStack } from "../core/model_kinds.ts";

/**
 * tf.tidy for results that are objects of tensors: tidy keeps every tensor it finds in the
 * returned value (nested objects and arrays included); only its type signature is narrower.
 */
export function tidyKeep<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

export type { InnerOptimizer, UnrollMode, UnrollOptions } from "../core/settings.ts";

/** Plain SGD at lr 0.01: the benchmark's optimiser. */
export const DEFAULT_INNER_OPTIMIZER: InnerOptimizer = {
  lr: 0.01,
  momentum: 0,
  nesterov: false,
  weightDecay: 0,
};

export interface Batch {
  x: tf.Tensor2D;
  /** One-hot targets (classification) or target values (regression), shape [B, outputs]. */
  y: tf.Tensor2D;
}

export interface SgdState {
  params: Params;
  /** Momentum buffers; empty when momentum is 0. */
  velocity: tf.Tensor[];
}

/** One SGD step (PyTorch's convention for momentum, Nesterov and weight decay). */
export function sgdUpdate(state: SgdState, grads: tf.Tensor[], opt: InnerOptimizer): SgdState {
  const g = opt.weightDecay === 0
    ? grads
    : grads.map((gi, i) => tf.add(gi, tf.mul(state.params[i], opt.weightDecay)));
  if (opt.momentum === 0) {
    return { params: state.params.map((p, i) => tf.sub(p, tf.mul(g[i], opt.lr))), velocity: [] };
  }
  const velocity = g.map((gi, i) =>
    state.velocity.length === 0 ? gi : tf.add(tf.mul(state.velocity[i], opt.momentum), gi)
  );
  const step = opt.nesterov
    ? g.map((gi, i) => tf.add(gi, tf.mul(velocity[i], opt.momentum)))
    : velocity;
  return { params: state.params.map((p, i) => tf.sub(p, tf.mul(step[i], opt.lr))), velocity };
}

/**
 * Value and gradient of the (learned) loss on a batch with respect to the model's parameters. The
 * value is a thunk: the dense path computes it only when asked.
 */
export function lossValueAndGradients(
  spec: ModelSpec,
  loss: BatchLoss,
  phi: tf.Tensor1D,
  params: Params,
  batch: Batch,
): { value: () => tf.Scalar; grads: tf.Tensor[] } {
  if (isDenseStack(spec)) {
    return denseLossGradients(loss, phi, params, batch.x, batch.y);
  }
  const f = (...p: tf.Tensor[]) => loss(forward(spec, p, batch.x), batch.y, phi);
  const { value, grads } = tf.valueAndGrads(f)(params);
  return { value: () => value, grads };
}

/** Gradient of the (learned) loss on a batch with respect to the model's parameters. */
export function lossGradients(
  spec: ModelSpec,
  loss: BatchLoss,
  phi: tf.Tensor1D,
  params: Params,
  batch: Batch,
): tf.Tensor[] {
  return lossValueAndGradients(spec, loss, phi, params, batch).grads;
}

/** The task loss that local search minimises: cross-entropy or mean squared error. */
export function taskLoss(task: Task, outputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  if (task === "classification") {
    return tf.neg(tf.mean(tf.sum(tf.mul(targets, logSoftmax(outputs)), 1)));
  }
  return tf.mean(tf.square(tf.sub(outputs, targets)));
}

/**
 * The standard loss as a BatchLoss (phi ignored), for baselines, with its closed-form gradient:
 * softmax(z) * sum(y) - y over the batch for cross-entropy (sum(y) = 1 for one-hot targets),
 * 2 (z - y) over the elements for squared error.
 */
export function standardLoss(task: Task): BatchLoss {
  const loss: BatchLoss = (outputs, targets) => taskLoss(task, outputs, targets);
  loss.valueAndGradient = (outputs, targets) => {
    const [rows, cols] = outputs.shape;
    const gradient = task === "classification"
      ? tf.div(tf.sub(tf.mul(tf.softmax(outputs), tf.sum(targets, 1, true)), targets), rows)
      : tf.mul(tf.sub(outputs, targets), 2 / (rows * cols));
    return { value: () => taskLoss(task, outputs, targets), gradient: gradient as tf.Tensor2D };
  };
  return loss;
}

/*
 * How the hypergradient treats the T inner steps (UnrollOptions, a setting):
 * - exact: differentiate through every step (memory grows with T);
 * - truncated: run the first T - K steps without differentiation, differentiate the last K;
 * - first-order: differentiate each step's gradient with respect to phi only, treating the
 *   parameters it is evaluated at as constants (drops the second-order terms between steps).
 */
export const EXACT_UNROLL: UnrollOptions = { mode: "exact", truncateTo: 1 };

/** The identity whose gradient is zero: tfjs has no stop-gradient op. */
const stopGradient = tf.customGrad(
  ((x: tf.Tensor) => ({
    value: tf.clone(x),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0],
) as (x: tf.Tensor) => tf.Tensor;

/**
 * Validation task loss after `trainBatches.length` differentiable SGD steps from theta0, as a
 * function of phi. Differentiate it with tf.valueAndGrad to get the hypergradient. For the
 * truncated mode, `phiValue` (a tensor holding phi's current value, not differentiated) drives
 * the steps that are not differentiated.
 */
export function unrolledTaskLoss(
  spec: ModelSpec,
  task: Task,
  loss: BatchLoss,
  opt: InnerOptimizer,
  theta0: Params,
  trainBatches: Batch[],
  validation: Batch,
  unroll: UnrollOptions = EXACT_UNROLL,
  phiValue?: tf.Tensor1D,
): (phi: tf.Tensor1D) => tf.Scalar {
  return unrolledLoss(
    (params, batch, phi: tf.Tensor1D) => lossGradients(spec, loss, phi, params, batch),
    (params) => taskLoss(task, forward(spec, params, validation.x), validation.y),
    opt,
    theta0,
    trainBatches,
    unroll,
    phiValue,
  );
}

/**
 * The unrolled steps of `unrolledTaskLoss`, whatever computes a step's gradient and the final
 * loss: one model there, a stack of candidates with one phi each in stacked.ts.
 */
export function unrolledLoss<Phi>(
  stepGradients: (params: Params, batch: Batch, phi: Phi) => tf.Tensor[],
  finalLoss: (params: Params) => tf.Scalar,
  opt: InnerOptimizer,
  theta0: Params,
  trainBatches: Batch[],
  unroll: UnrollOptions = EXACT_UNROLL,
  phiValue?: Phi,
): (phi: Phi) => tf.Scalar {
  let start: SgdState = { params: theta0, velocity: [] };
  let batches = trainBatches;
  if (unroll.mode === "truncated") {
    const k = Math.min(unroll.truncateTo ?? 1, trainBatches.length);
    if (!phiValue) throw new Error("truncated unrolling needs phi's value for the early steps");
    for (const batch of trainBatches.slice(0, trainBatches.length - k)) {
      start = sgdUpdate(start, stepGradients(start.params, batch, phiValue), opt);
    }
    batches = trainBatches.slice(trainBatches.length - k);
  }
  return (phi) => {
    let state = start;
    for (const batch of batches) {
      const at = unroll.mode === "first-order"
        ? state.params.map((p) => stopGradient(p))
        : state.params;
      state = sgdUpdate(state, stepGradients(at, batch, phi), opt);
    }
    return finalLoss(state.params);
  };
}

/**
 * `value` plus zero times every phi. When no step's gradient depends on phi (f(x) only under sign,
 * whose written-out derivative is no tensor at all), tfjs finds no path from phi and throws instead
 * of returning zeros: the zero term keeps a path, and its gradient is exactly zero.
 */
export function withZeroPathFrom(value: tf.Scalar, phis: tf.Tensor[]): tf.Scalar {
  return tf.add(value, tf.mul(tf.addN(phis.map((p) => tf.sum(p))), 0));
}

/** Hypergradient d taskLoss(validation) / d phi through the unrolled steps. */
export function hypergradient(
  unrolled: (phi: tf.Tensor1D) => tf.Scalar,
  phi: tf.Tensor1D,
): { value: tf.Scalar; grad: tf.Tensor1D } {
  const withPath = (p: tf.Tensor1D) => withZeroPathFrom(unrolled(p), [p]);
  const { value, grad } = tf.valueAndGrad(withPath)(phi);
  return { value, grad: grad as tf.Tensor1D };
}

/** The task metric, lower is better: error rate (classification) or mean squared error. */
export function taskMetric(task: Task, outputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  if (task === "classification") {
    return tf.mean(tf.cast(tf.notEqual(tf.argMax(outputs, 1), tf.argMax(targets, 1)), "float32"));
  }
  return tf.mean(tf.square(tf.sub(outputs, targets)));
}

export interface TrainingRun {
  params: Params;
  /** True when the loss or the parameters became NaN or infinite; training stopped there. */
  diverged: boolean;
  /** Loss of the batch at every `checkEvery`-th step, for learning curves. */
  lossCurve: number[];
}

/**
 * Plain (not differentiated) SGD training under a loss. Reads the loss back every `checkEvery`
 * steps only: each read is a synchronisation, costly on WebGPU.
 */
export async function trainSgd(
  spec: ModelSpec,
  loss: BatchLoss,
  phi: tf.Tensor1D,
  init: Params,
  batches: { batch(i: number): Batch },
  steps: number,
  opt: InnerOptimizer,
  checkEvery = 100,
  /** Called at each check with the step count done and the current parameters (borrowed). */
  onCheck?: (stepsDone: number, params: Params) => Promise<void>,
): Promise<TrainingRun> {
  let state: SgdState = { params: init.map((p) => p.clone()), velocity: [] };
  const lossCurve: number[] = [];
  for (let step = 0; step < steps; step++) {
    const check = (step + 1) % checkEvery === 0 || step === steps - 1;
    const { next, value } = tidyKeep(() => {
      const batch = batches.batch(step);
      const { value, grads } = lossValueAndGradients(spec, loss, phi, state.params, batch);
      const next = sgdUpdate(state, grads, opt);
      return { next, value: check ? tf.keep(value()) : undefined };
    });
    tf.dispose([...state.params, ...state.velocity]);
    state = next;
    if (value) {
      const v = (await value.data())[0];
      value.dispose();
      lossCurve.push(v);
      if (!Number.isFinite(v)) return { params: state.params, diverged: true, lossCurve };
      await onCheck?.(step + 1, state.params);
    }
  }
  tf.dispose(state.velocity);
  return { params: state.params, diverged: false, lossCurve };
}
