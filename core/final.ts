/**
 * The final comparison of a learned loss with the standard loss: its settings, the training runs
 * it needs, and the comparison built from them (engine/final_runs.ts trains each run).
 *
 * Two rows. The paper's: both losses at the shared learning rate `evaluation.inner.lr`, as the
 * published comparison. The tuned one: each loss at its own best learning rate, chosen on the
 * validation split from `final.lrGrid` (and the shared rate), because multiplying a loss by a
 * constant acts as a larger learning rate: a learned loss has shown an advantage only if it keeps
 * it when the standard loss gets the learning rate that suits it. Every run of a seed starts from
 * that seed's initial weights and batches, whatever its loss and learning rate, so each row is a
 * paired comparison (core/paired.ts), and the verdict is the tuned row's where there is one. A
 * "better" there must also hold against the standard loss at the shared rate (`versusShared`):
 * the standard loss's rate is chosen on one seed's validation run and can be the worse of the two
 * at test, and a learned loss is better only if it beats the standard loss however we trained it.
 */
import type { InnerOptimizer, Settings } from "./settings.ts";
import type { Task } from "./data/dataset.ts";
import { type PairedTest, pairedTest } from "./paired.ts";

export interface MetricSummary {
  /** One test metric per seed; null where training diverged. */
  values: (number | null)[];
  mean: number | null;
  std: number | null;
  /** Test metric every `curveEvery` steps, averaged over the seeds that did not diverge. */
  curve: number[];
}

export type VerdictOutcome = "better" | "no-significant-difference" | "worse" | "undetermined";

/** One comparison over the seeds: both losses trained at the given learning rates. */
export interface ComparisonRow {
  lr: { learned: number; standard: number };
  learned: MetricSummary;
  standard: MetricSummary;
  /** learned.mean - standard.mean: negative means the learned loss did better. */
  difference: number | null;
  paired: PairedTest;
  outcome: VerdictOutcome;
}

/** How the tuned row's learning rates were chosen. */
export interface LrSelection {
  /** The grid, the shared rate and the rates past the grid's edge tried, ascending. */
  candidates: number[];
  /** Rates beyond the grid, tried because a loss's best trial was at its edge. */
  extended?: number[];
  /** Training steps of each trial, on the training split, from the first seed's weights. */
  steps: number;
  seed: number;
  /** Validation metric of each loss at each candidate; null where it diverged. */
  trials: { lr: number; learned: number | null; standard: number | null }[];
}

export interface Verdict {
  outcome: VerdictOutcome;
  /**
   * Which comparison decided: the tuned row where it ran, `versus-shared` where the tuned row's
   * win was not confirmed against the standard loss at the shared rate.
   */
  basis: "tuned" | "paper" | "versus-shared";
  significance: number;
  /** Anything but `better`: use the standard loss. */
  keepStandard: boolean;
  /** The verdict in one or two sentences, with the numbers behind it. */
  words: string;
}

/** The paper's row at the top level (as before the tuned row existed), the tuned row beside. */
export interface FinalComparison extends ComparisonRow {
  metric: "error rate" | "mse";
  steps: number;
  seeds: number[];
  curveEvery: number;
  significance: number;
  /** Absent when `final.tuneLr` is off, or in results made before it existed. */
  tuned?: ComparisonRow & {
    selection: LrSelection;
    /**
     * The learned loss at its own rate against the standard loss at the shared rate, from the
     * two rows' runs (absent in results made before it existed).
     */
    versusShared?: ComparisonRow;
  };
  verdict: Verdict;
}

export interface FinalSettings {
  steps: number;
  seeds: number;
  inner: InnerOptimizer;
  batchSize: number;
  /** Seeds used are baseSeed + 1000 * (1..seeds), away from the search's own seed. */
  baseSeed: number;
  tuneLr: boolean;
  lrGrid: number[];
  /** Rounds that extend the grid past its edge (absent: none, as before the setting). */
  lrExtend?: number;
  /** Steps of a learning-rate trial; absent, `steps`. */
  selectionSteps?: number;
  significance: number;
}

