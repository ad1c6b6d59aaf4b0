/** One-point subtree crossover: list surgery on the flat prefix arrays (DEAP's cxOnePoint). */

import type { Rng } from "../rng.ts";
import { subtreeEnd, type Tree } from "../expr/tree.ts";

/**
 * Swap a random subtree of `a` with a random subtree of `b`, returning the two children.
 * Roots are never picked (swapping whole trees changes nothing), so a lone terminal cannot
 * take part: both are then returned unchanged, as copies.
 */
export function crossoverOnePoint(rng: Rng, a: Tree, b: Tree): [Tree, Tree] {
  if (a.length < 2 || b.length < 2) return [[...a], [...b]];
  const i = 1 + rng.int(a.length - 1);
  const j = 1 + rng.int(b.length - 1);
  const iEnd = subtreeEnd(a, i);
  const jEnd = subtreeEnd(b, j);
  return [
    [...a.slice(0, i), ...b.slice(j, jEnd), ...a.slice(iEnd)],
    [...b.slice(0, j), ...a.slice(i, iEnd), ...b.slice(jEnd)],
  ];
}
