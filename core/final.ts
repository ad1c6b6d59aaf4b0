/**
 * The final comparison of a learned loss with the standard loss: its settings, its seeds, and the
 * comparison over seeds built from each seed's runs (engine/final_runs.ts trains them).
 */
import type { InnerOptimizer } from "./settings.ts";
import type { Task } from "./data/dataset.ts";

export interface MetricSummary {
  /** One test metric per seed; null where training diverged. */
  values: (number | null)[];
  mean: number | null;
  std: number | null;
  /** Test metric every `curveEvery` steps, averaged over the seeds that did not diverge. */
  curve: number[];
}

export interface FinalComparison {
  metric: "error rate" | "mse";
  steps: number;
  seeds: number[];
  curveEvery: number;
  learned: MetricSummary;
  standard: MetricSummary;
  /** learned.mean - standard.mean: negative means the learned loss did better. */
  difference: number | null;
}

export interface FinalSettings {
  steps: number;
  seeds: number;
  inner: InnerOptimizer;
  batchSize: number;
  /** Seeds used are baseSeed + 1000 * (1..seeds), away from the search's own seed. */
  baseSeed: number;
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

/** One training run's outcome: the test metric (null when it diverged) and its curve. */
export interface FinalRun {
  value: number | null;
  curve: number[];
}

/** Both runs of one seed: the learned loss and the standard loss from the same initial model. */
export interface FinalSeedRuns {
  seed: number;
  learned: FinalRun;
  standard: FinalRun;
}

/** The comparison over seeds, from the runs of each seed (in seed order). */
export function combineFinal(
  task: Task,
  steps: number,
  runs: FinalSeedRuns[],
): FinalComparison {
  const pick = (which: "learned" | "standard") =>
    summarize(
      runs.map((r) => r[which].value),
      runs.filter((r) => r[which].value !== null).map((r) => r[which].curve),
    );
  const learned = pick("learned");
  const standard = pick("standard");
  return {
    metric: task === "classification" ? "error rate" : "mse",
    steps,
    seeds: runs.map((r) => r.seed),
    curveEvery: curveEveryFor(steps),
    learned,
    standard,
    difference: learned.mean !== null && standard.mean !== null
      ? learned.mean - standard.mean
      : null,
  };
}
