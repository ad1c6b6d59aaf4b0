/**
 * A canonical form of expression trees, the key of the symbolic archive: trees that are the
 * same function by rewrites below get the same key, e.g. add(y, fx) and add(fx, y).
 *
 * Every rewrite is exact in IEEE double arithmetic on finite inputs (the result is the same
 * number, bit for bit up to the sign of zero), so a canonical tree evaluates exactly as the
 * original wherever the original is finite. That rules out re-association, (a + b) + c to
 * a + (b + c), and merging constants across additions: both round differently. The one
 * rewrite that assumes finiteness is x * 0 -> 0 (and x - x -> 0), safe because every primitive
 * is finite on finite inputs.
 *
 * The form is computed bottom-up by a smart constructor (`make`) that only returns nodes in
 * normal form, hence canonicalize(canonicalize(t)) = canonicalize(t).
 *
 * A search on a subset of the primitives (`gp.primitives`) evaluates trees in a form restricted
 * to that subset: a rewrite that would bring in another primitive (x * x to square(x), x + x to
 * 2 * x, a negation as mul(-1, x)) is not made. The archive's key stays the unrestricted form,
 * which tells equal functions apart whatever primitives they are written with.
 */

import { ALL_OPS, applyOp, OPS } from "./primitives.ts";
import { toPrefix } from "./print.ts";
import { arity, isOp, type Node, type Op, type Tree } from "./tree.ts";

type Term = number | "y" | "fx" | { readonly op: Op; readonly args: readonly Term[] };

function fromTree(tree: Tree): Term {
  let at = 0;
  const read = (): Term => {
    const n = tree[at++];
    if (n === undefined) throw new Error("malformed prefix tree: ran out of nodes");
    if (typeof n === "number") return n;
    if (n === "y" || n === "fx") return n;
    if (!isOp(n)) throw new Error(`unknown node ${JSON.stringify(n)}`);
    const args: Term[] = [];
    for (let k = 0; k < arity(n); k++) args.push(read());
    return make(n, args);
  };
  const term = read();
  if (at !== tree.length) throw new Error("malformed prefix tree: nodes left over");
  return term;
}

function toTree(term: Term, out: Node[] = []): Node[] {
  if (typeof term === "object") {
    out.push(term.op);
    for (const a of term.args) toTree(a, out);
  } else out.push(term);
  return out;
}

const rank = (t: Term) => typeof t === "number" ? 0 : t === "y" ? 1 : t === "fx" ? 2 : 3;

/** Total order on terms: numbers (by value) < y < fx < ops (by op, then arguments). Putting
 * constants first makes products read as coefficients: `2 * y`. */
function compareTerms(a: Term, b: Term): number {
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a !== "object" || typeof b !== "object") return 0;
  const o = ALL_OPS.indexOf(a.op) - ALL_OPS.indexOf(b.op);
  if (o !== 0) return o;
  for (let k = 0; k < a.args.length; k++) {
    const c = compareTerms(a.args[k], b.args[k]);
    if (c !== 0) return c;
  }
  return 0;
}

const same = (a: Term, b: Term) => compareTerms(a, b) === 0;
const call = (t: Term, op: Op) => typeof t === "object" && t.op === op ? t.args : undefined;
/** z when t is mul(-1, z), the canonical negation. */
const negated = (t: Term) => {
  const args = call(t, "mul");
  return args !== undefined && args[0] === -1 ? args[1] : undefined;
};
const neg = (t: Term) => make("mul", [-1, t]);

/** The primitives a restricted canonical form may use (set while `canonicalize` runs). */
let allowed: ReadonlySet<Op> | undefined;

/** Whether a term uses only allowed primitives. */
function within(t: Term): boolean {
  return typeof t !== "object" || (allowed!.has(t.op) && t.args.every(within));
}

/** Normal form of op(args), given arguments already in normal form. */
function make(op: Op, args: readonly Term[]): Term {
  if (allowed) {
    const t = unrestricted(op, args);
    return within(t) ? t : { op, args: sorted(op, args) };
  }
  return unrestricted(op, args);
}

function sorted(op: Op, args: readonly Term[]): readonly Term[] {
  return OPS[op].commutative && compareTerms(args[0], args[1]) > 0 ? [args[1], args[0]] : args;
}

