/**
 * A learned loss made readable: its weights folded into one expression with numeric
 * coefficients, `1.358*(0.671 + 1.349*(-1.343 - 0.9*(y*f(x))))` becoming `-1.649 * y * f(x) - 1.549`.
 *
 * The weighted tree is rewritten into a sum of terms, each a coefficient times a product of
 * factors (y, f(x), and calls of the other primitives on simplified arguments). Only rewrites
 * that keep the loss's values are used: products distribute over sums, like terms are collected,
 * constants fold through the primitives' own definitions (core/expr/registry.ts), and a few exact
 * symmetries of the protected primitives (log and sqrt act on |x|, the analytic quotient on x²;
 * tanh is odd). No identity that holds only for the unprotected function (log(ab) = log a + log b,
 * say) is ever applied. The result is a plain tree, evaluated and printed by the same code as any
 * loss; tests/expr_simplify.test.ts checks its values against the weighted tree at random points,
 * and bench/simplify.ts measures it against mathjs's simplify.
 */
import { applyOp } from "./primitives.ts";
import { toInfix, toLatex } from "./print.ts";
import { children, isOp, type Node, type Op, type Tree } from "./tree.ts";

/** A product of sums larger than this stays a product of bracketed sums: expanding it would
 * make the formula longer, not more readable. */
const MAX_EXPANDED_TERMS = 12;

/** Relative size under which a collected coefficient is rounding noise (see `collect`). */
const CANCELLED = 1e-12;

type Atom =
  | { kind: "input"; name: "y" | "fx" }
  /** An opaque primitive on simplified arguments. */
  | { kind: "call"; op: Op; args: Poly[] }
  /** 1 / sqrt(1 + a²): the analytic quotient's denominator, a factor of its own so that
   * quotients multiply and collect like any term. */
  | { kind: "quotient"; arg: Poly }
  /** A sum kept whole inside a product (see MAX_EXPANDED_TERMS). */
  | { kind: "group"; poly: Poly };

interface Factor {
  atom: Atom;
  key: string;
  power: number;
}

interface Term {
  coef: number;
  /** Sorted by key, each key once. */
  factors: Factor[];
  key: string;
}

/** A sum of terms with distinct monomials, none with a zero coefficient. */
type Poly = Term[];

const polyKey = (p: Poly): string => p.map((t) => `${t.coef}*${t.key}`).join("+");

function atomKey(a: Atom): string {
  switch (a.kind) {
    case "input":
      return a.name;
    case "call":
      return `${a.op}(${a.args.map(polyKey).join(",")})`;
    case "quotient":
      return `q(${polyKey(a.arg)})`;
    case "group":
      return `(${polyKey(a.poly)})`;
  }
}

const monomialKey = (factors: Factor[]) =>
  factors.map((f) => (f.power === 1 ? f.key : `${f.key}^${f.power}`)).join("*");

function term(coef: number, factors: Factor[]): Term {
  return { coef, factors, key: monomialKey(factors) };
}

function constant(c: number): Poly {
  return c === 0 ? [] : [term(c, [])];
}

function atom(a: Atom): Poly {
  return [term(1, [{ atom: a, key: atomKey(a), power: 1 }])];
}

/** The constant a poly is, if it is one. */
function constantOf(p: Poly): number | undefined {
  if (p.length === 0) return 0;
  return p.length === 1 && p[0].factors.length === 0 ? p[0].coef : undefined;
}

