/**
 * Fitness of many candidates in one computation. The candidates of a generation share the model,
 * the initialisation and the training batches; only the loss differs. So K copies of the model are
 * stacked along a candidate axis and trained together: one forward pass gives K outputs, each
 * candidate's compiled loss and its written-out gradient are applied to its own slice, and one
 * backward pass (dense_backprop.ts's, for the stack) gives every slice its own gradient. No op mixes
 * candidates, so each slice follows exactly the SGD trajectory `CandidateEvaluator.fitness` gives
 * it alone (tests/stacked.test.ts compares them).
 *
 * The stackable model kinds only (core/model_kinds.ts: linear and MLP); another kind would need its own stacked forward
 * pass (tfjs has no grouped convolution) and falls back to one candidate at a time.
 */
import { tf } from "./tensor/tf.ts";
import { read } from "./tensor/backend.ts";
import { type BatchLoss, compileLoss, type LossAndGradient } from "./metaloss.ts";
import { outputGradient } from "./dense_backprop.ts";
import { matMulT } from "./tensor/products.ts";
import type { ModelSpec, Params } from "./models.ts";
import {
  type Batch,
  EXACT_UNROLL,
  type InnerOptimizer,
  type SgdState,
  sgdUpdate,
  taskLoss,
  taskMetric,
  tidyKeep,
  unrolledLoss,
  type UnrollOptions,
  withZeroPathFrom,
} from "./train.ts";
import { type FitnessResult, WORST_FITNESS } from "../core/runner.ts";
import { isDenseStack } from "../core/model_kinds.ts";
import type { Task } from "../core/data/dataset.ts";
import type { Tree } from "../core/expr/tree.ts";

/**
 * How the layers after the first multiply, one weight matrix per candidate:
 * - "rank3": one rank-3 matMul [K, B, in] x [K, in, out]. One kernel, what a GPU wants.
 * - "split": K plain matMuls. The wasm backend hands a matMul to XNNPACK only when its batch
 *   dimension is 1 and runs a naive triple loop otherwise (tfjs-backend-wasm batch_mat_mul_impl).
 * The first layer never needs either: its input is shared (below).
 */
export type StackedProducts = "rank3" | "split";

/** The default for the active backend: "split" on wasm, "rank3" elsewhere. */
export function defaultProducts(): StackedProducts {
  return tf.getBackend() === "wasm" ? "split" : "rank3";
}

/**
 * Where the candidate axis sits in parameter i of the stack. The first layer's weight is stored
 * [in, K, out] rather than [K, in, out]: reshaped (for free) to [in, K * out], it turns the K
 * first-layer products, which share their input batch, into one plain matMul, and its gradient
 * x^T dZ into another. Every other tensor has the candidate axis first.
 */
function candidateAxis(i: number): number {
  return i === 0 ? 1 : 0;
}

/**
 * K copies of the shared initial parameters, stacked. By concatenation, a copy per candidate:
 * tf.tile measured about 0.2 s for the 784-100 weight at K = 16 on wasm.
 */
export function stackParams(init: Params, k: number): Params {
  return tf.tidy(() =>
    init.map((p, i) => {
      const one = tf.expandDims(p, candidateAxis(i));
      return k === 1 ? one : tf.concat(Array.from({ length: k }, () => one), candidateAxis(i));
    })
  );
}

/** The sub-stack of the candidates at `slices` (indices into the stack), in that order. */
export function selectCandidates(params: Params, slices: number[]): Params {
  return tf.tidy(() => {
    const index = tf.tensor1d(slices, "int32");
    return params.map((p, i) => tf.gather(p, index, candidateAxis(i)));
  });
}

/**
 * tf.unstack, except along an axis of size 1: tfjs hands the gradient of a one-output Unpack a
 * tensor where it expects an array, and differentiating through it throws.
 */
function unstack(t: tf.Tensor, axis = 0): tf.Tensor[] {
  return t.shape[axis] === 1 ? [tf.squeeze(t, [axis])] : tf.unstack(t, axis);
}

