/**
 * cpu, wasm and webgpu agree on a small search step: one hypergradient through an unrolled SGD
 * step and a short fitness training. On a machine without a GPU, Deno offers a software WebGPU
 * adapter (llvmpipe), so the WebGPU path runs here too, slowly.
 */
import { assert, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { type BackendName, initBackend } from "../engine/tensor/backend.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { initialValues, toParams } from "../engine/models.ts";
import { hypergradient, unrolledTaskLoss } from "../engine/train.ts";
import { Rng } from "../core/rng.ts";
import { prepared, smallConfig } from "./support/search_fixture.ts";
import type { Tree } from "../core/expr/tree.ts";

const TREE: Tree = ["add", "mul", -1, "mul", "y", "log", "fx", "square", "sub", "fx", "y"];

interface StepResult {
  hypergradient: number[];
  metaLoss: number;
  fitness: number;
  signature?: string;
}

async function searchStep(backend: BackendName): Promise<StepResult> {
  await initBackend(backend);
  const config = smallConfig(1);
  const { data, spec } = await prepared(config);
  const evaluation = { ...config.evaluation, fitnessSteps: 20 };
  const ev = new CandidateEvaluator(data, spec, evaluation, 1);
  const rng = new Rng(2);
  const theta0 = toParams(spec, initialValues(spec, () => rng.next()));
  try {
    const screen = await ev.screen(TREE);
    const phi = TREE.map((_, i) => 1 + 0.01 * i);
    const { value, grad } = tf.tidy(() => {
      const batches = [ev.train.batch(0)];
      const loss = compileLoss(TREE, data.task);
      const f = unrolledTaskLoss(
        spec,
        data.task,
        loss,
        evaluation.inner,
        theta0,
        batches,
        ev.validation.batch(0),
      );
      return hypergradient(f, tf.tensor1d(phi));
    });
    const result = {
      hypergradient: Array.from(await grad.data()),
      metaLoss: (await value.data())[0],
      fitness: (await ev.fitness(TREE, phi)).fitness,
      signature: screen.gradientSignature,
    };
    tf.dispose([value, grad]);
    return result;
  } finally {
    tf.dispose(theta0);
    ev.dispose();
  }
}

const hasWebGpu = !!(navigator as Navigator & { gpu?: GPU }).gpu &&
  !!(await (navigator as Navigator & { gpu: GPU }).gpu.requestAdapter().catch(() => null));

Deno.test("cpu, wasm and webgpu agree within float tolerance on a small search step", async () => {
  const backends: BackendName[] = hasWebGpu ? ["cpu", "wasm", "webgpu"] : ["cpu", "wasm"];
  const results = new Map<BackendName, StepResult>();
  for (const b of backends) results.set(b, await searchStep(b));
  const ref = results.get("cpu")!;
  for (const [b, r] of results) {
    // float32 summation order differs between backends: agreement to 1e-3 relative (of the
    // largest component, for the hypergradient) is what float tolerance means here.
    assertLess(
      Math.abs(r.metaLoss - ref.metaLoss) / Math.abs(ref.metaLoss),
      1e-4,
      `${b} meta-loss`,
    );
    const scale = Math.max(...ref.hypergradient.map(Math.abs));
    const worst = Math.max(...r.hypergradient.map((v, i) => Math.abs(v - ref.hypergradient[i])));
    assertLess(
      worst / scale,
      1e-3,
      `${b} hypergradient ${r.hypergradient} vs ${ref.hypergradient}`,
    );
    assert(r.signature === ref.signature, `${b} gradient signature differs`);
    // Error rate on 12 validation rows moves in steps of 1/12: it must be identical.
    assert(r.fitness === ref.fitness, `${b} fitness ${r.fitness} vs ${ref.fitness}`);
  }
  await initBackend("cpu");
  console.log(
    `backends compared: ${backends.join(", ")}${hasWebGpu ? "" : " (no WebGPU adapter here)"}`,
  );
});