/** Reading order of factors: y, f(x), then the rest by key. */
function factorOrder(a: Factor, b: Factor): number {
  const rank = (f: Factor) => f.key === "y" ? 0 : f.key === "fx" ? 1 : 2;
  return rank(a) - rank(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

const degree = (t: Term) => t.factors.reduce((d, f) => d + f.power, 0);

/** Reading order of terms: higher degree first, then by factors; the constant last. */
function termOrder(a: Term, b: Term): number {
  const d = degree(b) - degree(a);
  if (d !== 0) return d;
  for (let k = 0; k < Math.min(a.factors.length, b.factors.length); k++) {
    const c = factorOrder(a.factors[k], b.factors[k]) ||
      b.factors[k].power - a.factors[k].power;
    if (c !== 0) return c;
  }
  return a.factors.length - b.factors.length;
}

function normalize(terms: Map<string, Term>): Poly {
  return [...terms.values()].filter((t) => t.coef !== 0).sort(termOrder);
}

function add(p: Poly, q: Poly): Poly {
  const terms = new Map<string, Term>();
  for (const t of [...p, ...q]) {
    const same = terms.get(t.key);
    terms.set(t.key, same ? { ...same, coef: collect(same.coef, t.coef) } : t);
  }
  return normalize(terms);
}

/** a + b, or 0 when they cancel but for rounding: a term of 1e-17 y is the weights' rounding
 * noise, and dropping it changes the value by less than that. */
function collect(a: number, b: number): number {
  const s = a + b;
  return Math.abs(s) <= CANCELLED * Math.max(Math.abs(a), Math.abs(b)) ? 0 : s;
}

function scale(p: Poly, c: number): Poly {
  return c === 0 ? [] : p.map((t) => ({ ...t, coef: c * t.coef }));
}

function mulTerms(a: Term, b: Term): Term {
  const byKey = new Map<string, Factor>();
  for (const f of [...a.factors, ...b.factors]) {
    const same = byKey.get(f.key);
    byKey.set(f.key, same ? { ...same, power: same.power + f.power } : f);
  }
  const factors = [...byKey.values()].sort(factorOrder);
  return term(a.coef * b.coef, factors);
}

function mul(p: Poly, q: Poly): Poly {
  if (p.length * q.length > MAX_EXPANDED_TERMS) {
    const whole = (s: Poly) => (s.length > 1 ? atom({ kind: "group", poly: s }) : s);
    [p, q] = [whole(p), whole(q)];
  }
  const terms = new Map<string, Term>();
  for (const a of p) {
    for (const b of q) {
      const t = mulTerms(a, b);
      const same = terms.get(t.key);
      terms.set(t.key, same ? { ...same, coef: collect(same.coef, t.coef) } : t);
    }
  }
  return normalize(terms);
}

/** p with its first coefficient made positive: functions of |p| (or of p²) then meet their
 * equal arguments under one key. */
function positive(p: Poly): { p: Poly } {
  return { p: p.length && p[0].coef < 0 ? scale(p, -1) : p };
}

function call(op: Op, args: Poly[]): Poly {
  const values = args.map(constantOf);
  if (values.every((v) => v !== undefined)) {
    const v = applyOp(op, values[0]!, values[1] ?? 0);
    // An overflowed constant stays unfolded, as in the canonical form.
    if (Number.isFinite(v)) return constant(v);
  }
  const [a, b] = args;
  switch (op) {
    case "add":
      return add(a, b);
    case "sub":
      return add(a, scale(b, -1));
    case "mul":
      return mul(a, b);
    case "square":
      return mul(a, a);
    case "div": {
      const c = values[1];
      // a / sqrt(1 + c²) is a coefficient when the denominator is constant.
      if (c !== undefined) return scale(a, applyOp("div", 1, c));
      return mul(a, atom({ kind: "quotient", arg: positive(b).p }));
    }
    case "abs":
    case "log":
    case "sqrt": {
      const { p } = positive(a);
      // |c m| = |c| |m|: a lone term's coefficient leaves the absolute value.
      if (op === "abs" && p.length === 1) {
        return scale(atom({ kind: "call", op, args: [[{ ...p[0], coef: 1 }]] }), p[0].coef);
      }
      return atom({ kind: "call", op, args: [p] });
    }
    case "sign":
      // sign(c m) = sign(c) sign(m).
      if (a.length === 1) {
        return scale(
          atom({ kind: "call", op, args: [[{ ...a[0], coef: 1 }]] }),
          Math.sign(a[0].coef),
        );
      }
      return atom({ kind: "call", op, args: [a] });
    case "tanh":
      return atom({ kind: "call", op, args: [a] });
    case "min":
    case "max": {
      const sorted = polyKey(a) <= polyKey(b) ? [a, b] : [b, a];
      return atom({ kind: "call", op, args: sorted });
    }
  }
}

/** The weighted tree as a poly: each child's value times its weight on the way up. */
function fromTree(tree: Tree, phi: readonly number[] | undefined): Poly {
  const node = (i: number): Poly => {
    const n = tree[i];
    let p: Poly;
    if (typeof n === "number") p = constant(n);
    else if (n === "y" || n === "fx") p = atom({ kind: "input", name: n });
    else if (isOp(n)) p = call(n, children(tree, i).map(node));
    else throw new Error(`unknown node ${JSON.stringify(n)}`);
    return phi === undefined || i === 0 ? p : scale(p, phi[i]);
  };
  if (phi !== undefined && phi.length !== tree.length) {
    throw new Error(`phi has ${phi.length} weights for a tree of ${tree.length} nodes`);
  }
  return node(0);
}

// Back to a tree, so that the registry's printers and evaluators serve the simplified form too.

function atomTree(a: Atom): Node[] {
  switch (a.kind) {
    case "input":
      return [a.name];
    case "call":
      return [a.op, ...a.args.flatMap(polyTree)];
    case "group":
      return polyTree(a.poly);
    case "quotient":
      throw new Error("a quotient is written by its summand");
  }
}

function powerTree(base: Node[], power: number): Node[] {
  if (power === 1) return base;
  if (power === 2) return ["square", ...base];
  const half = powerTree(base, Math.floor(power / 2));
  const squared: Node[] = ["square", ...half];
  return power % 2 ? ["mul", ...squared, ...base] : squared;
}

const product = (parts: Node[][]): Node[] =>
  parts.reduce((acc, p) => (acc.length === 0 ? p : ["mul", ...acc, ...p]), [] as Node[]);

/** coef × the factors that are not quotients. */
function termTree(coef: number, factors: Factor[]): Node[] {
  const parts = factors.map((f) => powerTree(atomTree(f.atom), f.power));
  return coef === 1 && parts.length ? product(parts) : product([[coef], ...parts]);
}

const isQuotient = (f: Factor) => f.atom.kind === "quotient";

/** A summand: its magnitude's tree and whether it is subtracted; a lone term also as a signed
 * tree, which reads better at the front (`-0.5 * y`, not `-1 * (0.5 * y)`). */
interface Summand {
  negative: boolean;
  tree: Node[];
  signed?: Node[];
}

/** Terms that share their quotient factors are written as one quotient of their sum, so that
 * div(y - f(x), b) reads as written rather than as two fractions. */
function summands(p: Poly): Summand[] {
  const groups = new Map<string, { quotients: Factor[]; terms: Term[] }>();
  for (const t of p) {
    const quotients = t.factors.filter(isQuotient);
    const key = monomialKey(quotients);
    const rest = { ...t, factors: t.factors.filter((f) => !isQuotient(f)) };
    const group = groups.get(key) ?? { quotients, terms: [] };
    group.terms.push(rest);
    groups.set(key, group);
  }
  const single = (t: Term): Summand => ({
    negative: t.coef < 0,
    tree: termTree(Math.abs(t.coef), t.factors),
    signed: termTree(t.coef, t.factors),
  });
  return [...groups.values()].flatMap(({ quotients, terms }) => {
    if (quotients.length === 0) return terms.map(single);
    const lone = terms.length === 1;
    let { negative, tree } = lone ? single(terms[0]) : { negative: false, tree: polyTree(terms) };
    for (const q of quotients) {
      const arg = polyTree((q.atom as Extract<Atom, { kind: "quotient" }>).arg);
      for (let k = 0; k < q.power; k++) tree = ["div", ...tree, ...arg];
    }
    return { negative, tree, signed: negative ? undefined : tree };
  });
}

function polyTree(p: Poly): Node[] {
  if (p.length === 0) return [0];
  const all = summands(p);
  // A positive summand first where there is one: `f(x) - y` rather than `-1 * y + f(x)`.
  const lead = Math.max(0, all.findIndex((s) => !s.negative));
  const [first, ...rest] = [all[lead], ...all.filter((_, i) => i !== lead)];
  let out = first.signed ?? product([[-1], first.tree]);
  for (const s of rest) out = [s.negative ? "sub" : "add", ...out, ...s.tree];
  return out;
}

/** The weighted loss as one expression with numeric coefficients: a tree with the same values. */
export function simplifyTree(tree: Tree, phi?: readonly number[]): Tree {
  return polyTree(fromTree(tree, phi));
}

export interface Simplified {
  /** Coefficients rounded to `digits` significant digits. */
  infix: string;
  latex: string;
}

/** The simplified loss printed for people (coefficients to 4 significant digits). */
export function simplified(tree: Tree, phi?: readonly number[], digits = 4): Simplified {
  const s = simplifyTree(tree, phi);
  // Weights of 1 print no coefficient; passing them makes the printers round the constants.
  const ones = s.map(() => 1);
  return { infix: toInfix(s, ones, { digits }), latex: toLatex(s, ones, { digits }) };
}
