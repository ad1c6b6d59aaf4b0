/**
 * One generation of variation, composed from the small operators: elitism, tournament
 * selection, then exactly one operator per offspring (DEAP's varOr, as the published code),
 * then repair and height control.
 */

import type { Rng } from "../rng.ts";
import type { Tree } from "../expr/tree.ts";
import { crossoverOnePoint } from "./crossover.ts";
import { rampedHalfAndHalf } from "./generate.ts";
import { limitHeight } from "./height.ts";
import { mutateUniform } from "./mutate.ts";
import { repair } from "./repair.ts";
import { tournament } from "./select.ts";
import { defaultSettings, type GpSettings } from "../settings.ts";

/** The method's GP settings, for callers that vary none. */
export const DEFAULT_GP_SETTINGS: Readonly<GpSettings> = Object.freeze(defaultSettings().gp);

/** The initial population of `size`: ramped half-and-half, repaired. */
export function initialPopulation(
  rng: Rng,
  size: number,
  settings:
    & Pick<GpSettings, "initMinHeight" | "initMaxHeight">
    & Partial<Pick<GpSettings, "primitives">> = DEFAULT_GP_SETTINGS,
): Tree[] {
  const { initMinHeight, initMaxHeight, primitives } = settings;
  return rampedHalfAndHalf(rng, size, initMinHeight, initMaxHeight, primitives)
    .map((t) => repair(rng, t, primitives));
}

/** Indices of the `count` best individuals, NaN last, ties by position. */
function bestIndices(fitnesses: readonly number[], count: number): number[] {
  const score = (i: number) => Number.isNaN(fitnesses[i]) ? Infinity : fitnesses[i];
  return fitnesses.map((_, i) => i).sort((a, b) => score(a) - score(b) || a - b).slice(0, count);
}

/**
 * The next population, of the same size. Parents are assumed valid (both inputs present,
 * height within `maxHeight`), as every population this module produces is; each offspring then
 * is too, because an offspring that grows too tall falls back to a copy of its parent.
 *
 * Crossover keeps the first child only, and its partner is drawn among the selected parents,
 * as in the published code: each offspring thus has one parent for height control, and the
 * operator probabilities hold per offspring.
 */
export function vary(
  rng: Rng,
  population: readonly Tree[],
  fitnesses: readonly number[],
  settings: GpSettings = DEFAULT_GP_SETTINGS,
): Tree[] {
  if (population.length !== fitnesses.length) {
    throw new Error("population and fitnesses differ in length");
  }
  const n = population.length;
  const elites = Math.min(settings.elites, n);
  const next: Tree[] = bestIndices(fitnesses, elites).map((i) => [...population[i]]);
  const selected = Array.from(
    { length: n - elites },
    () => tournament(rng, fitnesses, settings.tournamentSize),
  );
  for (const s of selected) {
    const parent = population[s];
    const r = rng.next();
    let child: Tree;
    if (r < settings.crossoverProb) {
      child = crossoverOnePoint(rng, parent, population[rng.pick(selected)])[0];
    } else if (r < settings.crossoverProb + settings.mutationProb) {
      child = mutateUniform(rng, parent, {
        minHeight: settings.mutationMinHeight,
        maxHeight: settings.mutationMaxHeight,
        ops: settings.primitives,
      });
    } else {
      child = [...parent];
    }
    next.push(limitHeight(repair(rng, child, settings.primitives), parent, settings.maxHeight));
  }
  return next;
}
