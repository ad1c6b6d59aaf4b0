/**
 * A symbolic loss compiled into a small network over tfjs tensors (method.md, "From expression
 * tree to meta-loss network"). The tree is turned into a closure once; a call builds one tensor op
 * per node on whole batches, never walking the tree per element.
 *
 * Every node k has a weight phi[k]; a node's value is multiplied by its weight when passed up to
 * its parent, so every edge carries a weight and the root's weight is unused. With phi all ones
 * it is the plain symbolic loss.
 */
import { tf } from "./tensor/tf.ts";
import { children, type Node, type Tree } from "../core/expr/tree.ts";
import type { Dual, DualAlgebra } from "../core/expr/algebra.ts";
import { OPS } from "../core/expr/registry.ts";

export type { Task } from "../core/data/dataset.ts";
import type { Task } from "../core/data/dataset.ts";

/** Element-wise value of the expression for targets y and predictions f. */
export type ElementwiseLoss = (y: tf.Tensor, f: tf.Tensor, phi: tf.Tensor1D) => tf.Tensor;

/**
 * A batch loss's value and its gradient with respect to the model's raw outputs, written out as
 * plain tensor ops. `value` is a thunk: training reads the loss only every so often, and an
 * unused value would still cost kernels on an eager backend.
 */
export interface LossAndGradient {
  value: () => tf.Scalar;
  gradient: tf.Tensor2D;
}

/**
 * Mean loss of a batch, from the model's raw outputs (logits for classification).
 *
 * `valueAndGradient`, where present, gives the gradient without automatic differentiation.
 * Why: inside an unrolled step the loss gradient is itself differentiated; built by tfjs's tape
 * it costs a tape of its own, saved-tensor clones and ops whose second-order gradients are
 * recorded a second time (~400 kernels of a 5-step MLP unroll's ~450 per step). Written out, the
 * outer tape sees a few dozen first-order element-wise ops. Tests check it against tfjs autodiff.
 */
export interface BatchLoss {
  (outputs: tf.Tensor2D, targets: tf.Tensor2D, phi: tf.Tensor1D): tf.Scalar;
  valueAndGradient?: (
    outputs: tf.Tensor2D,
    targets: tf.Tensor2D,
    phi: tf.Tensor1D,
  ) => LossAndGradient;
}

/**
 * The primitives (core/expr/registry.ts) on tensors. Constants arrive as JS numbers and are
 * passed to the tf ops as they are; the masks are float32 for multiplying derivatives.
 */
const TENSORS: DualAlgebra<tf.Tensor> = {
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  div: (a, b) => tf.div(a, b),
  square: (a) => tf.square(a),
  sqrt: (a) => tf.sqrt(a),
  abs: (a) => tf.abs(a),
  tanh: (a) => tf.tanh(a),
  sign: (a) => tf.sign(a),
  log: (a) => tf.log(a),
  maximum: (a, b) => tf.maximum(a, b),
  minimum: (a, b) => tf.minimum(a, b),
  neg: (a) => tf.neg(a),
  step: (x, alpha) => tf.step(x, alpha),
  greaterEqual: (a, b) => tf.cast(tf.greaterEqual(a, b), "float32"),
  lessEqual: (a, b) => tf.cast(tf.lessEqual(a, b), "float32"),
};

/**
 * What a node hands its parent before the edge weight is applied: its value v and its
 * element-wise derivative d = dv/df (every primitive is element-wise, so the derivative is a
 * tensor broadcasting to f's shape, not a Jacobian). null where v does not depend on f; ONE for
 * f itself, so that a weighted f's derivative is the weight, with no kernel.
 */
const ONE = "one";
interface NodeDual {
  v: tf.Tensor;
  d: tf.Tensor | typeof ONE | null;
}

type Compiled = (y: tf.Tensor, f: tf.Tensor, w: tf.Tensor[], withDerivative: boolean) => NodeDual;

// Without derivatives (or below a node that does not depend on f) every derivative is null, and
// a rule computes the value alone.
function compileNode(tree: Tree, index: number): Compiled {
  const node: Node = tree[index];
  if (node === "y") return (y) => ({ v: y, d: null });
  if (node === "fx") return (_y, f, _w, wd) => ({ v: f, d: wd ? ONE : null });
  if (typeof node === "number") return (_y, f) => ({ v: tf.fill(f.shape, node), d: null });
  const rule = OPS[node].rule;
  // A child's value is scaled by the child's own weight as it is passed up.
  const [first, second] = children(tree, index).map((k) => {
    const child = compileNode(tree, k);
    return (y: tf.Tensor, f: tf.Tensor, w: tf.Tensor[], wd: boolean): Dual<tf.Tensor> => {
      const c = child(y, f, w, wd);
      const d = c.d === null ? null : c.d === ONE ? w[k] : tf.mul(c.d, w[k]);
      return { v: tf.mul(c.v, w[k]), d };
    };
  });
  return (y, f, w, wd) => {
    const a = first(y, f, w, wd);
    return rule(TENSORS, a, second === undefined ? a : second(y, f, w, wd));
  };
}

export function compileElementwise(tree: Tree): ElementwiseLoss {
  const root = compileNode(tree, 0);
  return (y, f, phi) => root(y, f, tf.unstack(phi), false).v;
}

/**
 * Classification: f = softmax(logits), y one-hot, summed over classes, mean over the batch.
 * Regression: raw prediction and target, mean over batch and outputs.
 */
export function compileLoss(tree: Tree, task: Task): BatchLoss {
  const root = compileNode(tree, 0);
  const reduce = (e: tf.Tensor): tf.Scalar =>
    task === "classification" ? tf.mean(tf.sum(e, 1)) : tf.mean(e);
  const loss: BatchLoss = (outputs, targets, phi) => {
    const f = task === "classification" ? tf.softmax(outputs) : outputs;
    return reduce(root(targets, f, tf.unstack(phi), false).v);
  };
  loss.valueAndGradient = (outputs, targets, phi) => {
    const f = task === "classification" ? tf.softmax(outputs) : outputs;
    const { v, d: rootD } = root(targets, f, tf.unstack(phi), true);
    const d = rootD === ONE ? tf.onesLike(outputs) : rootD;
    const [rows, cols] = outputs.shape;
    // d L / d f: the mean divides by the rows (classification sums over classes first).
    const count = task === "classification" ? rows : rows * cols;
    // d has f's shape unless f appears under weights only (a scalar).
    const full = d === null ? null : d.rank === 2 ? d : tf.add(d, tf.zerosLike(outputs));
    const gradient = full === null
      ? tf.zerosLike(outputs)
      : task === "classification"
      ? softmaxBackward(f, tf.div(full, count))
      : tf.div(full, count);
    return { value: () => reduce(v), gradient: gradient as tf.Tensor2D };
  };
  return loss;
}

/** The gradient with respect to logits, given the gradient g with respect to f = softmax(logits). */
export function softmaxBackward(f: tf.Tensor, g: tf.Tensor): tf.Tensor {
  return tf.mul(f, tf.sub(g, tf.sum(tf.mul(g, f), 1, true)));
}

/** phi initialised as method.md says: 1 + 0.001 * N(0, 1), one weight per node. */
export function initialPhi(nodes: number, normal: () => number): Float32Array {
  return Float32Array.from({ length: nodes }, () => 1 + 0.001 * normal());
}
