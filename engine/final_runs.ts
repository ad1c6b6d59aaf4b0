/**
 * Final evaluation (method.md): train the model from scratch with the learned loss and with the
 * standard loss (cross-entropy or MSE) over several seeds, and compare their test metrics. This
 * comparison is the point of the whole exercise.
 */
import { tf } from "./tensor/tf.ts";
import { compute } from "./tensor/backend.ts";
import { compileLoss } from "./metaloss.ts";
import { forward, initialValues, type ModelSpec, toParams } from "./models.ts";
import { standardLoss, taskMetric, trainSgd } from "./train.ts";
import { BatchSource, outputCount } from "./batches.ts";
import type { PreparedData } from "../core/prepare.ts";
import type { Tree } from "../core/expr/tree.ts";
import { Rng } from "../core/rng.ts";
import { mseToOriginalUnits } from "../core/data/mod.ts";

import {
  combineFinal,
  curveEveryFor,
  type FinalComparison,
  type FinalRun,
  type FinalSeedRuns,
  finalSeeds,
  type FinalSettings,
} from "../core/final.ts";

/**
 * The two trainings of one seed. Seeds are independent of each other, so a pool of workers can
 * run them in parallel and `combineFinal` gives the same comparison as `finalEvaluation`.
 */
export async function finalSeedRuns(
  data: PreparedData,
  spec: ModelSpec,
  tree: Tree,
  phi: number[],
  settings: FinalSettings,
  seed: number,
  onRun?: () => void,
): Promise<FinalSeedRuns> {
  const outputs = outputCount(data.task, data.nClasses);
  const test = new BatchSource(data.task, data.test, outputs, data.test.n);
  const toReported = (m: number) =>
    data.task === "regression" && data.targetScaler ? mseToOriginalUnits(m, data.targetScaler) : m;
  const curveEvery = curveEveryFor(settings.steps);
  const phiT = tf.tensor1d(phi);
  const batches = new BatchSource(data.task, data.train, outputs, settings.batchSize, seed);
  const rng = new Rng(seed);
  const init = toParams(spec, initialValues(spec, () => rng.next()));
  const out: Partial<Record<"learned" | "standard", FinalRun>> = {};
  try {
    for (const which of ["learned", "standard"] as const) {
      const loss = which === "learned" ? compileLoss(tree, data.task) : standardLoss(data.task);
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
      out[which] = Number.isFinite(value) ? { value, curve } : { value: null, curve: [] };
      onRun?.();
    }
  } finally {
    tf.dispose(init);
    batches.dispose();
    phiT.dispose();
    test.dispose();
  }
  return { seed, learned: out.learned!, standard: out.standard! };
}

/** The whole final evaluation on this thread, one seed after another. */
export async function finalEvaluation(
  data: PreparedData,
  spec: ModelSpec,
  tree: Tree,
  phi: number[],
  settings: FinalSettings,
  onProgress?: (done: number, total: number) => void,
): Promise<FinalComparison> {
  const seeds = finalSeeds(settings);
  const runs: FinalSeedRuns[] = [];
  let done = 0;
  for (const seed of seeds) {
    runs.push(
      await finalSeedRuns(
        data,
        spec,
        tree,
        phi,
        settings,
        seed,
        () => onProgress?.(++done, seeds.length * 2),
      ),
    );
  }
  return combineFinal(data.task, settings.steps, runs);
}
