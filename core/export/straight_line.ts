/**
 * A tree as straight-line code, shared by the PyTorch and TensorFlow.js exports: one temporary
 * per node in post-order (children first), each weight applied where the parent uses the child,
 * exactly as core/metaloss.ts compiles it. The same operations in the same order give the same
 * float32 roundings, so the exports agree with the engine to the last bit wherever the two
 * libraries' kernels do.
 */
import { type Algebra, valueOf, valuesOnly } from "../expr/algebra.ts";
import { OPS } from "../expr/registry.ts";
import { children } from "../expr/tree.ts";
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
  /** The primitives' operations as code; the rules of core/expr/registry.ts are spelled in it. */
  algebra: Algebra<Arg>;
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
  const code = valuesOnly(dialect.algebra);
  const steps: Step[] = [];
  const value = (i: number): string => {
    const node = tree[i];
    if (node === "y" || node === "fx") return node;
    let expr: string;
    if (typeof node === "number") expr = dialect.constant(dialect.literal(node));
    else {
      const [a, b] = children(tree, i).map(passUp);
      expr = valueOf(code, OPS[node].rule, a, b ?? a).text;
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

/** A constant of a rule (1, the floor 1e-7) as code: JavaScript's spelling of the number, which
 * Python reads alike. Negative ones are bracketed as operands, `x - (-1)`. */
export function arg(x: Arg | number): Arg {
  return typeof x === "number" ? { text: String(x), compound: x < 0 } : x;
}

/** `name(a, b, ...)`: a function call of the target language. */
export function call(name: string): (...args: (Arg | number)[]) => Arg {
  return (...args) => ({
    text: `${name}(${args.map((a) => arg(a).text).join(", ")})`,
    compound: false,
  });
}
