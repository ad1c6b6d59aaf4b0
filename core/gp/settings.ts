/**
 * Every setting of the discrete search in one place, defaults as in method.md (which follows
 * the authors' public implementation). Nothing else in core/gp hard-codes these numbers.
 */

export interface GpSettings {
  populationSize: number;
  generations: number;
  /** Candidates per tournament; the one with the lowest fitness wins. */
  tournamentSize: number;
  /** Exactly one operator per offspring, drawn with these probabilities (sum 1). */
  crossoverProb: number;
  mutationProb: number;
  reproductionProb: number;
  /** Ramped half-and-half initialisation heights. */
  initMinHeight: number;
  initMaxHeight: number;
  /** An offspring taller than this is replaced by a copy of its parent. */
  maxHeight: number;
  /** Heights of the fresh subtree grafted by uniform mutation. */
  mutationMinHeight: number;
  mutationMaxHeight: number;
  /**
   * Best individuals of the current population copied unchanged into the next. The published
   * code declares an elitism rate but never applies it; we keep the single best, so the
   * population never loses its best loss (its fitness then comes free from the archive).
   * Set 0 for the published behaviour.
   */
  elites: number;
}

export const DEFAULT_GP_SETTINGS: Readonly<GpSettings> = Object.freeze({
  populationSize: 25,
  generations: 50,
  tournamentSize: 4,
  crossoverProb: 0.7,
  mutationProb: 0.25,
  reproductionProb: 0.05,
  initMinHeight: 2,
  initMaxHeight: 4,
  maxHeight: 10,
  mutationMinHeight: 0,
  mutationMaxHeight: 2,
  elites: 1,
});

/** Throws on settings no search could run with; returns them for chaining. */
export function validateGpSettings(s: GpSettings): GpSettings {
  const fail = (why: string) => {
    throw new Error(`invalid GP settings: ${why}`);
  };
  const isCount = (n: number) => Number.isInteger(n) && n >= 0;
  for (
    const key of [
      "populationSize",
      "generations",
      "tournamentSize",
      "initMinHeight",
      "initMaxHeight",
      "maxHeight",
      "mutationMinHeight",
      "mutationMaxHeight",
      "elites",
    ] as const
  ) {
    if (!isCount(s[key])) fail(`${key} must be a non-negative integer, got ${s[key]}`);
  }
  if (s.populationSize < 1) fail("populationSize must be at least 1");
  if (s.tournamentSize < 1) fail("tournamentSize must be at least 1");
  if (s.elites > s.populationSize) fail("elites exceeds populationSize");
  if (s.initMinHeight > s.initMaxHeight) fail("initMinHeight exceeds initMaxHeight");
  if (s.mutationMinHeight > s.mutationMaxHeight) {
    fail("mutationMinHeight exceeds mutationMaxHeight");
  }
  const probs = [s.crossoverProb, s.mutationProb, s.reproductionProb];
  if (probs.some((p) => !(p >= 0 && p <= 1))) fail("probabilities must lie in [0, 1]");
  const sum = probs.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-9) fail(`operator probabilities sum to ${sum}, not 1`);
  return s;
}