/** The final comparison's settings, from a search's. */
export function finalSettingsFor(
  config: Pick<Settings, "final" | "evaluation" | "seed">,
): FinalSettings {
  const { steps, seeds, tuneLr, lrGrid, lrExtend, selectionSteps, significance } = config.final;
  return {
    steps,
    seeds,
    inner: config.evaluation.inner,
    batchSize: config.evaluation.batchSize,
    baseSeed: config.seed,
    tuneLr,
    lrGrid,
    lrExtend,
    ...(selectionSteps === undefined ? {} : { selectionSteps }),
    significance,
  };
}

/**
 * The training steps the final comparison takes at most, run by run: the paper's row, the
 * learning-rate trials (every extension round adding a rate at both edges, the worst case), and a
 * tuned row at rates that differ from the shared one (runs the two rows share are trained once).
 */
export function finalRunSteps(settings: FinalSettings): number[] {
  const paper = rowRuns(settings, { learned: settings.inner.lr, standard: settings.inner.lr });
  const tuned = settings.tuneLr ? paper : [];
  const trials = trialRuns(settings, lrCandidates(settings));
  const extension = trials.length
    ? Array.from({ length: 4 * (settings.lrExtend ?? 0) }, () => trials[0])
    : [];
  return [...paper, ...trials, ...extension, ...tuned].map((r) => r.steps);
}

/** One training from scratch: a loss, a seed's initial weights and batches, a learning rate. */
export interface FinalRunRequest {
  loss: "learned" | "standard";
  seed: number;
  steps: number;
  lr: number;
}

/** One run's outcome: test and validation metrics (null when it diverged) and the test curve. */
export interface FinalRun {
  value: number | null;
  validation: number | null;
  curve: number[];
}

function summarize(values: (number | null)[], curves: number[][]): MetricSummary {
  const ok = values.filter((v): v is number => v !== null);
  const mean = ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
  const std = ok.length > 1 && mean !== null
    ? Math.sqrt(ok.reduce((a, v) => a + (v - mean) ** 2, 0) / (ok.length - 1))
    : ok.length === 1
    ? 0
    : null;
  const points = curves.length ? Math.min(...curves.map((c) => c.length)) : 0;
  const curve = Array.from(
    { length: points },
    (_, i) => curves.reduce((a, c) => a + c[i], 0) / curves.length,
  );
  return { values, mean, std, curve };
}

/** Seeds of the final runs: away from the search's own seed. */
export function finalSeeds(settings: Pick<FinalSettings, "seeds" | "baseSeed">): number[] {
  return Array.from({ length: settings.seeds }, (_, i) => settings.baseSeed + 1000 * (i + 1));
}

export function curveEveryFor(steps: number): number {
  return Math.max(1, Math.round(steps / 20));
}

/** The learning rates a tuned row chooses from: the grid and the shared rate, ascending. */
export function lrCandidates(settings: Pick<FinalSettings, "lrGrid" | "inner">): number[] {
  return [...new Set([...settings.lrGrid, settings.inner.lr])].sort((a, b) => a - b);
}

/**
 * The best learning rate of one loss: the lowest validation metric; ties go to the rate nearest
 * the shared one (by ratio), then to the smaller, so that a loss indifferent to its rate is
 * compared where the paper compares it. Null when every trial diverged.
 */
export function bestLr(
  trials: { lr: number; metric: number | null }[],
  shared: number,
): number | null {
  const ok = trials.filter((t): t is { lr: number; metric: number } => t.metric !== null);
  if (ok.length === 0) return null;
  const distance = (lr: number) => Math.abs(Math.log(lr / shared));
  ok.sort((a, b) => a.metric - b.metric || distance(a.lr) - distance(b.lr) || a.lr - b.lr);
  return ok[0].lr;
}

/** The seed the learning-rate trials train from: the first final seed. */
export const selectionSeed = (settings: FinalSettings) => finalSeeds(settings)[0];

/** The trials of the tuned row at the given rates: each loss at each, on the selection seed. */
export function trialRuns(settings: FinalSettings, rates: number[]): FinalRunRequest[] {
  if (!settings.tuneLr || settings.seeds === 0) return [];
  const seed = selectionSeed(settings);
  const steps = settings.selectionSteps ?? settings.steps;
  return rates.flatMap((lr) =>
    (["learned", "standard"] as const).map((loss) => ({ loss, seed, steps, lr }))
  );
}

