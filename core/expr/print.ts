/**
 * Printing trees for people (infix, LaTeX) and for keys and logs (prefix).
 *
 * Infix output is exactly what `parseInfix` reads back. Parentheses are minimal under the usual
 * precedence with left-associative + - *: a right operand of equal precedence is bracketed, so
 * `y - (f(x) - 1)` and `y + (f(x) + 1)` keep their tree shape on a round trip.
 */

import { OPS, type OpSpec } from "./primitives.ts";
import { children, isOp, type Tree } from "./tree.ts";

export interface PrintOptions {
  /** Significant digits of the weights shown as coefficients (default 3). */
  digits?: number;
}

// Binding strengths of printed pieces; sums (1) and products (2) take theirs from OPS. COEFF is
// a weight times a term, `0.5*y`: printed tight, it binds more than a spaced product, so
// `y * 0.5*f(x)` needs no brackets. ATOM is what a LaTeX superscript may follow unbracketed.
const PRODUCT = 2;
const COEFF = 2.5;
const CALL = 3;
const ATOM = 4;

interface Piece {
  text: string;
  prec: number;
  /** Starts with a minus sign: must be bracketed anywhere but at the very front. */
  neg: boolean;
}

interface Dialect {
  terminal(node: "y" | "fx"): string;
  number(n: number): string;
  paren(text: string): string;
  coefficient(weight: string, term: string): string;
  infix(spec: OpSpec, left: string, right: string): string;
  /** Text of a non-infix op and its binding strength. */
  call(op: string, spec: OpSpec, args: Piece[], paren: (p: Piece) => Piece): Piece;
}

const TEXT: Dialect = {
  terminal: (node) => node === "y" ? "y" : "f(x)",
  number: (n) => String(n),
  paren: (text) => `(${text})`,
  coefficient: (weight, term) => `${weight}*${term}`,
  infix: (spec, left, right) => `${left} ${spec.symbol} ${right}`,
  call: (op, _spec, args) => ({
    text: `${op}(${args.map((a) => a.text).join(", ")})`,
    prec: CALL,
    neg: false,
  }),
};

function latexNumber(n: number): string {
  const [mantissa, exponent] = String(n).split("e");
  return exponent === undefined ? mantissa : `${mantissa} \\times 10^{${Number(exponent)}}`;
}

const LATEX: Dialect = {
  terminal: (node) => node === "y" ? "y" : "f(x)",
  number: latexNumber,
  paren: (text) => `\\left(${text}\\right)`,
  // A thin space reads as multiplication before a letter; before a digit or sign it would not.
  coefficient: (weight, term) =>
    /^[\d.-]/.test(term) || term.startsWith("\\left(")
      ? `${weight} \\cdot ${term}`
      : `${weight}\\,${term}`,
  infix: (spec, left, right) => spec.latex(left, right),
  call: (_op, spec, args, paren) => {
    // A superscript (square's, div's denominator's) needs a bracketed base unless it is an atom.
    const base = (p: Piece) => p.prec >= ATOM && !p.neg ? p : paren(p);
    const [a, b] = args.map((p, k) => k === spec.superscript ? base(p) : p);
    // Self-delimited forms may carry a superscript as they are.
    return {
      text: spec.latex(a.text, b?.text ?? ""),
      prec: spec.delimited ? ATOM : CALL,
      neg: false,
    };
  },
};

function roundWeight(w: number, digits: number): number {
  return Number(w.toPrecision(digits));
}

function render(tree: Tree, dialect: Dialect, phi: readonly number[] | undefined, digits: number) {
  if (phi !== undefined && phi.length !== tree.length) {
    throw new Error(`phi has ${phi.length} weights for a tree of ${tree.length} nodes`);
  }
  const paren = (p: Piece): Piece => ({ text: dialect.paren(p.text), prec: ATOM, neg: false });

  // A node as its parent sees it: with its weight as a coefficient unless that rounds to 1.
  const weighted = (i: number): Piece => {
    const piece = node(i);
    if (phi === undefined || i === 0) return piece;
    const w = roundWeight(phi[i], digits);
    if (w === 1) return piece;
    const term = piece.prec < PRODUCT || piece.neg ? paren(piece) : piece;
    return {
      text: dialect.coefficient(dialect.number(w), term.text),
      prec: COEFF,
      neg: w < 0 || Object.is(w, -0),
    };
  };

  const node = (i: number): Piece => {
    const n = tree[i];
    if (typeof n === "number") {
      // LaTeX writes 1e-7 as a product, `1 \times 10^{-7}`, which binds like one. With weights
      // the formula is approximate anyway: folded constants are rounded like the weights.
      const text = dialect.number(phi === undefined ? n : roundWeight(n, digits));
      return { text, prec: text.includes(" ") ? PRODUCT : ATOM, neg: n < 0 || Object.is(n, -0) };
    }
    if (n === "y" || n === "fx") return { text: dialect.terminal(n), prec: ATOM, neg: false };
    if (!isOp(n)) throw new Error(`unknown node ${JSON.stringify(n)}`);
    const spec = OPS[n];
    const args = children(tree, i).map(weighted);
    if (spec.symbol === undefined || spec.precedence === undefined) {
      return dialect.call(n, spec, args, paren);
    }
    const p = spec.precedence;
    const left = args[0].prec < p ? paren(args[0]) : args[0];
    const right = args[1].prec <= p || args[1].neg ? paren(args[1]) : args[1];
    return { text: dialect.infix(spec, left.text, right.text), prec: p, neg: left.neg };
  };

  return node(0).text;
}

/** Readable infix, e.g. `square(y - f(x))`; with `phi`, weights other than 1 appear as
 * coefficients rounded to `digits` significant digits, e.g. `0.982*y - f(x)`. */
export function toInfix(tree: Tree, phi?: readonly number[], options: PrintOptions = {}): string {
  return render(tree, TEXT, phi, options.digits ?? 3);
}

/** LaTeX, e.g. `\frac{y}{\sqrt{1 + f(x)^{2}}}` for div(y, fx). */
export function toLatex(tree: Tree, phi?: readonly number[], options: PrintOptions = {}): string {
  return render(tree, LATEX, phi, options.digits ?? 3);
}

/** Prefix form, e.g. `add(y, fx)`: one spelling per tree, used in logs and as a key. */
export function toPrefix(tree: Tree): string {
  const node = (i: number): string => {
    const n = tree[i];
    if (!isOp(n)) return String(n);
    return `${n}(${children(tree, i).map(node).join(", ")})`;
  };
  return node(0);
}
