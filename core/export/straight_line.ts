/**
 * A tree as straight-line code, shared by the PyTorch and TensorFlow.js exports: one temporary
 * per node in post-order (children first), each weight applied where the parent uses the child,
 * exactly as core/metaloss.ts compiles it. The same operations in the same order give the same
 * float32 roundings, so the exports agree with the engine to the last bit wherever the two
 * libraries' kernels do.
 */
import { children, type Op } from "../expr/tree.ts";
import type { CheckedLoss } from "./loss.ts";

/** An expression and whether it must be bracketed as the operand of an infix operator. */
export interface Arg {
  text: string;
  compound: boolean;
}

export interface CodeDialect {
  /** Tensor of the constant, shaped like the prediction `fx` (as the engine's tf.fill). */
  constant(literal: string): string;
  /** A child's value scaled by its weight. */
  weighted(value: string, literal: string): Arg;
  op(op: Op, a: Arg, b: Arg | undefined): string;
  /** A float32 constant or weight as a literal of the target language. */
  literal(v: number): string;
}

export interface Step {
  /** `t<k>` for node k of the prefix tree, so a line can be traced back to tree[k] and phi[k]. */
  name: string;
  expr: string;
}

/** Steps in post-order and the name holding the element-wise loss. The inputs keep their tree
 * names, `y` and `fx`, and get no temporaries of their own. */
export function straightLine(loss: CheckedLoss, dialect: CodeDialect) {
  const { tree, phi } = loss;
  const steps: Step[] = [];
  const value = (i: number): string => {
    const node = tree[i];
    if (node === "y" || node === "fx") return node;
    let expr: string;
    if (typeof node === "number") expr = dialect.constant(dialect.literal(node));
    else {
      const [a, b] = children(tree, i).map(passUp);
      expr = dialect.op(node, a, b);
    }
    steps.push({ name: `t${i}`, expr });
    return `t${i}`;
  };
  // x * 1 is exact, so weights of exactly 1 are left out for readability at no cost.
  const passUp = (k: number): Arg => {
    const v = value(k);
    return phi[k] === 1
      ? { text: v, compound: false }
      : dialect.weighted(v, dialect.literal(phi[k]));
  };
  const result = value(0);
  return { steps, result };
}

/** `(text)` where an infix operator needs it: `(t1 * 0.5) * (t2 * 2.0)` keeps the engine's order
 * of roundings, which the left-associative `t1 * 0.5 * t2 * 2.0` would not. */
export function operand(a: Arg): string {
  return a.compound ? `(${a.text})` : a.text;
}