/** A trial's validation metric: null where it diverged, or where it is not trained (yet). */
function trialMetric(
  settings: FinalSettings,
  result: (r: FinalRunRequest) => FinalRun | undefined,
  loss: "learned" | "standard",
  lr: number,
): number | null {
  const run = trialRuns(settings, [lr]).find((r) => r.loss === loss);
  return run ? result(run)?.validation ?? null : null;
}

/** One grid step past an edge rate, at the grid's outer ratio there, to one significant digit. */
const beyond = (edge: number, neighbour: number) =>
  Number((edge * (edge / neighbour)).toPrecision(1));

/** The bounds of a rate the grid extends to (those of `final.lrGrid`). */
const RATE_BOUNDS = [1e-7, 10] as const;

/**
 * The trial rates round by round: the grid and the shared rate, then, for up to `lrExtend`
 * rounds, the rate beyond an edge where a loss's best trial lies. Each round is yielded once its
 * predecessor's trials are in `result`: the caller trains a round's trials before asking for the
 * next (evaluateFinalRuns), or reads them all when every trial is known (combineFinal).
 */
export function* selectionRounds(
  settings: FinalSettings,
  result: (r: FinalRunRequest) => FinalRun | undefined,
): Generator<number[]> {
  let rates = lrCandidates(settings);
  yield rates;
  const metric = (loss: "learned" | "standard", lr: number) =>
    trialMetric(settings, result, loss, lr);
  for (let round = 0; round < (settings.lrExtend ?? 0) && rates.length > 1; round++) {
    const more = new Set<number>();
    for (const loss of ["learned", "standard"] as const) {
      const best = bestLr(rates.map((lr) => ({ lr, metric: metric(loss, lr) })), settings.inner.lr);
      const [low, high] = [rates[0], rates.at(-1)!];
      if (best === high) more.add(beyond(high, rates.at(-2)!));
      if (best === low) more.add(beyond(low, rates[1]));
    }
    const next = [...more].filter((lr) =>
      lr >= RATE_BOUNDS[0] && lr <= RATE_BOUNDS[1] && !rates.includes(lr)
    );
    if (!next.length) return;
    rates = [...rates, ...next].sort((a, b) => a - b);
    yield rates;
  }
}

/** Every trial rate the selection used, once all its trials are known. */
export function selectionRates(settings: FinalSettings, result: RunResults): number[] {
  let rates: number[] = [];
  for (const round of selectionRounds(settings, result)) rates = round;
  return rates;
}

/** The runs of a row: both losses on every seed, at the full length. */
export function rowRuns(
  settings: FinalSettings,
  lr: { learned: number; standard: number },
): FinalRunRequest[] {
  return finalSeeds(settings).flatMap((seed) =>
    (["learned", "standard"] as const).map((loss) => ({
      loss,
      seed,
      steps: settings.steps,
      lr: lr[loss],
    }))
  );
}

/** A run's identity: runs with equal keys train identically, so each is trained once. */
export const runKey = (r: FinalRunRequest) => `${r.loss}|${r.seed}|${r.steps}|${r.lr}`;

/** The learning rates the trials chose, or null when a loss diverged at every candidate. */
export function chosenLrs(
  settings: FinalSettings,
  result: (r: FinalRunRequest) => FinalRun,
): { selection: LrSelection; lr: { learned: number; standard: number } | null } {
  const candidates = selectionRates(settings, result);
  const runs = trialRuns(settings, candidates);
  const trials = candidates.map((lr) => ({
    lr,
    learned: trialMetric(settings, result, "learned", lr),
    standard: trialMetric(settings, result, "standard", lr),
  }));
  const pick = (loss: "learned" | "standard") =>
    bestLr(trials.map((t) => ({ lr: t.lr, metric: t[loss] })), settings.inner.lr);
  const [learned, standard] = [pick("learned"), pick("standard")];
  const grid = lrCandidates(settings);
  const extended = candidates.filter((lr) => !grid.includes(lr));
  return {
    selection: {
      candidates,
      ...(extended.length ? { extended } : {}),
      steps: runs[0].steps,
      seed: runs[0].seed,
      trials,
    },
    lr: learned === null || standard === null ? null : { learned, standard },
  };
}

