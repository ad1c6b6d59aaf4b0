/**
 * The memory estimate of core/model_size.ts against what tfjs counts at the peak (tf.profile's
 * peakBytes, cpu backend) for the two phases it estimates: a local-search meta-step (T unrolled
 * steps and the hypergradient, under one tidy, as the evaluator runs it) and a forward pass over
 * a whole evaluation split. Across dense, convolutional and sequential models, batch sizes and
 * T, the estimate must be at least the measured peak and at most three times it.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { forward, initialValues, type ModelSpec, toParams } from "../engine/models.ts";
import { hypergradient, taskMetric, unrolledTaskLoss } from "../engine/train.ts";
import { estimateModelSize } from "../core/model_size.ts";
import { defaultSettings } from "../core/settings.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { Rng } from "../core/rng.ts";

await initBackend("cpu");

const IMAGE: [number, number, number] = [28, 28, 1];
const SPECS: ModelSpec[] = [
  { kind: "mlp", inputs: 784, outputs: 10, hidden: [100] },
  { kind: "lenet5", inputs: 784, outputs: 10, hidden: [], imageShape: IMAGE },
  {
    kind: "sequential",
    inputs: 784,
    outputs: 10,
    hidden: [],
    imageShape: IMAGE,
    layers: [
      { type: "Conv2D", filters: 8, kernelSize: 3, padding: "same", activation: "relu" },
      { type: "MaxPooling2D" },
      { type: "Conv2D", filters: 16, kernelSize: 3, activation: "tanh" },
      { type: "AveragePooling2D" },
      { type: "Flatten" },
      { type: "Dense", units: 10 },
    ],
  },
  {
    kind: "sequential",
    inputs: 784,
    outputs: 10,
    hidden: [],
    imageShape: IMAGE,
    layers: [
      { type: "Flatten" },
      { type: "Dense", units: 64, activation: "sigmoid" },
      { type: "Dense", units: 10 },
    ],
  },
];

const TREE = parseInfix("-1 * y * log(f(x)) + square(f(x) - y)");
const INNER = { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 };
const EVAL_ROWS = 500;

function settingsFor(batchSize: number, unrollSteps: number) {
  const s = defaultSettings();
  s.evaluation.batchSize = batchSize;
  s.evaluation.localSearch.unrollSteps = unrollSteps;
  s.execution.candidateStack = "off";
  return s;
}

const batchOf = (spec: ModelSpec, b: number, seed: number) => ({
  x: tf.randomUniform([b, spec.inputs], 0, 1, "float32", seed) as tf.Tensor2D,
  y: tf.oneHot(tf.randomUniform([b], 0, 10, "int32", seed + 1) as tf.Tensor1D, 10)
    .toFloat() as tf.Tensor2D,
});

Deno.test("the memory estimate bounds tfjs's measured peak, within 3x (meta-step and evaluation)", async () => {
  let compared = 0;
  const ratios: number[] = [];
  for (const spec of SPECS) {
    const rng = new Rng(1);
    const theta = toParams(spec, initialValues(spec, () => rng.next()));
    for (const [b, T] of [[32, 1], [128, 1], [64, 2]]) {
      const estimate = estimateModelSize(spec, settingsFor(b, T), {
        train: 1000,
        validation: EVAL_ROWS,
        test: EVAL_ROWS,
      });
      const batches = Array.from({ length: T }, (_, i) => batchOf(spec, b, 10 + i));
      const validation = batchOf(spec, b, 99);
      const before = tf.memory().numBytes;
      const metaStep = await tf.profile(() =>
        tf.tidy(() => {
          const f = unrolledTaskLoss(
            spec,
            "classification",
            compileLoss(TREE, "classification"),
            INNER,
            theta,
            batches,
            validation,
          );
          return hypergradient(f, tf.tensor1d(TREE.map(() => 1))).grad;
        })
      );
      const measured = metaStep.peakBytes - before;
      const ratio = estimate.bytes.localSearch / measured;
      assert(ratio >= 1 && ratio <= 3, `${spec.kind} B=${b} T=${T}: estimate ${ratio.toFixed(2)}x`);
      ratios.push(ratio);
      tf.dispose([...batches.flatMap((x) => [x.x, x.y]), validation.x, validation.y]);
      compared++;
    }
    const rows = batchOf(spec, EVAL_ROWS, 7);
    const before = tf.memory().numBytes;
    const evaluation = await tf.profile(() =>
      tf.tidy(() => taskMetric("classification", forward(spec, theta, rows.x), rows.y))
    );
    const estimate = estimateModelSize(spec, settingsFor(32, 1), {
      train: 1000,
      validation: EVAL_ROWS,
      test: EVAL_ROWS,
    });
    const ratio = estimate.bytes.evaluation / (evaluation.peakBytes - before);
    assert(ratio >= 1 && ratio <= 3, `${spec.kind} evaluation: estimate ${ratio.toFixed(2)}x`);
    ratios.push(ratio);
    compared++;
    tf.dispose([...theta, rows.x, rows.y]);
  }
  assertEquals(compared, SPECS.length * 4);
  console.log(
    `estimate / measured peak over ${compared} cases: ${Math.min(...ratios).toFixed(2)} to ` +
      `${Math.max(...ratios).toFixed(2)}`,
  );
});

Deno.test("stacked dense candidates multiply the meta-step's estimate; others are never stacked", () => {
  const s = settingsFor(128, 1);
  const rows = { train: 1000, validation: 100, test: 100 };
  const one = estimateModelSize(SPECS[0], s, rows);
  s.execution.candidateStack = 8;
  const eight = estimateModelSize(SPECS[0], s, rows);
  assertEquals([one.stacked, eight.stacked], [1, 8]);
  assertEquals(eight.bytes.localSearch, 8 * one.bytes.localSearch);
  assertEquals(estimateModelSize(SPECS[2], s, rows).stacked, 1);
  assertEquals(estimateModelSize(SPECS[1], s, rows).parameters, 44_426);
});
