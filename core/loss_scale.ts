/**
 * A loss with its scale folded in, as one tree: `mul(s, L)`. Scale normalisation
 * (`evaluation.normalizeScale`, docs/method.md) multiplies a tuned loss by a constant; the
 * engine trains and validates the folded tree, and the ranking, the final comparison and every
 * export use the same tree, so an exported loss computes what was validated, scale included.
 */
import type { Tree } from "./expr/tree.ts";

/** A tree and its weights, one per node (phi[0], the root's, unused). */
export interface WeightedTree {
  tree: Tree;
  phi: number[];
}

/**
 * `mul(s, L)` with L's weights: the constant and L's root enter with weight 1 (L's own root
 * weight was unused, and now sits on an edge), so the value is exactly s times L's. The scale
 * is a float32, the precision the engine computes with and the exports write.
 */
export function foldScale(tree: Tree, phi: readonly number[], scale: number): WeightedTree {
  if (phi.length !== tree.length) {
    throw new Error(`phi has ${phi.length} weights for a tree of ${tree.length} nodes`);
  }
  const s = Math.fround(scale);
  if (!(Number.isFinite(s) && s > 0)) throw new Error(`a loss scale must be > 0, got ${scale}`);
  return { tree: ["mul", s, ...tree], phi: [1, 1, 1, ...phi.slice(1)] };
}

/** The loss as validated: folded where it was scaled, as it is otherwise. */
export function validatedLoss(
  e: { tree: Tree; phi?: readonly number[]; scale?: number },
): WeightedTree {
  const phi = e.phi ? [...e.phi] : e.tree.map(() => 1);
  return e.scale === undefined ? { tree: [...e.tree], phi } : foldScale(e.tree, phi, e.scale);
}
