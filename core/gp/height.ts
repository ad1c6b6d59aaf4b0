/** Static height limit (DEAP's staticLimit): bloat control by falling back to the parent. */

import { height, type Tree } from "../expr/tree.ts";

/** `child` if its height is at most `max`, else a copy of `parent`. */
export function limitHeight(child: Tree, parent: Tree, max = 10): Tree {
  return height(child) <= max ? child : [...parent];
}