/**
 * The forward pass of K stacked MLPs on one shared batch x [B, in], with what backpropagation
 * needs: each layer's input and pre-activation. Layer 0 runs as one [B, K * width] product; the
 * later layers as one slice per candidate ("split") or as one rank-3 tensor [K, B, width]
 * ("rank3"). Each candidate's outputs come from the same ops in the same order as `models.ts`'s
 * forward on that candidate alone.
 */
interface StackedTrace {
  z0: tf.Tensor2D;
  /** Layers 1.. : per layer, its input and pre-activation, as slices or as one rank-3 tensor. */
  inputs: (tf.Tensor[] | tf.Tensor)[];
  pre: (tf.Tensor[] | tf.Tensor)[];
  outputs: tf.Tensor2D[];
}

function traceForward(params: Params, x: tf.Tensor2D, products: StackedProducts): StackedTrace {
  const [w0, b0] = params;
  const [inputs, k, width] = w0.shape;
  const b = x.shape[0];
  const layers = params.length / 2;
  const z0 = tf.add(
    tf.matMul(x, tf.reshape(w0, [inputs, k * width])),
    tf.reshape(b0, [k * width]),
  ) as tf.Tensor2D;
  const h0 = tf.reshape(layers > 1 ? tf.relu(z0) : z0, [b, k, width]);
  const trace: StackedTrace = { z0, inputs: [], pre: [], outputs: [] };
  if (products === "split") {
    let hs = unstack(h0, 1);
    for (let l = 1; l < layers; l++) {
      const ws = unstack(params[2 * l]);
      const bs = unstack(params[2 * l + 1]);
      const zs = hs.map((h, j) => tf.add(tf.matMul(h as tf.Tensor2D, ws[j] as tf.Tensor2D), bs[j]));
      trace.inputs.push(hs);
      trace.pre.push(zs);
      hs = l < layers - 1 ? zs.map((z) => tf.relu(z)) : zs;
    }
    trace.outputs = hs as tf.Tensor2D[];
    return trace;
  }
  let h: tf.Tensor = tf.transpose(h0, [1, 0, 2]); // [K, B, width]
  for (let l = 1; l < layers; l++) {
    const bias = params[2 * l + 1];
    const z = tf.add(
      tf.matMul(h as tf.Tensor3D, params[2 * l] as tf.Tensor3D),
      tf.reshape(bias, [k, 1, -1]),
    );
    trace.inputs.push(h);
    trace.pre.push(z);
    h = l < layers - 1 ? tf.relu(z) : z;
  }
  trace.outputs = (layers > 1 ? unstack(h) : unstack(h0, 1)) as tf.Tensor2D[];
  return trace;
}

/** The K outputs [B, out] of the stacked MLPs on the shared batch x. */
export function stackedForward(
  params: Params,
  x: tf.Tensor2D,
  products: StackedProducts = defaultProducts(),
): tf.Tensor2D[] {
  return traceForward(params, x, products).outputs;
}

/**
 * Each candidate's loss and its gradient with respect to the stacked parameters: the backward
 * pass of `dense_backprop.ts` written for the stack, slice by slice the same ops (the products'
 * columns and slices are independent), so a slice's gradient is its candidate's own.
 */
