/**
 * The primitive set of method.md on plain numbers: the scalar reference.
 *
 * Tensor implementations of the same trees are tested against it. The primitives themselves are
 * defined once, in core/expr/registry.ts; this file interprets them in float64 arithmetic.
 */

import { type Dual, type DualAlgebra, valueOf } from "./algebra.ts";
import { OPS } from "./registry.ts";
import { BINARY_OPS, isOp, type Op, type Tree, UNARY_OPS } from "./tree.ts";

export { OPS, type OpSpec, PROTECT_EPS } from "./registry.ts";

/** The algebra of numbers, with tfjs's conventions where JavaScript offers a choice. */
export const NUMBERS: DualAlgebra<number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  // x * x rather than x ** 2: the canonical form rewrites mul(x, x) to square(x), which is then
  // bit-exact.
  square: (a) => a * a,
  sqrt: Math.sqrt,
  abs: Math.abs,
  tanh: Math.tanh,
  // Math.sign already gives sign(0) = 0 (and -0 for -0, numerically equal).
  sign: Math.sign,
  log: Math.log,
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
  neg: (a) => -a,
  step: (x, alpha) => Number.isNaN(x) ? NaN : x > 0 ? 1 : alpha,
  greaterEqual: (a, b) => a >= b ? 1 : 0,
  lessEqual: (a, b) => a <= b ? 1 : 0,
};

/** Ops in a fixed order (binary first), used wherever a deterministic order is needed. */
export const ALL_OPS: readonly Op[] = [...BINARY_OPS, ...UNARY_OPS];

/** Value of one op on scalars. */
export function applyOp(op: Op, a: number, b = 0): number {
  return valueOf(NUMBERS, OPS[op].rule, a, b);
}

/**
 * Value of `tree` at one point. With `phi` (one weight per node, prefix order), each node's
 * value is multiplied by its weight as it is passed to its parent; phi[0], the root's, is
 * unused. Without `phi` every weight is 1: the plain symbolic loss.
 */
export function evaluate(tree: Tree, y: number, fx: number, phi?: readonly number[]): number {
  return interpret(tree, y, fx, phi, NUMBERS, false).v;
}

/**
 * Value of `tree` at one point and its derivative with respect to f(x) (forward mode, the
 * primitives' own rules), in `numbers` (float64 unless told otherwise).
 */
export function evaluateWithDerivative(
  tree: Tree,
  y: number,
  fx: number,
  phi?: readonly number[],
  numbers: DualAlgebra<number> = NUMBERS,
): { v: number; d: number } {
  const { v, d } = interpret(tree, y, fx, phi, numbers, true);
  return { v, d: d ?? 0 };
}

function interpret(
  tree: Tree,
  y: number,
  fx: number,
  phi: readonly number[] | undefined,
  A: DualAlgebra<number>,
  withDerivative: boolean,
): Dual<number> {
  if (phi !== undefined && phi.length !== tree.length) {
    throw new Error(`phi has ${phi.length} weights for a tree of ${tree.length} nodes`);
  }
  // Walk the prefix array backwards with a stack: each op finds its arguments on top,
  // first argument first, already weighted.
  const stack: Dual<number>[] = [];
  for (let i = tree.length - 1; i >= 0; i--) {
    const node = tree[i];
    let value: Dual<number>;
    if (typeof node === "number") value = { v: node, d: null };
    else if (node === "y") value = { v: y, d: null };
    else if (node === "fx") value = { v: fx, d: withDerivative ? 1 : null };
    else if (isOp(node)) {
      const a = stack.pop();
      const b = OPS[node].arity === 2 ? stack.pop() : a;
      if (a === undefined || b === undefined) throw new Error("malformed prefix tree");
      value = OPS[node].rule(A, a, b);
    } else throw new Error(`unknown node ${JSON.stringify(node)}`);
    if (i > 0 && phi !== undefined) {
      const w = phi[i];
      value = { v: A.mul(w, value.v), d: value.d === null ? null : A.mul(value.d, w) };
    }
    stack.push(value);
  }
  if (stack.length !== 1) throw new Error("malformed prefix tree");
  return stack[0];
}
