/**
 * The TaylorGLO loss: its polynomial against the same expression written out by hand, and its
 * starting point, whose gradient in the prediction is squared error's (the terms without f, which
 * TaylorGLO drops, change no gradient).
 */
import { assertAlmostEquals, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { TAYLORGLO_PARAMETERS, TAYLORGLO_START, taylorGloLoss } from "../engine/taylorglo.ts";

await tf.setBackend("cpu");

const F = [[0.3, -1.2], [2.0, 0.5], [-0.7, 0.1]];
const Y = [[1, 0], [0, 1], [0.5, 0.25]];

Deno.test("taylorglo: the third-order polynomial in (y, f) about its centre, mean over the batch", () => {
  const phi = [0.2, -0.1, 0.5, 1.5, -0.3, 0.8, 0.25, -0.6];
  const loss = taylorGloLoss("regression");
  const value = tf.tidy(() => loss(tf.tensor2d(F), tf.tensor2d(Y), tf.tensor1d(phi)).dataSync()[0]);
  const [a, b, t0, t1, t2, t3, t4, t5] = phi;
  let sum = 0;
  F.flat().forEach((f, i) => {
    const u = f - b, v = Y.flat()[i] - a;
    sum += t0 * u + t1 * u * u + t2 * u ** 3 + t3 * v * u + t4 * v * u * u + t5 * v * v * u;
  });
  assertAlmostEquals(value, sum / F.flat().length, 1e-5);
});

Deno.test("taylorglo: the starting point's gradient in f is squared error's", () => {
  const loss = taylorGloLoss("regression");
  const phi = tf.tensor1d(TAYLORGLO_START);
  const y = tf.tensor2d(Y);
  const grad = tf.grad((f: tf.Tensor) => loss(f as tf.Tensor2D, y, phi))(tf.tensor2d(F));
  const mse = tf.grad((f: tf.Tensor) => tf.mean(tf.square(tf.sub(f, y))))(tf.tensor2d(F));
  const [g, m] = [grad.dataSync(), mse.dataSync()];
  g.forEach((v, i) => assertAlmostEquals(v, m[i], 1e-5));
  assertEquals(TAYLORGLO_START.length, TAYLORGLO_PARAMETERS);
});

Deno.test("taylorglo: classification sees softmax outputs, summed over classes", () => {
  const loss = taylorGloLoss("classification");
  const phi = [0, 0, 0, 1, 0, -2, 0, 0];
  const value = tf.tidy(() => loss(tf.tensor2d(F), tf.tensor2d(Y), tf.tensor1d(phi)).dataSync()[0]);
  let sum = 0;
  F.forEach((row, r) => {
    const e = row.map(Math.exp);
    const z = e.reduce((p, q) => p + q, 0);
    e.forEach((ei, c) => {
      const p = ei / z;
      sum += p * p - 2 * Y[r][c] * p;
    });
  });
  assertAlmostEquals(value, sum / F.length, 1e-5);
});
