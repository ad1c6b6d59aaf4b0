/**
 * The ML3 baseline: its hypergradient through the unrolled SGD steps against central finite
 * differences (cpu backend), on classification (softmax inputs) and regression, for T = 1 and 3.
 * A small network keeps the finite differences cheap; the code path is the one the full-size
 * network uses.
 */
import { assert, assertEquals, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import type { Task } from "../engine/metaloss.ts";
import { ml3InitialPhi, ml3Loss, ml3ParameterCount } from "../engine/ml3.ts";
import { initialValues, type ModelSpec, toParams } from "../engine/models.ts";
import { type Batch, type InnerOptimizer, unrolledTaskLoss } from "../engine/train.ts";
import {
  compareWithFiniteDifferences,
  FD_TOLERANCE,
  fixtureRandom,
} from "./support/finite_differences.ts";

await tf.setBackend("cpu");

const PLAIN_SGD: InnerOptimizer = { lr: 0.5, momentum: 0, nesterov: false, weightDecay: 0 };
const HIDDEN = [5, 4];

function batches(task: Task, seed: number, count: number): Batch[] {
  const random = fixtureRandom(seed);
  const inputs = 5, outputs = 3, b = 8;
  return Array.from({ length: count }, () => {
    const x = tf.tensor2d(Array.from({ length: b * inputs }, () => 2 * random() - 1), [b, inputs]);
    const labels = Array.from({ length: b }, () => Math.floor(random() * outputs));
    const y = task === "classification"
      ? tf.oneHot(tf.tensor1d(labels, "int32"), outputs).toFloat() as tf.Tensor2D
      : tf.tensor2d(Array.from({ length: b * outputs }, () => 2 * random() - 1), [b, outputs]);
    return { x, y };
  });
}

Deno.test("ML3 parameter count matches the flat weight vector", () => {
  assertEquals(ml3ParameterCount(), 2 * 40 + 40 + 40 * 40 + 40 + 40 + 1);
  assertEquals(ml3InitialPhi(3).length, ml3ParameterCount());
  assertEquals(ml3InitialPhi(3, HIDDEN).length, ml3ParameterCount(HIDDEN));
});

Deno.test("ML3 loss is non-negative and depends on phi", () => {
  tf.tidy(() => {
    const [batch] = batches("classification", 3, 1);
    const loss = ml3Loss("classification");
    const a = loss(batch.x.slice([0, 0], [8, 3]), batch.y, tf.tensor1d(ml3InitialPhi(1)));
    const b = loss(batch.x.slice([0, 0], [8, 3]), batch.y, tf.tensor1d(ml3InitialPhi(2)));
    assert(a.dataSync()[0] >= 0 && b.dataSync()[0] >= 0);
    assert(a.dataSync()[0] !== b.dataSync()[0]);
  });
});

for (const task of ["classification", "regression"] as const) {
  for (const steps of [1, 3]) {
    Deno.test(`ML3 hypergradient (MLP, ${task}, T=${steps}) matches finite differences`, () => {
      const spec: ModelSpec = { kind: "mlp", inputs: 5, outputs: 3, hidden: [6] };
      const data = batches(task, 11, steps + 1);
      const random = fixtureRandom(5);
      const f = unrolledTaskLoss(
        spec,
        task,
        ml3Loss(task, HIDDEN),
        PLAIN_SGD,
        toParams(spec, initialValues(spec, random)),
        data.slice(0, steps),
        data[steps],
      );
      // Scale the initial weights up so the loss network's gradients are far from zero.
      const phi0 = ml3InitialPhi(9, HIDDEN).map((v) => 2 * v);
      const r = compareWithFiniteDifferences(f, phi0);
      assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r.relativeError));
    });
  }
}
