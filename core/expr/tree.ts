/**
 * Expression trees of symbolic losses, stored flat in prefix order (as DEAP does): a subtree is
 * a contiguous slice, so crossover and mutation are array surgery.
 *
 * A node is an operator name, one of the two input terminals, or a numeric constant. The search
 * only creates the constants +1 and -1; other values appear only after constant folding in the
 * canonical form.
 */

import { type BinaryOp, type Op, OPS, type UnaryOp } from "./registry.ts";

export type { BinaryOp, Op, UnaryOp };

const NAMES = Object.keys(OPS) as Op[];
export const BINARY_OPS: readonly BinaryOp[] = NAMES.filter((op): op is BinaryOp =>
  OPS[op].arity === 2
);
export const UNARY_OPS: readonly UnaryOp[] = NAMES.filter((op): op is UnaryOp =>
  OPS[op].arity === 1
);

/** `y` is the target, `fx` the prediction f(x). */
export type InputTerminal = "y" | "fx";
export type Node = Op | InputTerminal | number;
/** A tree in prefix order. Treat as immutable: operators return new arrays. */
export type Tree = readonly Node[];

export function isOp(node: Node): node is Op {
  return typeof node === "string" && isOpName(node);
}

/** Narrow any string (e.g. parsed text) to an op name. Own keys only: `"toString" in OPS`
 * is true through the prototype. */
export function isOpName(name: string): name is Op {
  return Object.hasOwn(OPS, name);
}

export function arity(node: Node): 0 | 1 | 2 {
  return isOp(node) ? OPS[node].arity : 0;
}

/** Index one past the end of the subtree that starts at `start`. */
export function subtreeEnd(tree: Tree, start: number): number {
  let open = 1;
  let i = start;
  while (open > 0) {
    if (i >= tree.length) throw new Error("malformed prefix tree: ran out of nodes");
    open += arity(tree[i]) - 1;
    i++;
  }
  return i;
}

/** Indices of the children of the node at `index`, in order. */
export function children(tree: Tree, index: number): number[] {
  const out: number[] = [];
  let next = index + 1;
  for (let k = 0; k < arity(tree[index]); k++) {
    out.push(next);
    next = subtreeEnd(tree, next);
  }
  return out;
}

/** Height of a tree: a lone terminal has height 0. */
export function height(tree: Tree, start = 0): number {
  const kids = children(tree, start);
  return kids.length === 0 ? 0 : 1 + Math.max(...kids.map((k) => height(tree, k)));
}

export function isWellFormed(tree: Tree): boolean {
  if (tree.length === 0) return false;
  try {
    return subtreeEnd(tree, 0) === tree.length;
  } catch {
    return false;
  }
}
