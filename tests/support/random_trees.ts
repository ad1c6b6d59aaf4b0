/** Random trees for property tests, richer in constants than the GP's own generator so that
 * the identities of the canonical form (x + 0, x * 1, ...) actually fire. */

import { Rng } from "../../core/rng.ts";
import { ALL_OPS } from "../../core/expr/primitives.ts";
import { arity, type Node, type Tree } from "../../core/expr/tree.ts";

const LEAVES: readonly Node[] = ["y", "fx", "y", "fx", 0, 1, -1, 2, 0.5, -3];

export function randomTree(rng: Rng, maxHeight: number, leaves = LEAVES): Tree {
  const out: Node[] = [];
  const grow = (depth: number) => {
    if (depth >= maxHeight || rng.next() < 0.15 + 0.1 * depth) {
      out.push(rng.pick(leaves));
      return;
    }
    const op = rng.pick(ALL_OPS);
    out.push(op);
    for (let k = 0; k < arity(op); k++) grow(depth + 1);
  };
  grow(0);
  return out;
}

/** `count` trees from one seed. */
export function randomTrees(seed: number, count: number, maxHeight: number): Tree[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => randomTree(rng, maxHeight));
}

/** Probe points: classification-like (one-hot y, probability fx) and regression-like. */
export const POINTS: readonly [number, number][] = [
  [0, 0.1],
  [1, 0.9],
  [1, 0],
  [0, 0],
  [-1.5, 2.25],
  [3, -0.7],
  [0.3, 0.3],
];

/** |a - b| within `rel` of the larger magnitude (with a floor of 1 near zero). */
export function close(a: number, b: number, rel = 1e-12): boolean {
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));
}
