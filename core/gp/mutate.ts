/** Uniform subtree mutation (DEAP's mutUniform). */

import type { Rng } from "../rng.ts";
import { type Op, subtreeEnd, type Tree } from "../expr/tree.ts";
import { generate, type GenerateMethod } from "./generate.ts";

export interface MutateOptions {
  minHeight: number;
  maxHeight: number;
  /** The published code grafts genHalfAndHalf subtrees. */
  method?: GenerateMethod;
  /** The primitives a graft is drawn from; default all. */
  ops?: readonly Op[];
}

/** Replace the subtree at a uniformly drawn node (the root included) by a fresh random one. */
export function mutateUniform(
  rng: Rng,
  tree: Tree,
  { minHeight, maxHeight, method = "half", ops }: MutateOptions,
): Tree {
  const i = rng.int(tree.length);
  const graft = generate(rng, { minHeight, maxHeight, method, ops });
  return [...tree.slice(0, i), ...graft, ...tree.slice(subtreeEnd(tree, i))];
}
