/**
 * The input constraint of method.md: a loss must depend on both y and f(x). Trees that miss
 * one are repaired, not rejected, as the published code does.
 */

import type { Rng } from "../rng.ts";
import { arity, type BinaryOp, type Tree } from "../expr/tree.ts";

const REPAIR_OPS: readonly BinaryOp[] = ["add", "sub", "mul", "div"];

export function hasBothInputs(tree: Tree): boolean {
  return tree.includes("y") && tree.includes("fx");
}

/**
 * Returns `tree` itself when it already holds both inputs. Otherwise replaces a random
 * terminal by op(y, f(x)) or op(f(x), y), op drawn from add, sub, mul, div. One replacement
 * always suffices, since it brings both inputs; the loop only states the postcondition.
 */
export function repair(rng: Rng, tree: Tree): Tree {
  let out = tree;
  while (!hasBothInputs(out)) {
    const leaves = out.flatMap((n, i) => arity(n) === 0 ? [i] : []);
    const at = rng.pick(leaves);
    const op = rng.pick(REPAIR_OPS);
    const args = rng.next() < 0.5 ? ["y", "fx"] as const : ["fx", "y"] as const;
    out = [...out.slice(0, at), op, ...args, ...out.slice(at + 1)];
  }
  return out;
}
