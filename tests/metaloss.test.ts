/** The compiled tensor loss agrees with the scalar reference evaluator on random trees. */
import { assert, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { compileElementwise, compileLoss } from "../engine/metaloss.ts";
import { evaluate } from "../core/expr/primitives.ts";
import { Rng } from "../core/rng.ts";
import { rampedHalfAndHalf } from "../core/gp/mod.ts";

await tf.setBackend("cpu");

Deno.test("compiled element-wise loss equals the scalar reference, weights included (300 random trees)", () => {
  const rng = new Rng(11);
  const trees = rampedHalfAndHalf(rng, 300, 1, 6);
  const ys = Array.from({ length: 16 }, () => rng.normal());
  const fs = Array.from({ length: 16 }, () => rng.normal());
  for (const tree of trees) {
    const phi = tree.map(() => 0.5 + rng.next());
    const got = tf.tidy(() =>
      compileElementwise(tree)(tf.tensor1d(ys), tf.tensor1d(fs), tf.tensor1d(phi)).dataSync()
    );
    ys.forEach((y, i) => {
      const want = evaluate(tree, y, fs[i], phi);
      if (!Number.isFinite(want) || Math.abs(want) > 1e6) return; // float32 overflow territory
      const err = Math.abs(got[i] - want) / Math.max(1, Math.abs(want));
      assertLess(err, 1e-4, `${JSON.stringify(tree)} at y=${y}, f=${fs[i]}: ${got[i]} vs ${want}`);
    });
  }
});

Deno.test("classification loss: softmax of logits, summed over classes, mean over batch", () => {
  const tree = ["mul", -1, "mul", "y", "log", "fx"] as const; // cross-entropy
  const logits = [[2, 1, 0], [0, 3, -1]];
  const y = [[1, 0, 0], [0, 0, 1]];
  const value = tf.tidy(() =>
    compileLoss([...tree], "classification")(
      tf.tensor2d(logits),
      tf.tensor2d(y),
      tf.ones([6]) as tf.Tensor1D,
    )
      .dataSync()[0]
  );
  const ce = logits.map((row, i) => {
    const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
    return -row.reduce((a, v, c) => a + y[i][c] * (v - lse), 0);
  });
  const want = (ce[0] + ce[1]) / 2;
  assert(Math.abs(value - want) < 1e-5, `${value} vs ${want}`);
});

Deno.test("regression loss: raw prediction and target, mean over batch and outputs", () => {
  const value = tf.tidy(() =>
    compileLoss(["square", "sub", "fx", "y"], "regression")(
      tf.tensor2d([[1], [2], [4]]),
      tf.tensor2d([[0], [0], [1]]),
      tf.ones([4]) as tf.Tensor1D,
    ).dataSync()[0]
  );
  assert(Math.abs(value - (1 + 4 + 9) / 3) < 1e-6, String(value));
});
