/**
 * Saved tensors share their buffer (engine/tensor/saved_tensors.ts): on wasm, where tfjs's own
 * clone is a real copy, the hypergradient through unrolled steps is bitwise the same with sharing
 * on and off, no Identity kernel runs for the tape's saved tensors, and nothing leaks. (The cpu
 * backend's finite-difference tests run with sharing on too: hypergradient.test.ts.)
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { shareSavedTensors, sharingSavedTensors } from "../engine/tensor/saved_tensors.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { initialValues, type ModelSpec, toParams } from "../engine/models.ts";
import { defaultSettings } from "../core/settings.ts";
import { type Batch, hypergradient, unrolledTaskLoss } from "../engine/train.ts";
import { Rng } from "../core/rng.ts";
import { RICH_TREE } from "./support/finite_differences.ts";

const SPEC: ModelSpec = { kind: "mlp", inputs: 12, outputs: 4, hidden: [9] };

/** A 3-step hypergradient of a rich tree (momentum, weight decay) and its Identity kernels. */
async function run(): Promise<{ grad: number[]; identities: number; leaked: number }> {
  const rng = new Rng(4);
  const random = (n: number) => Array.from({ length: n }, () => rng.normal());
  const batch = (): Batch => ({
    x: tf.tensor2d(random(16 * 12), [16, 12]),
    y: tf.oneHot(tf.tensor1d(random(16).map((v) => (v > 0 ? 1 : 3)), "int32"), 4)
      .toFloat() as tf.Tensor2D,
  });
  const batches = [batch(), batch(), batch()];
  const validation = batch();
  const theta0 = toParams(SPEC, initialValues(SPEC, () => rng.next()));
  const phi = tf.tensor1d(RICH_TREE.map((_, i) => 0.9 + 0.02 * i));
  const loss = compileLoss(RICH_TREE, "classification");
  const before = tf.memory().numTensors;
  const compute = () =>
    tf.tidy(() => {
      const f = unrolledTaskLoss(
        SPEC,
        "classification",
        loss,
        defaultSettings().evaluation.inner,
        theta0,
        batches,
        validation,
      );
      return hypergradient(f, phi).grad;
    });
  const profile = await tf.profile(() => compute());
  tf.dispose(profile.result as tf.Tensor);
  const grad = compute();
  const values = Array.from(await grad.data());
  grad.dispose();
  const leaked = tf.memory().numTensors - before;
  tf.dispose([...batches.flatMap((b) => [b.x, b.y]), validation.x, validation.y, ...theta0, phi]);
  const identities = profile.kernels.filter((k) => k.name === "Identity").length;
  return { grad: values, identities, leaked };
}

Deno.test("saved tensors: shared on wasm, same hypergradient as tfjs's copies, no leak", async () => {
  await initBackend("wasm");
  assert(sharingSavedTensors(), "sharing is on by default");
  const shared = await run();
  shareSavedTensors(false);
  let copied;
  try {
    copied = await run();
  } finally {
    shareSavedTensors(true);
  }
  assertEquals(shared.grad, copied.grad, "hypergradient");
  assert(shared.grad.some((g) => g !== 0), "a hypergradient that is not all zeros");
  assert(copied.identities > 100, `tfjs's clone copies (${copied.identities} Identity kernels)`);
  assert(shared.identities < copied.identities / 10, `${shared.identities} Identity kernels`);
  assertEquals(shared.leaked, 0, "live tensors after the shared run");
  assertEquals(copied.leaked, 0, "live tensors after the copied run");
});
