/** Tournament selection on a minimised fitness. */

import type { Rng } from "../rng.ts";

/** NaN never wins: it counts as the worst possible fitness. */
const score = (f: number) => Number.isNaN(f) ? Infinity : f;

/**
 * Index of the winner among k entrants drawn uniformly with replacement (as DEAP's
 * selTournament): the lowest fitness; on a tie, the first drawn.
 */
export function tournament(rng: Rng, fitnesses: readonly number[], k = 4): number {
  if (fitnesses.length === 0) throw new Error("tournament over an empty population");
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`tournament size must be >= 1, got ${k}`);
  let best = rng.int(fitnesses.length);
  for (let i = 1; i < k; i++) {
    const j = rng.int(fitnesses.length);
    if (score(fitnesses[j]) < score(fitnesses[best])) best = j;
  }
  return best;
}
