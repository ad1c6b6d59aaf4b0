/**
 * The TensorFlow.js export, imported as a real module from a temporary file: the generated
 * `learnedLoss(yTrue, yPred, {fromLogits})` (Keras's convention: one loss per example) must
 * average to what the engine's compileLoss computes, value and gradient, on trees that use every
 * primitive, the constants +1, -1 and a folded 2.5, and both tasks; from logits or from
 * probabilities, with one-hot targets or class indices, and with classes last in any layout.
 *
 * The generated module imports the bare specifier "@tensorflow/tfjs". It resolves from a file
 * outside the project because deno.json's import map applies to every module of the process,
 * and to the very same tfjs instance as the engine's (checked below), so no rewriting of the
 * specifier (e.g. to import.meta.resolve("@tensorflow/tfjs")) is needed.
 */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { compileLoss, type Task } from "../engine/metaloss.ts";
import { parseInfix } from "../core/expr/parse.ts";
import type { Tree } from "../core/expr/tree.ts";
import { Rng } from "../core/rng.ts";
import { exportTfjs } from "../core/export.ts";
import { randomTrees } from "./support/random_trees.ts";

await tf.setBackend("cpu");

type LearnedLoss = (
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  options?: { fromLogits?: boolean },
) => tf.Tensor;

const CASES: [string, Task][] = [
  ["-1 * y * log(f(x))", "classification"],
  ["div(y - f(x), 1 + abs(f(x) - 2.5))", "classification"],
  ["max(square(y - f(x)), tanh(f(x)) * sign(y + -1))", "classification"],
  ["min(sqrt(f(x)), y + f(x)) - sqrt(y * f(x))", "classification"],
  ["sign(f(x) - 0.25) * f(x) + y", "classification"],
  ["square(f(x) - y)", "regression"],
  ["log(1 + abs(y - f(x))) + div(tanh(f(x)), y)", "regression"],
  ["max(min(f(x), y), -1) * sqrt(abs(y - f(x))) + sign(y) * square(f(x))", "regression"],
  ["div(2.5, square(f(x)) + -1) - tanh(y * f(x))", "regression"],
];

