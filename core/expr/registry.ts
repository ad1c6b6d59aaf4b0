/**
 * The primitive set of method.md, in one place: each primitive's math, written once against an
 * algebra (core/expr/algebra.ts), and everything the rest of Lossmith shows of it. Op names,
 * arities, the scalar reference, the tensor engine with its derivatives, printing, parsing, the
 * exports and the tree chart all read this table, so adding a primitive is one entry here. Only
 * an elementary operation the algebra lacks (exp, say) also needs a line in each of its four
 * interpretations (numbers, tensors, PyTorch, tfjs); canonical.ts's simplifications are optional.
 *
 * The derivative rules follow tfjs's gradient conventions at ties and kinks (Maximum_grad,
 * Minimum_grad, Abs_grad, Sign_grad), so that the engine's written-out gradient is the one tfjs
 * autodiff gives (tests/loss_gradient.test.ts).
 */
import { combine, type Dual, type DualAlgebra, type Rule } from "./algebra.ts";

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
  /** LaTeX of the op given its arguments' LaTeX (already bracketed where the op needs it). */
  readonly latex: (a: string, b: string) => string;
  /** The argument `latex` puts a superscript on, bracketed unless it is an atom. */
  readonly superscript?: 0 | 1;
  /** `latex` delimits itself (|a|, a root), so it may carry a superscript unbracketed. */
  readonly delimited?: boolean;
  /** Text of the node in the tree chart. */
  readonly label: string;
  /** Definition on the arguments a (and b), element-wise, written into every export. */
  readonly words: string;
  /** The math: value and derivative with respect to f(x). */
  readonly rule: Rule;
}

/**
 * |a| floored at PROTECT_EPS (the protected log and sqrt) and that floor's derivative: tfjs's
 * Abs gives -1 at 0, and Maximum passes the derivative to its first argument on a tie, hence
 * where |a| >= EPS.
 */
function flooredAbs<T>(A: DualAlgebra<T>, a: Dual<T>): { m: T; dm: T | null } {
  const abs = A.abs(a.v);
  const m = A.maximum(abs, PROTECT_EPS);
  const dm = a.d === null
    ? null
    : A.mul(a.d, A.mul(A.step(a.v, -1), A.greaterEqual(abs, PROTECT_EPS)));
  return { m, dm };
}

/** min and max: the derivative goes to the first argument where `first` (a 0/1 mask) is 1, ties
 * included, as in tfjs. */
function select<T>(A: DualAlgebra<T>, v: T, first: T | null, a: Dual<T>, b: Dual<T>): Dual<T> {
  return {
    v,
    d: first === null ? null : combine(A, a.d, first, b.d, b.d === null ? 0 : A.sub(1, first)),
  };
}