function unrestricted(op: Op, args: readonly Term[]): Term {
  if (OPS[op].commutative && compareTerms(args[0], args[1]) > 0) args = [args[1], args[0]];
  if (args.every((a) => typeof a === "number")) {
    const v = applyOp(op, args[0] as number, (args[1] ?? 0) as number);
    // Overflowed constants stay unfolded: Infinity has no place in a tree or its key.
    if (Number.isFinite(v)) return v === 0 ? 0 : v; // -0 -> 0: one key per value
  }
  return rewrite(op, args) ?? { op, args };
}

/** One exact identity applicable at the top of op(args), already rebuilt in normal form, or
 * undefined when none applies. Commutative arguments arrive sorted (a constant first). */
function rewrite(op: Op, [a, b]: readonly Term[]): Term | undefined {
  switch (op) {
    case "add": {
      if (a === 0) return b;
      if (same(a, b)) return make("mul", [2, a]); // x + x = 2x exactly
      const nb = negated(b);
      if (nb !== undefined) return make("sub", [a, nb]);
      const na = negated(a);
      if (na !== undefined) return make("sub", [b, na]);
      return undefined;
    }
    case "sub": {
      if (b === 0) return a;
      if (a === 0) return neg(b);
      if (same(a, b)) return 0;
      if (typeof b === "number") return make("add", [a, -b]); // x - c = x + (-c) exactly
      const nb = negated(b);
      if (nb !== undefined) return make("add", [a, nb]);
      return undefined;
    }
    case "mul": {
      if (a === 0) return 0;
      if (a === 1) return b;
      if (same(a, b)) return make("square", [a]);
      if (typeof a === "number") {
        // Sign flips are exact, so -1 moves through constants and differences.
        const nb = negated(b);
        if (nb !== undefined) return make("mul", [-a, nb]);
        const inner = call(b, "mul");
        if (a === -1 && inner !== undefined && typeof inner[0] === "number") {
          return make("mul", [-inner[0], inner[1]]);
        }
        const diff = call(b, "sub");
        if (a === -1 && diff !== undefined) return make("sub", [diff[1], diff[0]]);
        return undefined;
      }
      // (-p) q = p (-q) = -(p q): pull the negation out front.
      const na = negated(a);
      if (na !== undefined) return neg(make("mul", [na, b]));
      const nb = negated(b);
      if (nb !== undefined) return neg(make("mul", [a, nb]));
      return undefined;
    }
    case "div": {
      if (b === 0) return a; // sqrt(1 + 0) = 1
      if (a === 0) return 0;
      // Only b^2 matters in the denominator.
      const nb = negated(b) ?? call(b, "abs")?.[0];
      if (nb !== undefined) return make("div", [a, nb]);
      const na = negated(a);
      if (na !== undefined) return neg(make("div", [na, b]));
      return undefined;
    }
    case "min":
    case "max":
      return same(a, b) ? a : undefined;
    case "square": {
      const z = negated(a) ?? call(a, "abs")?.[0];
      return z === undefined ? undefined : make("square", [z]);
    }
    case "abs": {
      if (typeof a === "object" && (a.op === "abs" || a.op === "square" || a.op === "sqrt")) {
        return a; // already non-negative
      }
      const z = negated(a);
      return z === undefined ? undefined : make("abs", [z]);
    }
    case "log":
    case "sqrt": {
      // Both act on |x|.
      const z = negated(a) ?? call(a, "abs")?.[0];
      return z === undefined ? undefined : make(op, [z]);
    }
    case "sign": {
      if (call(a, "sign") !== undefined) return a;
      if (call(a, "sqrt") !== undefined) return 1; // sqrt(max(|x|, 1e-7)) > 0
      // tanh keeps the sign and never rounds a non-zero to zero.
      const t = call(a, "tanh")?.[0];
      if (t !== undefined) return make("sign", [t]);
      const z = negated(a);
      return z === undefined ? undefined : neg(make("sign", [z]));
    }
    case "tanh":
      return undefined;
  }
}

/**
 * The canonical form of a tree: same value wherever the tree is finite. With `ops`, the form
 * uses no primitive outside them that the tree does not already use (see above).
 */
export function canonicalize(tree: Tree, ops?: readonly Op[]): Tree {
  const restrict = ops !== undefined && ALL_OPS.some((op) => !ops.includes(op));
  if (!restrict) return toTree(fromTree(tree));
  allowed = new Set([...ops, ...tree.filter(isOp)]);
  try {
    return toTree(fromTree(tree));
  } finally {
    allowed = undefined;
  }
}

/** Archive key: the prefix string of the canonical form. */
export function canonicalKey(tree: Tree): string {
  return toPrefix(canonicalize(tree));
}
