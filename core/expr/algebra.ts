/**
 * The elementary operations the primitives are written in (core/expr/registry.ts), so that one
 * definition of a primitive has several meanings: plain numbers (the scalar reference,
 * core/expr/primitives.ts), tfjs tensors (the engine, engine/metaloss.ts) and source code (the
 * PyTorch and TensorFlow.js exports).
 *
 * Operands are T or plain numbers: a constant stays a JS number until the interpretation meets
 * it (a tf op takes it as it is, code prints it), so no kernel or temporary is spent on one.
 */

export interface Algebra<T> {
  add(a: T | number, b: T | number): T;
  sub(a: T | number, b: T | number): T;
  mul(a: T | number, b: T | number): T;
  div(a: T | number, b: T | number): T;
  /** a * a */
  square(a: T): T;
  sqrt(a: T): T;
  abs(a: T): T;
  tanh(a: T): T;
  /** -1, 0 or 1 */
  sign(a: T): T;
  log(a: T): T;
  maximum(a: T, b: T | number): T;
  minimum(a: T, b: T | number): T;
}

/** What derivatives need beyond values. The exports write values only (PyTorch and tfjs
 * differentiate them), so code algebras need not implement these. */
export interface DualAlgebra<T> extends Algebra<T> {
  neg(a: T): T;
  /** 1 where x > 0, else alpha (NaN stays NaN): tfjs's step, Abs's derivative with alpha -1. */
  step(x: T, alpha: number): T;
  /** 1 where a >= b, else 0. */
  greaterEqual(a: T, b: T | number): T;
  /** 1 where a <= b, else 0. */
  lessEqual(a: T, b: T | number): T;
}

/** A value and its derivative with respect to f(x), element-wise; null is a derivative of zero,
 * on which no operation is spent. */
export interface Dual<T> {
  readonly v: T;
  readonly d: T | null;
}

/** A primitive in forward mode: its value and derivative from its arguments' (a unary primitive
 * ignores b). With null derivatives it computes the value alone and must then use `Algebra`'s
 * operations only. */
export type Rule = <T>(A: DualAlgebra<T>, a: Dual<T>, b: Dual<T>) => Dual<T>;

/** d1 * s1 + d2 * s2 with absent terms skipped, and no product by an exact 1. */
export function combine<T>(
  A: DualAlgebra<T>,
  d1: T | null,
  s1: T | number,
  d2: T | null,
  s2: T | number,
): T | null {
  const term = (d: T | null, s: T | number) => d === null ? null : s === 1 ? d : A.mul(d, s);
  const [t1, t2] = [term(d1, s1), term(d2, s2)];
  if (t1 === null) return t2;
  return t2 === null ? t1 : A.add(t1, t2);
}

function derivativeOnly(name: string): never {
  throw new Error(`${name} is a derivative operation, reached on a value-only path`);
}

/** `A` completed with derivative operations that throw: for running rules on values alone. */
export function valuesOnly<T>(A: Algebra<T>): DualAlgebra<T> {
  return {
    ...A,
    neg: () => derivativeOnly("neg"),
    step: () => derivativeOnly("step"),
    greaterEqual: () => derivativeOnly("greaterEqual"),
    lessEqual: () => derivativeOnly("lessEqual"),
  };
}

/** The value of a rule on values alone. */
export function valueOf<T>(A: DualAlgebra<T>, rule: Rule, a: T, b: T): T {
  return rule(A, { v: a, d: null }, { v: b, d: null }).v;
}