/** Writes the export of each tree and imports it back. */
async function importExports(losses: { tree: Tree; phi: number[]; task: Task }[]) {
  const dir = await Deno.makeTempDir({ prefix: "lossmith_export_tfjs_" });
  try {
    return await Promise.all(losses.map(async (loss, i) => {
      const path = `${dir}/loss_${i}.js`;
      await Deno.writeTextFile(path, exportTfjs(loss));
      const module = await import(new URL(`file://${path}`).href);
      return module.learnedLoss as LearnedLoss;
    }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function inputs(rng: Rng, task: Task) {
  const [n, width] = task === "classification" ? [6, 4] : [6, 2];
  const matrix = () =>
    Array.from({ length: n }, () => Array.from({ length: width }, () => 2 * rng.normal()));
  const logits = matrix();
  if (task === "regression") return { logits, target: matrix(), labels: [] };
  const labels = Array.from({ length: n }, () => rng.int(width));
  const target = labels.map((c) => Array.from({ length: width }, (_, j) => j === c ? 1 : 0));
  return { logits, target, labels };
}

Deno.test("tfjs export: the engine's value and gradient (classification to the bit), every target layout", async () => {
  const rng = new Rng(99);
  const losses = [
    ...CASES.map(([text, task]) => ({ tree: parseInfix(text), task })),
    ...randomTrees(5, 30, 5).map((tree, i) => ({
      tree,
      task: (i % 2 ? "regression" : "classification") as Task,
    })),
  ].map((l) => ({
    ...l,
    phi: l.tree.map((_, k) => k % 4 === 1 ? 1 : Math.fround(0.5 + rng.next())),
  }));
  const exported = await importExports(losses);
  const before = tf.memory().numTensors;
  losses.forEach((loss, i) => {
    const { logits, target, labels } = inputs(rng, loss.task);
    const what = `${loss.task} ${JSON.stringify(loss.tree)}`;
    tf.tidy(() => {
      const z = tf.tensor2d(logits);
      const y = tf.tensor2d(target);
      const engine = (t: tf.Tensor) =>
        compileLoss(loss.tree, loss.task)(t as tf.Tensor2D, y, tf.tensor1d(loss.phi));
      // Per example, as Keras's model.compile takes it; its mean over the batch is the loss.
      const perExample = exported[i](y, z, { fromLogits: true });
      assertEquals(perExample.shape, [z.shape[0]], `one loss per example, ${what}`);
      const mine = (t: tf.Tensor) => tf.mean(exported[i](y, t, { fromLogits: true })) as tf.Scalar;
      const [v, e] = [mine(z).dataSync()[0], engine(z).dataSync()[0]];
      if (loss.task === "classification") {
        // The same tfjs calls in the same order on the same backend: equal to the last bit,
        // NaN and Infinity included, so no tolerance is needed.
        assertEquals(v, e, `value of ${what}`);
      } else {
        // The mean of each example's mean over its outputs: the same sum, rounded in two steps.
        assert(Object.is(v, e) || Math.abs(v - e) <= 1e-6 * Math.abs(e), `${what}: ${v} vs ${e}`);
      }
      if (loss.tree.includes("fx")) { // else nothing leads from the logits to the loss
        const [gm, ge] = [tf.grad(mine)(z), tf.grad(engine)(z)];
        if (loss.task === "classification") {
          assertEquals(gm.arraySync(), ge.arraySync(), `gradient of ${what}`);
        } else {
          const scale = Math.max(1e-6, tf.max(tf.abs(ge)).dataSync()[0]);
          assert(tf.max(tf.abs(tf.sub(gm, ge))).dataSync()[0] <= 1e-5 * scale, `gradient, ${what}`);
        }
      }
      // Class indices, and regression targets of another shape with as many elements.
      const alt = loss.task === "classification"
        ? tf.tensor1d(labels, "int32")
        : tf.tensor1d(target.flat());
      assertEquals(
        tf.mean(exported[i](alt, z, { fromLogits: true })).dataSync()[0],
        mine(z).dataSync()[0],
        `other target layout, ${what}`,
      );
      if (loss.task === "classification") {
        // Class indices [N, 1], as Keras's sparse targets come.
        assertEquals(
          tf.mean(exported[i](tf.reshape(alt, [-1, 1]), z, { fromLogits: true })).dataSync()[0],
          mine(z).dataSync()[0],
          `indices [N, 1], ${what}`,
        );
        // By default yPred are probabilities, a softmax layer's output: the same loss, within
        // the rounding of a softmax computed apart.
        const p = tf.mean(exported[i](y, tf.softmax(z))).dataSync()[0];
        assert(
          Object.is(p, v) || Math.abs(p - v) <= 1e-5 * Math.max(1, Math.abs(v)) ||
            !Number.isFinite(v),
          `probabilities, ${what}: ${p} vs ${v}`,
        );
      }
    });
  });
  assertEquals(tf.memory().numTensors, before, "the export leaks no tensors (tf.tidy)");
});

Deno.test("tfjs export: a plain module on the engine's own tfjs", async () => {
  const loss = {
    tree: parseInfix("square(f(x) - y)"),
    phi: [1, 0.5, 1, 1],
    task: "regression" as const,
  };
  const source = exportTfjs(loss);
  assert(source.includes('import * as tf from "@tensorflow/tfjs";'));
  assert(source.includes("export function learnedLoss(yTrue, yPred, { fromLogits = false } = {})"));
  assert(source.includes("export function learnedLossFromLogits(yTrue, yPred)"));
  assert(source.includes("tf.tidy("));
  assert(source.includes("// L = square(0.5*(f(x) - y))"), "the formula as a comment");
  const [learned] = await importExports([loss]);
  // The same instance: a tensor made here is accepted there, on the backend set here.
  const value = tf.tidy(() => learned(tf.tensor2d([[1]]), tf.tensor2d([[3]])).dataSync()[0]);
  assertEquals(value, 1); // (0.5 * (3 - 1))^2
  // A regression target with a different number of elements is refused, not broadcast.
  assertThrows(() => tf.tidy(() => learned(tf.tensor1d([1, 2, 3]), tf.tensor2d([[1], [2]]))));
});

Deno.test("tfjs export: classes last in any layout ([N, H, W, C]), and targets that fit no layout refused", async () => {
  const tree = parseInfix("-1 * y * log(f(x)) + square(f(x) - y)");
  const phi = tree.map((_, k) => Math.fround(0.9 + 0.05 * k));
  const [learned] = await importExports([{ tree, phi, task: "classification" }]);
  const rng = new Rng(3);
  tf.tidy(() => {
    const [n, h, w, c] = [2, 3, 4, 5];
    const logits = tf.tensor4d(Array.from({ length: n * h * w * c }, () => rng.normal()), [
      n,
      h,
      w,
      c,
    ]);
    const labels = tf.tensor3d(
      Array.from({ length: n * h * w }, () => rng.int(c)),
      [n, h, w],
      "int32",
    );
    const perPixel = learned(labels, logits, { fromLogits: true });
    assertEquals(perPixel.shape, [n, h, w]);
    // The same as the rows of every pixel, one example each.
    const rows = learned(tf.reshape(labels, [-1]), tf.reshape(logits, [-1, c]), {
      fromLogits: true,
    });
    assertEquals(Array.from(tf.reshape(perPixel, [-1]).dataSync()), Array.from(rows.dataSync()));
    const engine = compileLoss(tree, "classification")(
      tf.reshape(logits, [-1, c]) as tf.Tensor2D,
      tf.oneHot(tf.reshape(labels, [-1]) as tf.Tensor1D, c).toFloat() as tf.Tensor2D,
      tf.tensor1d(phi),
    );
    assertEquals(tf.mean(perPixel).dataSync()[0], engine.dataSync()[0]);
    assertThrows(() => learned(tf.ones([n, 7]), logits), /neither class indices nor one-hot/);
  });
});
