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
import { arity, children, type Node, type Op, subtreeEnd, type Tree } from "./expr/tree.ts";

export type { Task } from "./data/dataset.ts";
import type { Task } from "./data/dataset.ts";

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

/**
 * A node's value v and its element-wise derivative d = dv/df: every primitive is element-wise, so
 * the derivative is a tensor broadcasting to f's shape, not a Jacobian. null where v does not
 * depend on f; ONE for f itself, so that a weighted f's derivative is the weight, with no kernel.
 */
interface Dual {
  v: tf.Tensor;
  d: tf.Tensor | null;
}
const ONE = "one";
/** What a node hands its parent before the edge weight is applied. */
interface NodeDual {
  v: tf.Tensor;
  d: tf.Tensor | typeof ONE | null;
}

const mask = (condition: tf.Tensor) => tf.cast(condition, "float32");

/** d1 * s1 + d2 * s2 with absent terms skipped: no kernel is spent on a zero derivative. */
function combine(
  d1: tf.Tensor | null,
  s1: tf.Tensor | number,
  d2: tf.Tensor | null,
  s2: tf.Tensor | number,
): tf.Tensor | null {
  const term = (d: tf.Tensor | null, s: tf.Tensor | number) =>
    d === null ? null : s === 1 ? d : tf.mul(d, s);
  const [t1, t2] = [term(d1, s1), term(d2, s2)];
  if (t1 === null) return t2;
  return t2 === null ? t1 : tf.add(t1, t2);
}

/**
 * |a| floored at EPS (the protected log and sqrt) and the derivative of that floor with respect to
 * a, with tfjs's conventions at the kinks (Abs: -1 at 0; Maximum: the first argument on a tie), so
 * that the written-out gradient is the one autodiff gives.
 */
function flooredAbs(a: Dual): { m: tf.Tensor; dm: tf.Tensor | null } {
  const abs = tf.abs(a.v);
  const m = tf.maximum(abs, EPS);
  const dm = a.d === null
    ? null
    : tf.mul(a.d, tf.mul(tf.step(a.v, -1), mask(tf.greaterEqual(abs, EPS))));
  return { m, dm };
}

/**
 * The derivative rules, one per primitive, matching TENSOR_OPS's values op for op and tfjs's
 * gradient conventions at ties and kinks (Maximum_grad, Minimum_grad, Abs_grad, Sign_grad).
 */
const DUAL_OPS: Record<Op, (a: Dual, b: Dual) => Dual> = {
  add: (a, b) => ({ v: tf.add(a.v, b.v), d: combine(a.d, 1, b.d, 1) }),
  sub: (a, b) => ({ v: tf.sub(a.v, b.v), d: combine(a.d, 1, b.d, -1) }),
  mul: (a, b) => ({ v: tf.mul(a.v, b.v), d: combine(a.d, b.v, b.d, a.v) }),
  div: (a, b) => {
    const r = tf.add(1, tf.square(b.v));
    const s = tf.sqrt(r);
    const v = tf.div(a.v, s);
    // dv/da = 1 / s, dv/db = -a b / s^3 = -v b / r.
    const d = combine(
      a.d === null ? null : tf.div(a.d, s),
      1,
      b.d,
      b.d === null ? 0 : tf.neg(tf.div(tf.mul(v, b.v), r)),
    );
    return { v, d };
  },
  min: (a, b) => {
    const first = a.d === null && b.d === null ? null : mask(tf.lessEqual(a.v, b.v));
    return {
      v: tf.minimum(a.v, b.v),
      d: first === null ? null : combine(a.d, first, b.d, b.d === null ? 0 : tf.sub(1, first)),
    };
  },
  max: (a, b) => {
    const first = a.d === null && b.d === null ? null : mask(tf.greaterEqual(a.v, b.v));
    return {
      v: tf.maximum(a.v, b.v),
      d: first === null ? null : combine(a.d, first, b.d, b.d === null ? 0 : tf.sub(1, first)),
    };
  },
  square: (a) => ({ v: tf.square(a.v), d: a.d === null ? null : tf.mul(a.d, tf.mul(a.v, 2)) }),
  abs: (a) => ({ v: tf.abs(a.v), d: a.d === null ? null : tf.mul(a.d, tf.step(a.v, -1)) }),
  tanh: (a) => {
    const v = tf.tanh(a.v);
    return { v, d: a.d === null ? null : tf.mul(a.d, tf.sub(1, tf.square(v))) };
  },
  sign: (a) => ({ v: tf.sign(a.v), d: null }),
  log: (a) => {
    const { m, dm } = flooredAbs(a);
    return { v: tf.log(m), d: dm === null ? null : tf.div(dm, m) };
  },
  sqrt: (a) => {
    const { m, dm } = flooredAbs(a);
    const v = tf.sqrt(m);
    return { v, d: dm === null ? null : tf.div(dm, tf.mul(v, 2)) };
  },
};

type Compiled = (y: tf.Tensor, f: tf.Tensor, w: tf.Tensor[], withDerivative: boolean) => NodeDual;

/** Whether the subtree at `index` contains f(x): elsewhere the derivative is skipped. */
function dependsOnF(tree: Tree, index: number): boolean {
  return tree.slice(index, subtreeEnd(tree, index)).includes("fx");
}

function compileNode(tree: Tree, index: number): Compiled {
  const node: Node = tree[index];
  if (node === "y") return (y) => ({ v: y, d: null });
  if (node === "fx") return (_y, f, _w, wd) => ({ v: f, d: wd ? ONE : null });
  if (typeof node === "number") return (_y, f) => ({ v: tf.fill(f.shape, node), d: null });
  const value = TENSOR_OPS[node];
  const dual = DUAL_OPS[node];
  const withF = dependsOnF(tree, index);
  // A child's value is scaled by the child's own weight as it is passed up.
  const kids = children(tree, index).map((k) => {
    const child = compileNode(tree, k);
    return (y: tf.Tensor, f: tf.Tensor, w: tf.Tensor[], wd: boolean): Dual => {
      const c = child(y, f, w, wd);
      const d = c.d === null ? null : c.d === ONE ? w[k] : tf.mul(c.d, w[k]);
      return { v: tf.mul(c.v, w[k]), d };
    };
  });
  const args = (y: tf.Tensor, f: tf.Tensor, w: tf.Tensor[], wd: boolean): [Dual, Dual] => {
    const a = kids[0](y, f, w, wd);
    return [a, arity(node) === 1 ? a : kids[1](y, f, w, wd)];
  };
  return (y, f, w, wd) => {
    const [a, b] = args(y, f, w, wd);
    return wd && withF ? dual(a, b) : { v: value(a.v, b.v), d: null };
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
