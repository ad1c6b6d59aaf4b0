/**
 * The primitive set of method.md, on plain numbers, and its presentation metadata.
 *
 * This scalar evaluator is the reference: tensor implementations of the same trees are tested
 * against it, so every definition here follows method.md to the letter.
 */

import { BINARY_OPS, isOp, type Op, type Tree, UNARY_OPS } from "./tree.ts";

/** Floor of the protected `log` and `sqrt`: they act on max(|x|, EPS). */
export const PROTECT_EPS = 1e-7;

export interface OpSpec {
  readonly arity: 1 | 2;
  /** Infix symbol for add, sub, mul; the others print as calls `name(a, b)`. */
  readonly symbol?: "+" | "-" | "*";
  /** Binding strength of the infix symbol: higher binds tighter. */
  readonly precedence?: number;
  /** f(a, b) = f(b, a) for all inputs, so argument order is free in the canonical form. */
  readonly commutative: boolean;
  /** Scalar value; unary ops ignore `b`. */
  readonly apply: (a: number, b: number) => number;
  /** LaTeX of the op given its arguments' LaTeX (already bracketed where the op needs it). */
  readonly latex: (a: string, b: string) => string;
}

const protect = (x: number) => Math.max(Math.abs(x), PROTECT_EPS);

export const OPS: Readonly<Record<Op, OpSpec>> = {
  add: {
    arity: 2,
    symbol: "+",
    precedence: 1,
    commutative: true,
    apply: (a, b) => a + b,
    latex: (a, b) => `${a} + ${b}`,
  },
  sub: {
    arity: 2,
    symbol: "-",
    precedence: 1,
    commutative: false,
    apply: (a, b) => a - b,
    latex: (a, b) => `${a} - ${b}`,
  },
  mul: {
    arity: 2,
    symbol: "*",
    precedence: 2,
    commutative: true,
    apply: (a, b) => a * b,
    latex: (a, b) => `${a} \\cdot ${b}`,
  },
  // Analytic quotient: a smooth, everywhere-defined stand-in for a / b.
  div: {
    arity: 2,
    commutative: false,
    apply: (a, b) => a / Math.sqrt(1 + b * b),
    latex: (a, b) => `\\frac{${a}}{\\sqrt{1 + ${b}^{2}}}`,
  },
  min: {
    arity: 2,
    commutative: true,
    apply: (a, b) => Math.min(a, b),
    latex: (a, b) => `\\min\\left(${a}, ${b}\\right)`,
  },
  max: {
    arity: 2,
    commutative: true,
    apply: (a, b) => Math.max(a, b),
    latex: (a, b) => `\\max\\left(${a}, ${b}\\right)`,
  },
  // x * x rather than x ** 2: the canonical form rewrites mul(x, x) to square(x), which is then
  // bit-exact.
  square: {
    arity: 1,
    commutative: false,
    apply: (a) => a * a,
    latex: (a) => `${a}^{2}`,
  },
  abs: {
    arity: 1,
    commutative: false,
    apply: (a) => Math.abs(a),
    latex: (a) => `\\left|${a}\\right|`,
  },
  tanh: {
    arity: 1,
    commutative: false,
    apply: (a) => Math.tanh(a),
    latex: (a) => `\\tanh\\left(${a}\\right)`,
  },
  // Math.sign already gives sign(0) = 0 (and -0 for -0, numerically equal).
  sign: {
    arity: 1,
    commutative: false,
    apply: (a) => Math.sign(a),
    latex: (a) => `\\operatorname{sign}\\left(${a}\\right)`,
  },
  log: {
    arity: 1,
    commutative: false,
    apply: (a) => Math.log(protect(a)),
    latex: (a) => `\\log\\left|${a}\\right|`,
  },
  sqrt: {
    arity: 1,
    commutative: false,
    apply: (a) => Math.sqrt(protect(a)),
    latex: (a) => `\\sqrt{\\left|${a}\\right|}`,
  },
};

/** Ops in a fixed order (binary first), used wherever a deterministic order is needed. */
export const ALL_OPS: readonly Op[] = [...BINARY_OPS, ...UNARY_OPS];

/** Value of one op on scalars. */
export function applyOp(op: Op, a: number, b = 0): number {
  return OPS[op].apply(a, b);
}

/**
 * Value of `tree` at one point. With `phi` (one weight per node, prefix order), each node's
 * value is multiplied by its weight as it is passed to its parent; phi[0], the root's, is
 * unused. Without `phi` every weight is 1: the plain symbolic loss.
 */
export function evaluate(tree: Tree, y: number, fx: number, phi?: readonly number[]): number {
  if (phi !== undefined && phi.length !== tree.length) {
    throw new Error(`phi has ${phi.length} weights for a tree of ${tree.length} nodes`);
  }
  // Walk the prefix array backwards with a stack: each op finds its arguments on top,
  // first argument first, already weighted.
  const stack: number[] = [];
  for (let i = tree.length - 1; i >= 0; i--) {
    const node = tree[i];
    let value: number;
    if (typeof node === "number") value = node;
    else if (node === "y") value = y;
    else if (node === "fx") value = fx;
    else if (isOp(node)) {
      const a = stack.pop();
      const b = OPS[node].arity === 2 ? stack.pop() : 0;
      if (a === undefined || b === undefined) throw new Error("malformed prefix tree");
      value = OPS[node].apply(a, b);
    } else throw new Error(`unknown node ${JSON.stringify(node)}`);
    stack.push(i > 0 && phi !== undefined ? phi[i] * value : value);
  }
  if (stack.length !== 1) throw new Error("malformed prefix tree");
  return stack[0];
}
