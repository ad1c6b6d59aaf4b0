/**
 * Multi-fidelity fitness in the manner of asynchronous successive halving (ASHA), and the order
 * candidates are ranked in (docs/method.md, "A search objective that survives full training").
 *
 * Rungs are training lengths: `fitnessSteps`, then `factor` times longer each, up to the top
 * rung's `maxSteps` (the final training's length unless set). Every tuned candidate is measured
 * on rung 0. Promotion is decided from finished results only, at the end of each generation,
 * never by timing: on each rung r below the top, the best floor(n_r * fraction) of the n_r
 * candidates measured there (ranked by their rung-r fitness, then the tie-breaker, then arrival
 * order) that have not reached rung r + 1 are trained again at rung r + 1's length. Waves repeat
 * until no rung has a promotion due, so a candidate can climb several rungs in one generation,
 * and since n_r grows as generations add results, a candidate passed over once is promoted later
 * if it stays in its rung's top share (promotions span generations, as in ASHA). Everything the
 * rule reads is in the archive, which is plain JSON in the search state, so a search resumed from
 * a checkpoint promotes exactly as the uninterrupted one.
 */
import { compareResults, type RankOptions, type ResultRecord } from "./gp/hall_of_fame.ts";
import type { ArchiveEntry } from "./generation.ts";
import type { Settings } from "./settings.ts";

/** One rung's measurement of a candidate. */
export interface RungResult {
  steps: number;
  /** Validation metric; null where the training diverged or failed. */
  fitness: number | null;
  taskLoss?: number;
}

type FidelitySettings = Pick<Settings, "evaluation" | "final">;

/**
 * The training length of each rung, shortest first. A geometric rung within a factor sqrt(factor)
 * of the top one gives way to it, so the last step up is never a small one (500, 2,000, 10,000
 * rather than 500, 2,000, 8,000, 10,000).
 */
export function rungSteps(config: FidelitySettings): number[] {
  const base = config.evaluation.fitnessSteps;
  const mf = config.evaluation.multiFidelity;
  if (!mf?.enabled) return [base];
  const top = mf.maxSteps ?? config.final.steps;
  const out = [base];
  for (let next = base * mf.factor; next * Math.sqrt(mf.factor) <= top; next *= mf.factor) {
    out.push(next);
  }
  if (top > out[out.length - 1]) out.push(top);
  return out;
}

export const rankOptions = (config: FidelitySettings): RankOptions => ({
  tieBreak: config.evaluation.tieBreak ?? false,
});

/** A promotion due: the candidate (archive key) and the rung it is to be measured on. */
export interface Promotion {
  key: string;
  rung: number;
}

/** Share of n, with room for the rounding of fractions such as 1/3. */
const quota = (n: number, fraction: number) => Math.floor(n * fraction + 1e-9);

/**
 * The promotions due now, rung by rung (lowest first), each rung's in rank order: the ASHA rule
 * above, over the archive in its insertion order (generation, then population order).
 */
export function duePromotions(
  config: FidelitySettings,
  archive: Record<string, ArchiveEntry>,
): Promotion[] {
  const ladder = rungSteps(config);
  if (ladder.length < 2) return [];
  const opts = rankOptions(config);
  const measured = Object.entries(archive).filter(([, e]) => e.rungs?.length);
  const out: Promotion[] = [];
  for (let r = 0; r < ladder.length - 1; r++) {
    const members = measured
      .map(([key, e], order) => ({ key, e, order }))
      .filter(({ e }) => e.rungs!.length > r);
    const at = (e: ArchiveEntry): ResultRecord => e.rungs![r];
    members.sort((a, b) => compareResults(at(a.e), at(b.e), opts) || a.order - b.order);
    for (
      const { key, e } of members.slice(
        0,
        quota(members.length, config.evaluation.multiFidelity.fraction),
      )
    ) {
      if (e.rungs!.length === r + 1 && e.rungs![r].fitness !== null) out.push({ key, rung: r + 1 });
    }
  }
  return out;
}

/**
 * What tournament selection and elitism compare, for each individual (by archive key): the
 * fitness itself, or, with multi-fidelity or the tie-breaker, the individual's place in the
 * ranking order (equal places for ties), so that selection pursues the same objective as the
 * hall of fame. Lower is better; Infinity is worst.
 */
export function selectionScores(
  config: FidelitySettings,
  archive: Record<string, ArchiveEntry>,
  keys: readonly string[],
): number[] {
  const records = keys.map((k) => archive[k]);
  const plain = () => records.map((e) => e?.fitness ?? Infinity);
  if (!config.evaluation.multiFidelity?.enabled && !config.evaluation.tieBreak) return plain();
  const opts = rankOptions(config);
  const order = records.map((_, i) => i).sort((a, b) =>
    compareResults(records[a], records[b], opts)
  );
  const scores = new Array<number>(keys.length);
  let place = 0;
  order.forEach((i, j) => {
    if (j > 0 && compareResults(records[order[j - 1]], records[i], opts) !== 0) place = j;
    scores[i] = records[i].fitness === null ? Infinity : place;
  });
  return scores;
}
