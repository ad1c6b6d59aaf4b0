/**
 * Final evaluation (method.md): train the model from scratch with the learned loss and with the
 * standard loss (cross-entropy or MSE) over several seeds, and compare their test metrics. This
 * comparison is the point of the whole exercise.
 */
import { tf } from "./tensor/tf.ts";
import { compute } from "./tensor/backend.ts";
import { compileLoss } from "./metaloss.ts";
import { forward, initialValues, type ModelSpec, toParams } from "./models.ts";
import { type InnerOptimizer, standardLoss, taskMetric, trainSgd } from "./train.ts";
import { BatchSource, outputCount } from "./batches.ts";
import type { PreparedData } from "./prepare.ts";
import type { Tree } from "./expr/tree.ts";
import { Rng } from "./rng.ts";
import { mseToOriginalUnits } from "./data/mod.ts";

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

export async function finalEvaluation(
  data: PreparedData,
  spec: ModelSpec,
  tree: Tree,
  phi: number[],
  settings: FinalSettings,
  onProgress?: (done: number, total: number) => void,
): Promise<FinalComparison> {
  const outputs = outputCount(data.task, data.nClasses);
  const test = new BatchSource(data.task, data.test, outputs, data.test.n);
  const toReported = (m: number) =>
    data.task === "regression" && data.targetScaler ? mseToOriginalUnits(m, data.targetScaler) : m;
  const seeds = Array.from(
    { length: settings.seeds },
    (_, i) => settings.baseSeed + 1000 * (i + 1),
  );
  const curveEvery = Math.max(1, Math.round(settings.steps / 20));
  const learnedLoss = compileLoss(tree, data.task);
  const phiT = tf.tensor1d(phi);
  const runs = { learned: [] as (number | null)[], standard: [] as (number | null)[] };
  const curves = { learned: [] as number[][], standard: [] as number[][] };
  let done = 0;
  try {
    for (const seed of seeds) {
      const batches = new BatchSource(data.task, data.train, outputs, settings.batchSize, seed);
      const rng = new Rng(seed);
      const init = toParams(spec, initialValues(spec, () => rng.next()));
      for (const which of ["learned", "standard"] as const) {
        const loss = which === "learned" ? learnedLoss : standardLoss(data.task);
        const curve: number[] = [];
        const metricOf = async (params: tf.Tensor[]) =>
          toReported(
            (await compute(() =>
              taskMetric(data.task, forward(spec, params, test.all.x), test.all.y)
            ))[0],
          );
        const run = await trainSgd(
          spec,
          loss,
          phiT,
          init,
          batches,
          settings.steps,
          settings.inner,
          curveEvery,
          async (_step, params) => void curve.push(await metricOf(params)),
        );
        const value = run.diverged ? NaN : await metricOf(run.params);
        tf.dispose(run.params);
        runs[which].push(Number.isFinite(value) ? value : null);
        if (Number.isFinite(value)) curves[which].push(curve);
        onProgress?.(++done, seeds.length * 2);
      }
      tf.dispose(init);
      batches.dispose();
    }
  } finally {
    phiT.dispose();
    test.dispose();
  }
  const learned = summarize(runs.learned, curves.learned);
  const standard = summarize(runs.standard, curves.standard);
  return {
    metric: data.task === "classification" ? "error rate" : "mse",
    steps: settings.steps,
    seeds,
    curveEvery,
    learned,
    standard,
    difference: learned.mean !== null && standard.mean !== null
      ? learned.mean - standard.mean
      : null,
  };
}