function stackedLossGradients(
  params: Params,
  batch: Batch,
  lossOf: (slice: number, outputs: tf.Tensor2D) => LossAndGradient,
  products: StackedProducts,
): { values: () => tf.Tensor1D; grads: Params } {
  const [w0] = params;
  const [inputs, k, width] = w0.shape;
  const b = batch.x.shape[0];
  const layers = params.length / 2;
  const trace = traceForward(params, batch.x, products);
  const top = trace.outputs.map((out, j) => lossOf(j, out));
  const grads: Params = new Array(params.length);
  const relu = (g: tf.Tensor, z: tf.Tensor) => tf.mul(g, tf.step(z));
  let g0: tf.Tensor2D; // the gradient at layer 0's pre-activation, [B, K * width]
  if (layers === 1) {
    g0 = tf.reshape(tf.stack(top.map((t) => t.gradient), 1), [b, k * width]);
  } else if (products === "split") {
    let gs: tf.Tensor[] = top.map((t) => t.gradient);
    for (let l = layers - 1; l >= 1; l--) {
      const ins = trace.inputs[l - 1] as tf.Tensor[];
      const ws = unstack(params[2 * l]);
      grads[2 * l] = tf.stack(gs.map((g, j) => matMulT(ins[j], g, true, false)));
      grads[2 * l + 1] = tf.stack(gs.map((g) => tf.sum(g, 0)));
      const below = l > 1
        ? trace.pre[l - 2] as tf.Tensor[]
        : unstack(tf.reshape(trace.z0, [b, k, width]), 1);
      gs = gs.map((g, j) => relu(matMulT(g, ws[j], false, true), below[j]));
    }
    g0 = tf.reshape(tf.stack(gs, 1), [b, k * width]);
  } else {
    let g: tf.Tensor = tf.stack(top.map((t) => t.gradient)); // [K, B, out]
    for (let l = layers - 1; l >= 1; l--) {
      grads[2 * l] = matMulT(trace.inputs[l - 1] as tf.Tensor, g, true, false);
      grads[2 * l + 1] = tf.sum(g, 1);
      const below = l > 1
        ? trace.pre[l - 2] as tf.Tensor
        : tf.transpose(tf.reshape(trace.z0, [b, k, width]), [1, 0, 2]);
      g = relu(matMulT(g, params[2 * l], false, true), below);
    }
    g0 = tf.reshape(tf.transpose(g, [1, 0, 2]), [b, k * width]);
  }
  grads[0] = tf.reshape(matMulT(batch.x, g0, true, false), [inputs, k, width]);
  grads[1] = tf.reshape(tf.sum(g0, 0), [k, width]);
  return { values: () => tf.stack(top.map((t) => t.value())) as tf.Tensor1D, grads };
}

/**
 * The hypergradient of every candidate at once: `unrolledTaskLoss` for K losses, each with its own
 * phi, through differentiable SGD steps of the stack of K copies of the shared theta0 (borrowed).
 * The differentiated function is the sum of the K validation losses; no op mixes candidates, so
 * its gradient with respect to phi k is candidate k's own hypergradient (tests/stacked.test.ts).
 * Returns the K validation losses (kept: the caller disposes them) and the K hypergradients; call
 * inside a tidy scope.
 */
export function stackedHypergradients(
  task: Task,
  losses: BatchLoss[],
  phis: tf.Tensor1D[],
  opt: InnerOptimizer,
  theta0: Params,
  trainBatches: Batch[],
  validation: Batch,
  unroll: UnrollOptions = EXACT_UNROLL,
  products: StackedProducts = defaultProducts(),
): { values: tf.Tensor1D; grads: tf.Tensor1D[] } {
  const stack = stackParams(theta0, losses.length);
  let values: tf.Tensor | undefined;
  const unrolled = unrolledLoss(
    (params, batch, ps: tf.Tensor1D[]) =>
      stackedLossGradients(
        params,
        batch,
        (j, out) => outputGradient(losses[j], out, batch.y, ps[j]),
        products,
      ).grads,
    (params) => {
      const outs = stackedForward(params, validation.x, products);
      // Kept past the gradient's own scope: the caller disposes it.
      values = tf.keep(tf.stack(outs.map((out) => taskLoss(task, out, validation.y))));
      return tf.sum(values);
    },
    opt,
    stack,
    trainBatches,
    unroll,
    // The steps that truncation leaves undifferentiated run at phi's value, not differentiated.
    unroll.mode === "truncated" ? phis.map((p) => tf.clone(p)) : undefined,
  );
  const withPath = (...ps: tf.Tensor[]) => withZeroPathFrom(unrolled(ps as tf.Tensor1D[]), ps);
  const { grads } = tf.valueAndGrads(withPath as (...ps: tf.Tensor[]) => tf.Scalar)(phis);
  return { values: values as tf.Tensor1D, grads: grads as tf.Tensor1D[] };
}

