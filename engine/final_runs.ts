/**
 * Final evaluation (method.md): train the model from scratch with the learned loss and with the
 * standard loss (cross-entropy or MSE) over several seeds, and compare their test metrics. This
 * comparison is the point of the whole exercise. Each run here is one training; which runs a
 * comparison needs, and what they mean together, is core/final.ts's.
 */
import { tf } from "./tensor/tf.ts";
import { compute } from "./tensor/backend.ts";
import { type BatchLoss, compileLoss } from "./metaloss.ts";
import { forward, initialValues, type ModelSpec, toParams } from "./models.ts";
import { standardLoss, taskMetric, trainSgd } from "./train.ts";
import { BatchSource, type LabeledRows, outputCount } from "./batches.ts";
import type { PreparedData } from "../core/prepare.ts";
import type { Tree } from "../core/expr/tree.ts";
import type { InnerOptimizer } from "../core/settings.ts";
import { Rng } from "../core/rng.ts";
import { mseToOriginalUnits, type TargetScaler } from "../core/data/mod.ts";
import {
  curveEveryFor,
  type FinalRun,
  type FinalRunRequest,
  type FinalSettings,
} from "../core/final.ts";

/** The rows a training from scratch reads: it trains on `train` and measures the others. */
export interface ScratchData {
  task: PreparedData["task"];
  nClasses?: number;
  train: LabeledRows;
  validation?: LabeledRows;
  test: LabeledRows;
  targetScaler?: TargetScaler;
}

export interface ScratchOptions {
  /** The initial weights and the batch order: the same seed, the same ones for every loss. */
  seed: number;
  steps: number;
  inner: InnerOptimizer;
  batchSize: number;
  curveEvery: number;
}

/**
 * One training from scratch under one loss: the seed's initial weights and batches, `steps` SGD
 * steps, then the test metric (error rate, or MSE in the target's original units), the
 * validation metric where there are validation rows, and the test metric every `curveEvery`
 * steps. Null metrics mean the training diverged.
 */
export async function trainFromScratch(
  data: ScratchData,
  spec: ModelSpec,
  loss: BatchLoss,
  phi: number[],
  opts: ScratchOptions,
): Promise<FinalRun> {
  const outputs = outputCount(data.task, data.nClasses);
  const test = new BatchSource(data.task, data.test, outputs, data.test.n);
  const validation = data.validation?.n
    ? new BatchSource(data.task, data.validation, outputs, data.validation.n)
    : undefined;
  const batches = new BatchSource(data.task, data.train, outputs, opts.batchSize, opts.seed);
  const rng = new Rng(opts.seed);
  const init = toParams(spec, initialValues(spec, () => rng.next()));
  const phiT = tf.tensor1d(phi);
  const toReported = (m: number) =>
    data.task === "regression" && data.targetScaler ? mseToOriginalUnits(m, data.targetScaler) : m;
  const metricOf = async (rows: BatchSource, params: tf.Tensor[]) =>
    toReported(
      (await compute(() => taskMetric(data.task, forward(spec, params, rows.all.x), rows.all.y)))[
        0
      ],
    );
  const curve: number[] = [];
  try {
    const run = await trainSgd(
      spec,
      loss,
      phiT,
      init,
      batches,
      opts.steps,
      opts.inner,
      opts.curveEvery,
      async (_step, params) => void curve.push(await metricOf(test, params)),
    );
    const value = run.diverged ? NaN : await metricOf(test, run.params);
    const valid = run.diverged || !validation ? NaN : await metricOf(validation, run.params);
    tf.dispose(run.params);
    if (!Number.isFinite(value)) return { value: null, validation: null, curve: [] };
    return { value, validation: Number.isFinite(valid) ? valid : null, curve };
  } finally {
    tf.dispose([...init, phiT]);
    batches.dispose();
    test.dispose();
    validation?.dispose();
  }
}

/** One run of the final comparison: the learned loss (tree, phi) or the standard loss. */
export function finalRun(
  data: PreparedData,
  spec: ModelSpec,
  tree: Tree,
  phi: number[],
  settings: FinalSettings,
  run: FinalRunRequest,
): Promise<FinalRun> {
  const learned = run.loss === "learned";
  return trainFromScratch(
    data,
    spec,
    learned ? compileLoss(tree, data.task) : standardLoss(data.task),
    learned ? phi : [1],
    {
      seed: run.seed,
      steps: run.steps,
      inner: { ...settings.inner, lr: run.lr },
      batchSize: settings.batchSize,
      curveEvery: curveEveryFor(run.steps),
    },
  );
}
