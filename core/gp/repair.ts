/**
 * The input constraint of method.md: a loss must depend on both y and f(x). Trees that miss
 * one are repaired, not rejected, as the published code does.
 */

import type { Rng } from "../rng.ts";
import { arity, BINARY_OPS, type BinaryOp, type Op, type Tree } from "../expr/tree.ts";

const REPAIR_OPS: readonly BinaryOp[] = ["add", "sub", "mul", "div"];

/** The ops a repair draws from: add, sub, mul, div where the primitive set has them, else its
 * other binary primitives (a set has at least one, core/settings.ts checks). */
function repairOps(ops?: readonly Op[]): readonly Op[] {
  if (!ops) return REPAIR_OPS;
  const usual = REPAIR_OPS.filter((op) => ops.includes(op));
  if (usual.length) return usual;
  const binary = BINARY_OPS.filter((op) => ops.includes(op));
  if (!binary.length) throw new Error("no binary primitive to repair a tree with");
  return binary;
}

export function hasBothInputs(tree: Tree): boolean {
  return tree.includes("y") && tree.includes("fx");
}

/**
 * Returns `tree` itself when it already holds both inputs. Otherwise replaces a random
 * terminal by op(y, f(x)) or op(f(x), y), op drawn from add, sub, mul, div. One replacement
 * always suffices, since it brings both inputs; the loop only states the postcondition. With
 * `ops`, the primitive set in use, op is drawn from those of the four it has.
 */
export function repair(rng: Rng, tree: Tree, ops?: readonly Op[]): Tree {
  const drawFrom = repairOps(ops);
  let out = tree;
  while (!hasBothInputs(out)) {
    const leaves = out.flatMap((n, i) => arity(n) === 0 ? [i] : []);
    const at = rng.pick(leaves);
    const op = rng.pick(drawFrom);
    const args = rng.next() < 0.5 ? ["y", "fx"] as const : ["fx", "y"] as const;
    out = [...out.slice(0, at), op, ...args, ...out.slice(at + 1)];
  }
  return out;
}
