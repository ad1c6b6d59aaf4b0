/**
 * Random trees, as DEAP's genGrow / genFull / genHalfAndHalf draw them (the published code's
 * generators), so that initial populations have the published shape distribution.
 */

import type { Rng } from "../rng.ts";
import { ALL_OPS } from "../expr/primitives.ts";
import { arity, type Node, type Op, type Tree } from "../expr/tree.ts";

/** Leaves: the two inputs and the constants +1 and -1, drawn uniformly. */
export const TERMINALS: readonly Node[] = ["y", "fx", 1, -1];

/** DEAP's chance that `grow` stops at a node deeper than minHeight: terminals / all symbols of
 * the primitive set in use. */
const terminalRatio = (ops: readonly Op[]) => TERMINALS.length / (TERMINALS.length + ops.length);

export type GenerateMethod = "grow" | "full" | "half";

export interface GenerateOptions {
  minHeight: number;
  maxHeight: number;
  /** full: every leaf at the drawn height; grow: leaves anywhere from minHeight on;
   * half: grow or full with probability 1/2 each. */
  method: GenerateMethod;
  /** The primitives to draw from (the `gp.primitives` setting); default all, in their order. */
  ops?: readonly Op[];
}

/**
 * One random tree. Its height is first drawn uniformly in [minHeight, maxHeight]; `full` then
 * reaches it on every branch, `grow` may stop earlier (but never above minHeight).
 */
export function generate(
  rng: Rng,
  { minHeight, maxHeight, method, ops = ALL_OPS }: GenerateOptions,
): Tree {
  if (!(Number.isInteger(minHeight) && minHeight >= 0 && maxHeight >= minHeight)) {
    throw new Error(`bad heights ${minHeight}..${maxHeight}`);
  }
  if (ops.length === 0) throw new Error("no primitives to build a tree from");
  const ratio = terminalRatio(ops);
  const full = method === "full" || (method === "half" && rng.next() < 0.5);
  const target = minHeight + rng.int(maxHeight - minHeight + 1);
  const out: Node[] = [];
  const grow = (depth: number) => {
    const leaf = depth === target ||
      (!full && depth >= minHeight && rng.next() < ratio);
    if (leaf) {
      out.push(rng.pick(TERMINALS));
      return;
    }
    const op = rng.pick(ops);
    out.push(op);
    for (let k = 0; k < arity(op); k++) grow(depth + 1);
  };
  grow(0);
  return out;
}

/** n trees, each grow or full with probability 1/2 and a height drawn in [minHeight,
 * maxHeight] (DEAP's reading of ramped half-and-half). Not yet repaired. */
export function rampedHalfAndHalf(
  rng: Rng,
  n: number,
  minHeight: number,
  maxHeight: number,
  ops: readonly Op[] = ALL_OPS,
): Tree[] {
  return Array.from(
    { length: n },
    () => generate(rng, { minHeight, maxHeight, method: "half", ops }),
  );
}