export interface StackedOptions {
  /** Steps between reads of the losses, as `trainSgd`'s `checkEvery`. */
  checkEvery?: number;
  products?: StackedProducts;
}

/**
 * `CandidateEvaluator.fitness` for every (tree, phi) pair at once: `steps` SGD steps from the
 * shared `init` (borrowed, not disposed) on `batches`, then the task metric (and task loss) on
 * `validation`.
 *
 * Divergence is decided as in `trainSgd`: the losses are read every `checkEvery` steps and at the
 * last step, and a candidate whose loss is NaN or infinite gets the worst fitness. Its slice is
 * then cut out of the stack. In exact arithmetic a NaN slice cannot reach another (no op here
 * mixes candidates: the matMuls, bias sums and reshapes are all per column or per slice, and each
 * slice's loss gradient is computed from that slice alone); cutting it also stops paying for it, and
 * keeps the guarantee independent of any kernel's internals.
 */
export async function stackedFitness(
  spec: ModelSpec,
  task: Task,
  trees: Tree[],
  phis: number[][],
  init: Params,
  batches: { batch(i: number): Batch },
  validation: Batch,
  steps: number,
  opt: InnerOptimizer,
  { checkEvery = 100, products = defaultProducts() }: StackedOptions = {},
): Promise<FitnessResult[]> {
  if (!isDenseStack(spec)) {
    throw new Error(`stacked fitness: no stacked ${spec.kind} model`);
  }
  if (trees.length !== phis.length) throw new Error("stacked fitness: one phi per tree");
  const results: FitnessResult[] = trees.map(() => ({
    fitness: WORST_FITNESS,
    diverged: true,
    steps,
  }));
  if (trees.length === 0) return results;
  const losses = trees.map((tree) => compileLoss(tree, task));
  const phiT = phis.map((phi) => tf.tensor1d(phi));
  /** The candidate (index into `trees`) of each slice of the stack. */
  let alive = trees.map((_, i) => i);
  let state: SgdState = { params: stackParams(init, trees.length), velocity: [] };
  try {
    for (let step = 0; step < steps && alive.length > 0; step++) {
      const check = (step + 1) % checkEvery === 0 || step === steps - 1;
      const { next, values } = tidyKeep(() => {
        const batch = batches.batch(step);
        const { values, grads } = stackedLossGradients(
          state.params,
          batch,
          (j, out) => outputGradient(losses[alive[j]], out, batch.y, phiT[alive[j]]),
          products,
        );
        return { next: sgdUpdate(state, grads, opt), values: check ? values() : undefined };
      });
      tf.dispose([...state.params, ...state.velocity]);
      state = next;
      if (!values) continue;
      const v = await read(values);
      values.dispose();
      const finite = alive.flatMap((_, j) => (Number.isFinite(v[j]) ? [j] : []));
      if (finite.length < alive.length) {
        const kept: SgdState = {
          params: selectCandidates(state.params, finite),
          velocity: selectCandidates(state.velocity, finite),
        };
        tf.dispose([...state.params, ...state.velocity]);
        state = kept;
        alive = finite.map((j) => alive[j]);
      }
    }
    if (alive.length === 0) return results;
    // Metric and task loss (the tie-breaker) of each slice: [metric, loss] pairs.
    const metrics = tf.tidy(() =>
      tf.stack(
        stackedForward(state.params, validation.x, products).flatMap((out) => [
          taskMetric(task, out, validation.y),
          taskLoss(task, out, validation.y),
        ]),
      )
    );
    const m = await read(metrics);
    metrics.dispose();
    alive.forEach((c, j) => {
      const [fitness, lossValue] = [m[2 * j], m[2 * j + 1]];
      if (!Number.isFinite(fitness)) return;
      results[c] = Number.isFinite(lossValue)
        ? { fitness, diverged: false, taskLoss: lossValue, steps }
        : { fitness, diverged: false, steps };
    });
    return results;
  } finally {
    tf.dispose([...state.params, ...state.velocity, ...phiT]);
  }
}
