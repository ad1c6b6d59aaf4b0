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
import { arity, children, type Node, type Op, type Tree } from "./expr/tree.ts";

export type { Task } from "./data/dataset.ts";
import type { Task } from "./data/dataset.ts";

/** Element-wise value of the expression for targets y and predictions f. */
export type ElementwiseLoss = (y: tf.Tensor, f: tf.Tensor, phi: tf.Tensor1D) => tf.Tensor;

/** Mean loss of a batch, from the model's raw outputs (logits for classification). */
export type BatchLoss = (outputs: tf.Tensor2D, targets: tf.Tensor2D, phi: tf.Tensor1D) => tf.Scalar;

const EPS = 1e-7;

/** Each primitive, defined on all reals (method.md); keep in step with core/expr/primitives.ts. */
const TENSOR_OPS: Record<Op, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  div: (a, b) => tf.div(a, tf.sqrt(tf.add(1, tf.square(b)))),
  min: (a, b) => tf.minimum(a, b),
  max: (a, b) => tf.maximum(a, b),
  square: (a) => tf.square(a),
  abs: (a) => tf.abs(a),
  tanh: (a) => tf.tanh(a),
  sign: (a) => tf.sign(a),
  log: (a) => tf.log(tf.maximum(tf.abs(a), EPS)),
  sqrt: (a) => tf.sqrt(tf.maximum(tf.abs(a), EPS)),
};

type Compiled = (y: tf.Tensor, f: tf.Tensor, w: tf.Tensor[]) => tf.Tensor;

function compileNode(tree: Tree, index: number): Compiled {
  const node: Node = tree[index];
  if (node === "y") return (y) => y;
  if (node === "fx") return (_y, f) => f;
  if (typeof node === "number") return (_y, f) => tf.fill(f.shape, node);
  const op = TENSOR_OPS[node];
  // A child's value is scaled by the child's own weight as it is passed up.
  const kids = children(tree, index).map((k) => {
    const child = compileNode(tree, k);
    return (y: tf.Tensor, f: tf.Tensor, w: tf.Tensor[]) => tf.mul(child(y, f, w), w[k]);
  });
  if (arity(node) === 1) {
    return (y, f, w) => {
      const a = kids[0](y, f, w);
      return op(a, a);
    };
  }
  return (y, f, w) => op(kids[0](y, f, w), kids[1](y, f, w));
}

export function compileElementwise(tree: Tree): ElementwiseLoss {
  const root = compileNode(tree, 0);
  return (y, f, phi) => root(y, f, tf.unstack(phi));
}

/**
 * Classification: f = softmax(logits), y one-hot, summed over classes, mean over the batch.
 * Regression: raw prediction and target, mean over batch and outputs.
 */
export function compileLoss(tree: Tree, task: Task): BatchLoss {
  const elementwise = compileElementwise(tree);
  if (task === "classification") {
    return (outputs, targets, phi) =>
      tf.mean(tf.sum(elementwise(targets, tf.softmax(outputs), phi), 1));
  }
  return (outputs, targets, phi) => tf.mean(elementwise(targets, outputs, phi));
}

/** phi initialised as method.md says: 1 + 0.001 * N(0, 1), one weight per node. */
export function initialPhi(nodes: number, normal: () => number): Float32Array {
  return Float32Array.from({ length: nodes }, () => 1 + 0.001 * normal());
}