// In prefix trees, in the GP's draws and in the canonical order, ops come binary first, each
// group in this order.
const DEFINITIONS = {
  add: {
    arity: 2,
    symbol: "+",
    precedence: 1,
    commutative: true,
    latex: (a, b) => `${a} + ${b}`,
    label: "+",
    words: "a + b",
    rule: (A, a, b) => ({ v: A.add(a.v, b.v), d: combine(A, a.d, 1, b.d, 1) }),
  },
  sub: {
    arity: 2,
    symbol: "-",
    precedence: 1,
    commutative: false,
    latex: (a, b) => `${a} - ${b}`,
    label: "−",
    words: "a - b",
    rule: (A, a, b) => ({ v: A.sub(a.v, b.v), d: combine(A, a.d, 1, b.d, -1) }),
  },
  mul: {
    arity: 2,
    symbol: "*",
    precedence: 2,
    commutative: true,
    latex: (a, b) => `${a} \\cdot ${b}`,
    label: "×",
    words: "a * b",
    rule: (A, a, b) => ({ v: A.mul(a.v, b.v), d: combine(A, a.d, b.v, b.d, a.v) }),
  },
  // Analytic quotient: a smooth, everywhere-defined stand-in for a / b.
  div: {
    arity: 2,
    commutative: false,
    latex: (a, b) => `\\frac{${a}}{\\sqrt{1 + ${b}^{2}}}`,
    superscript: 1,
    label: "div",
    words: "a / sqrt(1 + b^2), the analytic quotient, defined everywhere",
    rule: (A, a, b) => {
      const r = A.add(1, A.square(b.v));
      const s = A.sqrt(r);
      const v = A.div(a.v, s);
      // dv/da = 1 / s, dv/db = -a b / s^3 = -v b / r.
      const d = combine(
        A,
        a.d === null ? null : A.div(a.d, s),
        1,
        b.d,
        b.d === null ? 0 : A.neg(A.div(A.mul(v, b.v), r)),
      );
      return { v, d };
    },
  },
  min: {
    arity: 2,
    commutative: true,
    latex: (a, b) => `\\min\\left(${a}, ${b}\\right)`,
    label: "min",
    words: "the smaller of a and b",
    rule: (A, a, b) => {
      const first = a.d === null && b.d === null ? null : A.lessEqual(a.v, b.v);
      return select(A, A.minimum(a.v, b.v), first, a, b);
    },
  },
  max: {
    arity: 2,
    commutative: true,
    latex: (a, b) => `\\max\\left(${a}, ${b}\\right)`,
    label: "max",
    words: "the larger of a and b",
    rule: (A, a, b) => {
      const first = a.d === null && b.d === null ? null : A.greaterEqual(a.v, b.v);
      return select(A, A.maximum(a.v, b.v), first, a, b);
    },
  },
  square: {
    arity: 1,
    commutative: false,
    latex: (a) => `${a}^{2}`,
    superscript: 0,
    label: "square",
    words: "a * a",
    rule: (A, a) => ({
      v: A.square(a.v),
      d: a.d === null ? null : A.mul(a.d, A.mul(a.v, 2)),
    }),
  },
  abs: {
    arity: 1,
    commutative: false,
    latex: (a) => `\\left|${a}\\right|`,
    delimited: true,
    label: "|·|",
    words: "|a|",
    rule: (A, a) => ({
      v: A.abs(a.v),
      d: a.d === null ? null : A.mul(a.d, A.step(a.v, -1)),
    }),
  },
  tanh: {
    arity: 1,
    commutative: false,
    latex: (a) => `\\tanh\\left(${a}\\right)`,
    label: "tanh",
    words: "tanh(a)",
    rule: (A, a) => {
      const v = A.tanh(a.v);
      return { v, d: a.d === null ? null : A.mul(a.d, A.sub(1, A.square(v))) };
    },
  },
  sign: {
    arity: 1,
    commutative: false,
    latex: (a) => `\\operatorname{sign}\\left(${a}\\right)`,
    label: "sign",
    words: "-1, 0 or 1, with sign(0) = 0",
    rule: (A, a) => ({ v: A.sign(a.v), d: null }),
  },
  log: {
    arity: 1,
    commutative: false,
    latex: (a) => `\\log\\left|${a}\\right|`,
    label: "log",
    words: `log(max(|a|, ${PROTECT_EPS}))`,
    rule: (A, a) => {
      const { m, dm } = flooredAbs(A, a);
      return { v: A.log(m), d: dm === null ? null : A.div(dm, m) };
    },
  },
  sqrt: {
    arity: 1,
    commutative: false,
    latex: (a) => `\\sqrt{\\left|${a}\\right|}`,
    delimited: true,
    label: "sqrt",
    words: `sqrt(max(|a|, ${PROTECT_EPS}))`,
    rule: (A, a) => {
      const { m, dm } = flooredAbs(A, a);
      const v = A.sqrt(m);
      return { v, d: dm === null ? null : A.div(dm, A.mul(v, 2)) };
    },
  },
} satisfies Record<string, OpSpec>;

type Definitions = typeof DEFINITIONS;
export type Op = keyof Definitions;
export type BinaryOp = { [K in Op]: Definitions[K]["arity"] extends 2 ? K : never }[Op];
export type UnaryOp = Exclude<Op, BinaryOp>;

export const OPS: Readonly<Record<Op, OpSpec>> = DEFINITIONS;
