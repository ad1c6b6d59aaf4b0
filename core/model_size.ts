/**
 * What a model costs before it runs: its parameters and an estimate of the memory one evaluation
 * worker needs for it, from the model run over shapes (core/architectures.ts) and the settings.
 * The service refuses a search whose estimate is above its limit (`--max-model-bytes`) before
 * any memory is spent; the CLI prints it.
 *
 * The estimate is of tfjs's own count of tensor bytes at its peak (tf.profile's peakBytes), which
 * counts every tensor, views that share a buffer included: an upper bound on what the tensors
 * hold. Two phases peak, and a worker is in one at a time:
 * - a meta-step of local search, under one tf.tidy: the T unrolled SGD steps and the outer
 *   gradient through them, every tensor kept until the step ends. Per step about 40 values per
 *   parameter (the gradients, their products and transposes, momentum, weight decay, the updated
 *   copies, the tape of the second derivative) and 10 per intermediate value of each example of
 *   the batch, plus 8 and 2 for the first forward pass; times the candidates stacked together
 *   (dense stacks only);
 * - a forward pass of a whole evaluation split (validation fitness, final test), every
 *   intermediate kept: the intermediate values and, for images, twice the inputs (reshapes) per
 *   row, and a fifth more for what the count leaves out (the metric's own tensors, views).
 * Plus the rows of the dataset, held as tensors throughout. The coefficients were measured on
 * the cpu backend for an MLP, LeNet-5 and sequential CNNs and dense stacks
 * (tests/model_size.test.ts checks that the estimate stays within 1x to 3x of the measured peak).
 */
import type { Settings } from "./settings.ts";
import { isDenseStack, type ModelSpec, walkModel } from "./model_kinds.ts";
import { AUTO_STACK } from "./stack_plan.ts";

const FLOAT = 4;
/** Values kept per parameter, and per intermediate value of a batch's example, per SGD step. */
const PER_PARAM_STEP = 40;
const PER_ACTIVATION_STEP = 10;
/** The same for the meta-step's first forward pass and what is kept outside the steps. */
const PER_PARAM_BASE = 8;
const PER_ACTIVATION_BASE = 2;
const EVALUATION_MARGIN = 1.2;

export interface ModelSize {
  /** Trainable scalars (as tfjs's countParams counts a Keras model's). */
  parameters: number;
  /** Values per example of the forward pass's intermediate tensors. */
  activationsPerExample: number;
  /** Candidates one computation trains together: 1 unless the model is a dense stack. */
  stacked: number;
  /** Estimated bytes at the peak of each phase, of the data, and the worker's total. */
  bytes: { localSearch: number; evaluation: number; data: number; total: number };
}

/** Rows of each split of the dataset, as far as known before it is prepared. */
export interface SplitSizes {
  train: number;
  validation: number;
  test: number;
}

/** The rows of each split of a dataset of `rows` rows, under the settings' fractions. */
export function splitSizes(rows: number, split: Settings["split"]): SplitSizes {
  const test = Math.round(rows * split.testFraction);
  const validation = Math.round((rows - test) * split.validationFraction);
  return { train: rows - test - validation, validation, test };
}

export function estimateModelSize(
  spec: ModelSpec,
  settings: Pick<Settings, "evaluation" | "execution">,
  rows: SplitSizes,
): ModelSize {
  const walk = walkModel(spec);
  const parameters = walk.params.reduce((n, d) => n + d.shape.reduce((a, b) => a * b, 1), 0);
  const { evaluation, execution } = settings;
  const steps = evaluation.localSearch.enabled ? evaluation.localSearch.unrollSteps : 1;
  const setting = execution.candidateStack;
  const stacked = !isDenseStack(spec) || setting === "off"
    ? 1
    : setting === "auto"
    ? AUTO_STACK
    : setting;
  const perExample = walk.activations + spec.inputs;
  const localSearch = FLOAT * stacked *
    (parameters * (PER_PARAM_BASE + PER_PARAM_STEP * steps) +
      perExample * evaluation.batchSize * (PER_ACTIVATION_BASE + PER_ACTIVATION_STEP * steps));
  const evalRows = Math.max(rows.validation, rows.test);
  // Rows read as images are reshaped to them, and flattened back (tfjs counts both copies).
  const reshapes = spec.imageShape ? 2 * spec.inputs : 0;
  const evaluationBytes = FLOAT *
    (parameters + EVALUATION_MARGIN * (walk.activations + reshapes) * evalRows);
  const n = rows.train + rows.validation + rows.test;
  const data = FLOAT * n * (spec.inputs + spec.outputs);
  return {
    parameters,
    activationsPerExample: walk.activations,
    stacked,
    bytes: {
      localSearch: Math.round(localSearch),
      evaluation: Math.round(evaluationBytes),
      data,
      total: Math.round(data + Math.max(localSearch, evaluationBytes)),
    },
  };
}

/** "1.2 GiB", "340 MiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes, u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number(v.toPrecision(3))} ${units[u]}`;
}