/** The row's comparison from its runs (in seed order). */
export function combineRow(
  settings: Pick<FinalSettings, "significance">,
  lr: { learned: number; standard: number },
  runs: { seed: number; learned: FinalRun; standard: FinalRun }[],
): ComparisonRow {
  const pick = (which: "learned" | "standard") =>
    summarize(
      runs.map((r) => r[which].value),
      runs.filter((r) => r[which].value !== null).map((r) => r[which].curve),
    );
  const learned = pick("learned");
  const standard = pick("standard");
  const paired = pairedTest(learned.values, standard.values, settings.significance);
  return {
    lr,
    learned,
    standard,
    difference: learned.mean !== null && standard.mean !== null
      ? learned.mean - standard.mean
      : null,
    paired,
    outcome: rowOutcome(learned, standard, paired, settings.significance),
  };
}

/** Seeds on which the learned loss diverged and the standard one did not. */
function learnedOnlyDivergences(learned: MetricSummary, standard: MetricSummary): number {
  return learned.values.filter((v, i) => v === null && standard.values[i] !== null).length;
}

function rowOutcome(
  learned: MetricSummary,
  standard: MetricSummary,
  paired: PairedTest,
  significance: number,
): VerdictOutcome {
  // A loss that diverges where the standard one trains is worse, whatever its other seeds say.
  if (learnedOnlyDivergences(learned, standard) > 0) return "worse";
  if (!paired.tTest || paired.meanDifference === null) return "undetermined";
  if (paired.tTest.p >= significance || paired.meanDifference === 0) {
    return "no-significant-difference";
  }
  return paired.meanDifference < 0 ? "better" : "worse";
}

/** Everything the comparison needs from a run, by its request. */
export type RunResults = (r: FinalRunRequest) => FinalRun;

function rowFrom(
  settings: FinalSettings,
  lr: { learned: number; standard: number },
  result: RunResults,
): ComparisonRow {
  const runs = finalSeeds(settings).map((seed) => ({
    seed,
    learned: result({ loss: "learned", seed, steps: settings.steps, lr: lr.learned }),
    standard: result({ loss: "standard", seed, steps: settings.steps, lr: lr.standard }),
  }));
  return combineRow(settings, lr, runs);
}

/**
 * The comparison from the results of every run it planned: the paper's row, the trials, the
 * tuned row (absent when either loss diverged at every candidate rate) and the verdict.
 */
export function combineFinal(
  task: Task,
  settings: FinalSettings,
  result: RunResults,
): FinalComparison {
  const shared = settings.inner.lr;
  const paper = rowFrom(settings, { learned: shared, standard: shared }, result);
  let tuned: FinalComparison["tuned"];
  let untunable: string | undefined;
  if (settings.tuneLr) {
    const { selection, lr } = chosenLrs(settings, result);
    if (lr) {
      tuned = {
        ...rowFrom(settings, lr, result),
        selection,
        versusShared: rowFrom(settings, { learned: lr.learned, standard: shared }, result),
      };
    } else untunable = "a loss diverged at every candidate learning rate";
  }
  const metric = task === "classification" ? "error rate" : "mse";
  return {
    metric,
    steps: settings.steps,
    seeds: finalSeeds(settings),
    curveEvery: curveEveryFor(settings.steps),
    significance: settings.significance,
    ...paper,
    ...(tuned ? { tuned } : {}),
    verdict: verdictOf(task, paper, tuned, settings.significance, untunable),
  };
}

/** The standard loss's name in words. */
export const standardLossName = (task: Task) =>
  task === "classification" ? "cross-entropy" : "squared error (MSE)";

/** Signed, `digits` significant digits: "+0.0008", "-0.0262". */
const sig = (v: number, digits = 3) => {
  const text = String(Number(v.toPrecision(digits)));
  return v > 0 ? `+${text}` : text;
};
const pValue = (p: number) => (p < 1e-4 ? "p < 0.0001" : `p = ${Number(p.toPrecision(2))}`);

