/**
 * Random trees, as DEAP's genGrow / genFull / genHalfAndHalf draw them (the published code's
 * generators), so that initial populations have the published shape distribution.
 */

import type { Rng } from "../rng.ts";
import { ALL_OPS } from "../expr/primitives.ts";
import { arity, type Node, type Tree } from "../expr/tree.ts";

/** Leaves: the two inputs and the constants +1 and -1, drawn uniformly. */
export const TERMINALS: readonly Node[] = ["y", "fx", 1, -1];

/** DEAP's chance that `grow` stops at a node deeper than minHeight: terminals / all symbols. */
const TERMINAL_RATIO = TERMINALS.length / (TERMINALS.length + ALL_OPS.length);

export type GenerateMethod = "grow" | "full" | "half";

export interface GenerateOptions {
  minHeight: number;
  maxHeight: number;
  /** full: every leaf at the drawn height; grow: leaves anywhere from minHeight on;
   * half: grow or full with probability 1/2 each. */
  method: GenerateMethod;
}

/**
 * One random tree. Its height is first drawn uniformly in [minHeight, maxHeight]; `full` then
 * reaches it on every branch, `grow` may stop earlier (but never above minHeight).
 */
export function generate(rng: Rng, { minHeight, maxHeight, method }: GenerateOptions): Tree {
  if (!(Number.isInteger(minHeight) && minHeight >= 0 && maxHeight >= minHeight)) {
    throw new Error(`bad heights ${minHeight}..${maxHeight}`);
  }
  const full = method === "full" || (method === "half" && rng.next() < 0.5);
  const target = minHeight + rng.int(maxHeight - minHeight + 1);
  const out: Node[] = [];
  const grow = (depth: number) => {
    const leaf = depth === target ||
      (!full && depth >= minHeight && rng.next() < TERMINAL_RATIO);
    if (leaf) {
      out.push(rng.pick(TERMINALS));
      return;
    }
    const op = rng.pick(ALL_OPS);
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
): Tree[] {
  return Array.from({ length: n }, () => generate(rng, { minHeight, maxHeight, method: "half" }));
}
