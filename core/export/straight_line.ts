/**
 * A tree as straight-line code, shared by the PyTorch and TensorFlow.js exports: one temporary
 * per node in post-order (children first), each weight applied where the parent uses the child,
 * exactly as engine/metaloss.ts compiles it. The same operations in the same order give the same
 * float32 roundings, so the exports agree with the engine to the last bit wherever the two
 * libraries' kernels do.
 */
import { type Algebra, type Rule, valueOf, valuesOnly } from "../expr/algebra.ts";
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

/** A child as its parent's argument, and with its weight applied even where that is 1. */
export interface Child extends Arg {
  weighted: Arg;
}

export interface Step {
  /** `t<k>` for node k of the prefix tree, so a line can be traced back to tree[k] and phi[k];
   * `t<k>_<j>` for a value node k's formula uses more than once. */
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
      expr = ruleCode(dialect.algebra, OPS[node].rule, a, b ?? a, `t${i}`, steps);
    }
    steps.push({ name: `t${i}`, expr });
    return `t${i}`;
  };
  // x * 1 is exact, so weights of exactly 1 are left out for readability at no cost (but see
  // ruleCode for an argument used twice).
  const passUp = (k: number): Child => {
    const v = value(k);
    const weighted = dialect.weighted(v, dialect.literal(phi[k]));
    return phi[k] === 1 ? { text: v, compound: false, weighted } : { ...weighted, weighted };
  };
  const result = value(0);
  return { steps, result };
}

/**
 * The code of `rule` on a and b. A value the rule uses more than once (an argument, or a result
 * of its own) gets a temporary of its own, pushed onto `steps`: the engine computes it once and
 * autodiff sums its gradient there before passing it on, so the export must too, to round alike.
 * A shared argument keeps even a weight of 1, because the engine's is a tensor of its own. No
 * primitive of today shares a value; this keeps the next one exact. The rule runs twice, first
 * to count uses: it is deterministic, so its j-th result is the same value both times.
 */
export function ruleCode(
  algebra: Algebra<Arg>,
  rule: Rule,
  a: Child,
  b: Child,
  name: string,
  steps: Step[],
): string {
  const uses = new Map<Arg, number>();
  const results: Arg[] = [];
  const counting = instrument(algebra, (x) => uses.set(x, (uses.get(x) ?? 0) + 1), (r) => {
    results.push(r);
    return r;
  });
  valueOf(valuesOnly(counting), rule, a, b);
  const shared = (x: Arg) => (uses.get(x) ?? 0) > 1;
  let n = 0;
  const bind = (x: Arg): Arg => {
    const temporary = `${name}_${n++}`;
    steps.push({ name: temporary, expr: x.text });
    return { text: temporary, compound: false };
  };
  const hoist = (x: Child) => shared(x) ? bind(x.weighted) : x;
  const [ha, hb] = [hoist(a), b === a ? undefined : hoist(b)];
  let j = 0;
  const naming = instrument(algebra, () => {}, (r) => shared(results[j++]) ? bind(r) : r);
  return valueOf(valuesOnly(naming), rule, ha, hb ?? ha).text;
}

/** `algebra` with a look at every operand and every result. */
function instrument(
  algebra: Algebra<Arg>,
  used: (x: Arg) => void,
  made: (r: Arg) => Arg,
): Algebra<Arg> {
  const ops = Object.entries(algebra) as [string, (...xs: (Arg | number)[]) => Arg][];
  return Object.fromEntries(ops.map(([op, f]) => [op, (...xs: (Arg | number)[]) => {
    for (const x of xs) if (typeof x !== "number") used(x);
    return made(f(...xs));
  }])) as unknown as Algebra<Arg>;
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
