/**
 * The written-out loss gradients (BatchLoss.valueAndGradient) against tfjs autodiff, cpu backend:
 * the value and the gradient with respect to the outputs for random trees of both tasks, the
 * closed-form gradients of the standard losses, and the hypergradient through unrolled steps,
 * which differentiates the written-out gradient once more. Autodiff is itself checked against
 * finite differences (hypergradient.test.ts), so agreement here carries that proof over.
 */
import { assert, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { type BatchLoss, compileLoss, type Task } from "../engine/metaloss.ts";
import { initialValues, type ModelSpec, toParams } from "../engine/models.ts";
import {
  type Batch,
  hypergradient,
  type InnerOptimizer,
  standardLoss,
  unrolledTaskLoss,
} from "../engine/train.ts";
import { rampedHalfAndHalf } from "../core/gp/mod.ts";
import { Rng } from "../core/rng.ts";
import type { Tree } from "../core/expr/tree.ts";
import { RICH_TREE } from "./support/finite_differences.ts";

await tf.setBackend("cpu");

const ROWS = 8, COLS = 4;

function targetsFor(task: Task, rng: Rng): tf.Tensor2D {
  if (task === "regression") {
    return tf.tensor2d(Array.from({ length: ROWS * COLS }, () => rng.normal()), [ROWS, COLS]);
  }
  const labels = Array.from({ length: ROWS }, () => rng.int(COLS));
  return tf.oneHot(tf.tensor1d(labels, "int32"), COLS).toFloat() as tf.Tensor2D;
}

/** Largest difference relative to the larger norm (1 when both are tiny). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    na = Math.max(na, Math.abs(a[i]));
    nb = Math.max(nb, Math.abs(b[i]));
  }
  return diff / Math.max(1, na, nb);
}

/** The same loss with its written-out gradient removed: tfjs autodiff computes it instead. */
function autodiffOnly(loss: BatchLoss): BatchLoss {
  return (outputs, targets, phi) => loss(outputs, targets, phi);
}

function compareOutputGradient(
  loss: BatchLoss,
  task: Task,
  rng: Rng,
  phi: number[],
  usesF = true,
): string {
  return tf.tidy(() => {
    const outputs = tf.tensor2d(
      Array.from({ length: ROWS * COLS }, () => 2 * rng.normal()),
      [ROWS, COLS],
    );
    const targets = targetsFor(task, rng);
    const phiT = tf.tensor1d(phi);
    const written = loss.valueAndGradient!(outputs, targets, phiT);
    if (!usesF) {
      // Autodiff finds no path from the outputs here; the written-out gradient must be zero.
      return written.gradient.dataSync().every((g) => g === 0) ? "" : "nonzero gradient";
    }
    const auto = tf.valueAndGrad((o: tf.Tensor) => loss(o as tf.Tensor2D, targets, phiT))(
      outputs,
    );
    const [v1, v2] = [written.value().dataSync()[0], auto.value.dataSync()[0]];
    const [g1, g2] = [written.gradient.dataSync(), auto.grad.dataSync()];
    if (!Number.isFinite(v2) || Math.abs(v2) > 1e6) return ""; // float32 overflow territory
    assert(written.gradient.shape.join() === outputs.shape.join(), "gradient shape");
    const valueError = Math.abs(v1 - v2) / Math.max(1, Math.abs(v2));
    const gradError = relativeError(g1, g2);
    return valueError > 1e-5 || gradError > 1e-4
      ? `value ${v1} vs ${v2}, gradient error ${gradError}`
      : "";
  });
}

for (const task of ["classification", "regression"] as const) {
  Deno.test(`written-out loss gradient equals autodiff: 300 random trees, ${task}`, () => {
    const rng = new Rng(task === "classification" ? 5 : 6);
    const trees: Tree[] = [...rampedHalfAndHalf(rng, 300, 1, 6), RICH_TREE, ["fx"], ["y"]];
    const failures: string[] = [];
    for (const tree of trees) {
      const phi = tree.map(() => 0.5 + rng.next());
      const usesF = tree.includes("fx");
      const problem = compareOutputGradient(compileLoss(tree, task), task, rng, phi, usesF);
      if (problem) failures.push(`${JSON.stringify(tree)}: ${problem}`);
    }
    assert(failures.length === 0, failures.slice(0, 5).join("\n"));
  });

  Deno.test(`standard ${task} loss: closed-form gradient equals autodiff`, () => {
    const rng = new Rng(9);
    for (let i = 0; i < 20; i++) {
      const problem = compareOutputGradient(standardLoss(task), task, rng, [1]);
      assert(problem === "", problem);
    }
  });
}

Deno.test("ties and kinks follow tfjs's conventions (max, min, abs at equal or zero inputs)", () => {
  // Regression (f = the outputs, 1/4 everywhere; a softmax would cancel a constant gradient):
  // max(f, 0.25) and min(f, 0.25) tie exactly; abs(f - 0.25) is abs of exactly 0 (tfjs: derivative
  // -1 there, not sign's 0).
  const quarter = 0.25;
  const trees: Tree[] = [
    ["max", "fx", quarter],
    ["min", "fx", quarter],
    ["max", quarter, "fx"],
    ["abs", "sub", "fx", quarter],
    ["log", "sub", "fx", quarter],
    ["sqrt", "sub", "fx", quarter],
  ];
  for (const tree of trees) {
    const ones = tree.map(() => 1);
    tf.tidy(() => {
      const outputs = tf.fill([2, 4], quarter) as tf.Tensor2D;
      const targets = tf.oneHot(tf.tensor1d([0, 3], "int32"), 4).toFloat() as tf.Tensor2D;
      const loss = compileLoss(tree, "regression");
      const written = loss.valueAndGradient!(outputs, targets, tf.tensor1d(ones)).gradient;
      const auto = tf.grad((o: tf.Tensor) => loss(o as tf.Tensor2D, targets, tf.tensor1d(ones)))(
        outputs,
      );
      const err = relativeError(written.dataSync(), auto.dataSync());
      assertLess(err, 1e-6, JSON.stringify(tree));
    });
  }
});

const SGD: InnerOptimizer = { lr: 0.5, momentum: 0.9, nesterov: true, weightDecay: 1e-3 };

function hypergradientOf(loss: BatchLoss, task: Task, tree: Tree, seed: number): Float32Array {
  const rng = new Rng(seed);
  const spec: ModelSpec = { kind: "mlp", inputs: 5, outputs: 3, hidden: [6] };
  return tf.tidy(() => {
    const batch = (): Batch => ({
      x: tf.tensor2d(Array.from({ length: 8 * 5 }, () => rng.normal()), [8, 5]),
      y: task === "classification"
        ? tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], "int32"), 3).toFloat() as tf.Tensor2D
        : tf.tensor2d(Array.from({ length: 8 * 3 }, () => rng.normal()), [8, 3]),
    });
    const batches = [batch(), batch()];
    const validation = batch();
    const theta0 = toParams(spec, initialValues(spec, () => rng.next()));
    const phi = tf.tensor1d(tree.map((_, i) => 0.8 + 0.05 * (i % 7)));
    const f = unrolledTaskLoss(spec, task, loss, SGD, theta0, batches, validation);
    return hypergradient(f, phi).grad.dataSync() as Float32Array;
  });
}

for (const task of ["classification", "regression"] as const) {
  Deno.test(`hypergradient through written-out gradients equals autodiff's: 40 trees, ${task}`, () => {
    const rng = new Rng(task === "classification" ? 21 : 22);
    const trees: Tree[] = [...rampedHalfAndHalf(rng, 40, 1, 5), RICH_TREE, ["sign", "fx"]];
    const failures: string[] = [];
    trees.forEach((tree, i) => {
      const loss = compileLoss(tree, task);
      const written = hypergradientOf(loss, task, tree, 100 + i);
      if (!tree.includes("fx")) {
        // No path from phi through the steps: zeros (autodiff's inner gradient would throw).
        if (!written.every((g) => g === 0)) failures.push(`${JSON.stringify(tree)}: not zero`);
        return;
      }
      const auto = hypergradientOf(autodiffOnly(loss), task, tree, 100 + i);
      if (!auto.every(Number.isFinite) || auto.some((g) => Math.abs(g) > 1e5)) return;
      const err = relativeError(written, auto);
      if (!(err < 1e-3)) failures.push(`${JSON.stringify(tree)}: error ${err}`);
    });
    assert(failures.length === 0, failures.slice(0, 5).join("\n"));
  });
}