/** The row's numbers in words: mean difference, interval, tests. */
export function describeRow(row: ComparisonRow, metric: string): string {
  const p = row.paired;
  if (p.meanDifference === null) return "no seed trained both losses";
  const parts = [`mean difference in test ${metric} ${sig(p.meanDifference)}`];
  if (p.ci) {
    parts.push(
      `${Math.round(p.confidence * 100)}% CI ${sig(p.ci[0])} to ${sig(p.ci[1])}`,
    );
  }
  parts.push(p.tTest ? `paired t-test ${pValue(p.tTest.p)}` : (p.note ?? "no t-test"));
  if (p.wilcoxon) parts.push(`Wilcoxon signed-rank ${pValue(p.wilcoxon.p)}`);
  parts.push(`${p.n} seeds`);
  return parts.join(", ");
}

function verdictOf(
  task: Task,
  paper: ComparisonRow,
  tuned: FinalComparison["tuned"],
  significance: number,
  untunable?: string,
): Verdict {
  // A win against the tuned standard loss that the standard loss at the shared rate does not
  // confirm is decided by that comparison instead.
  const guard = tuned?.outcome === "better" && tuned.versusShared?.outcome !== "better"
    ? tuned.versusShared
    : undefined;
  const row = guard ?? tuned ?? paper;
  const basis = guard ? "versus-shared" : tuned ? "tuned" : "paper";
  const metric = task === "classification" ? "error rate" : "MSE";
  const standard = standardLossName(task);
  const keep = `Keep the standard loss, ${standard}.`;
  const where = guard
    ? `the learned loss at its own best learning rate ${guard.lr.learned}, ${standard} at the ` +
      `shared rate ${guard.lr.standard}`
    : tuned
    ? `each loss at its own best learning rate (learned ${tuned.lr.learned}, ${standard} ${tuned.lr.standard})`
    : `both at learning rate ${paper.lr.learned}${
      untunable ? ` (not tuned: ${untunable})` : ", not tuned for either loss"
    }`;
  const numbers = `${describeRow(row, metric)}; ${where}`;
  const diverged = learnedOnlyDivergences(row.learned, row.standard);
  let words: string;
  switch (row.outcome) {
    case "better":
      words = `Better: the learned loss's test ${metric} is lower than ${standard}'s (${numbers}).`;
      break;
    case "no-significant-difference":
      words = `No significant difference from ${standard} at the ${significance} level ` +
        `(${numbers}). ${keep}`;
      break;
    case "worse":
      words = diverged > 0
        ? `Worse: the learned loss diverged on ${diverged} of ${row.learned.values.length} ` +
          `seeds where ${standard} trained (${numbers}). ${keep}`
        : `Worse: the learned loss's test ${metric} is higher than ${standard}'s (${numbers}). ${keep}`;
      break;
    case "undetermined":
      words = `Undetermined: the seeds cannot tell the losses apart (${numbers}). ${keep}`;
      break;
  }
  if (guard) {
    words += ` Against ${standard} at the rate its validation trial chose, ` +
      `${tuned!.lr.standard}, the learned loss was better (${describeRow(tuned!, metric)}), but ` +
      `${standard} did better at the shared rate than at that one, and there the learned loss ` +
      `is not ahead.`;
  } else if (tuned && paper.outcome === "better" && tuned.outcome !== "better") {
    words += ` At the shared learning rate ${paper.lr.learned} the learned loss was better ` +
      `(${describeRow(paper, metric)}), an advantage that a tuned learning rate for ` +
      `${standard} takes away.`;
  }
  return {
    outcome: row.outcome,
    basis,
    significance,
    keepStandard: row.outcome !== "better",
    words,
  };
}

/**
 * A final comparison as stored by any version: one made before the paired statistics gets them,
 * from its per-seed values, and a verdict on the paper's row alone (it has no tuned row).
 */
export function upgradeFinal(
  stored: FinalComparison,
  task: Task,
  sharedLr: number,
): FinalComparison {
  if (stored.verdict) return stored;
  const significance = 0.05;
  const row = combineRow(
    { significance },
    { learned: sharedLr, standard: sharedLr },
    stored.seeds.map((seed, i) => ({
      seed,
      learned: { value: stored.learned.values[i], validation: null, curve: [] },
      standard: { value: stored.standard.values[i], validation: null, curve: [] },
    })),
  );
  // The stored summaries keep their curves; only the statistics are new.
  const paper = { ...row, learned: stored.learned, standard: stored.standard };
  return {
    ...stored,
    ...paper,
    significance,
    verdict: verdictOf(task, paper, undefined, significance, "the search predates the tuned row"),
  };
}
