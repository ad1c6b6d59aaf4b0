/**
 * The fused engine inside a search (engine/candidate_ops.ts, workers/pool.ts): how a job's
 * engine is decided, that the decision is recorded with both figures, that every worker of a
 * pool computes with the one decision, and that settings the engine refuses run on tfjs, with
 * the reason. On Deno's software adapter where there is no GPU; ignored without any adapter.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { candidateOps, disposeJob, prepareJob } from "../engine/candidate_ops.ts";
import { fusedDevice } from "../engine/webgpu/device.ts";
import { WorkerPool } from "../workers/pool.ts";
import type { JobContext } from "../core/runner.ts";
import type { Tree } from "../core/expr/tree.ts";
import { CALIBRATION_K, CALIBRATION_STEPS } from "../core/stack_plan.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { prepared, smallConfig } from "./support/search_fixture.ts";
import type { EvaluationSettings } from "../core/settings.ts";
import { foldScale } from "../core/loss_scale.ts";

await tf.setBackend("cpu");
const fd = await fusedDevice();
if (!fd) console.log("no WebGPU adapter here: the fused engine's search paths were not tested");

/** Losses with no hypergradient component that is zero analytically (see fused_dense.test.ts:
 * Adam turns the float noise of such a component into full steps). */
const TREES: Tree[] = [
  ["square", "sub", "fx", "y"],
  ["mul", "sub", "fx", "y", "tanh", "sub", "fx", "y"],
  ["add", "abs", "sub", "fx", "y", "tanh", "mul", "y", "fx"],
];

async function context(
  id: string,
  evaluation: (e: EvaluationSettings) => EvaluationSettings = (e) => e,
): Promise<JobContext> {
  const c = smallConfig(1);
  const { spec } = await prepared(c);
  return {
    id,
    dataset: c.dataset,
    split: c.split,
    preprocessing: c.preprocessing,
    config: { model: spec, evaluation: evaluation(c.evaluation), seed: c.seed },
  };
}

const items = TREES.map((tree, i) => ({ tree, phiSeed: 40 + i }));

Deno.test({
  name: "backend webgpu runs dense stacks on the fused engine, as the cpu backend computes them",
  ignore: !fd,
  fn: async () => {
    const ctx = await context("fused-always");
    const job = await prepareJob(ctx, "webgpu");
    const outcomes = await candidateOps(job).localSearchAndFitness(items);
    assertEquals(job.engine, undefined, "webgpu needs no decision: it always fuses");
    // The same candidates on tfjs (cpu), one at a time.
    const { data } = await prepared(smallConfig(1));
    const { model, evaluation, seed } = ctx.config;
    const ev = new CandidateEvaluator(data, model, evaluation, seed);
    for (let i = 0; i < items.length; i++) {
      const o = outcomes[i];
      assert(o.ok, JSON.stringify(o));
      const local = await ev.localSearch(items[i].tree, items[i].phiSeed);
      const fitness = await ev.fitness(items[i].tree, local.phi);
      assertEquals(o.local.steps, local.steps);
      o.local.phi.forEach((p, j) =>
        assert(Math.abs(p - local.phi[j]) <= 1e-5, `${i}: ${o.local.phi} vs ${local.phi}`)
      );
      // The metric to the bit; the tie-breaker's task loss within float rounding.
      const { taskLoss, ...measured } = fitness;
      const { taskLoss: fusedLoss, ...fusedMeasured } = o.fitness;
      assertEquals(fusedMeasured, measured);
      assert(Math.abs(fusedLoss! - taskLoss!) <= 1e-4 * taskLoss!, `${fusedLoss} vs ${taskLoss}`);
    }
    ev.dispose();
    await disposeJob(job);
  },
});

Deno.test({
  name: "scale-fair losses on the fused engine: the evaluator's scale, the folded loss trained",
  ignore: !fd,
  fn: async () => {
    const ctx = await context("fused-scaled", (e) => ({ ...e, normalizeScale: true }));
    const job = await prepareJob(ctx, "webgpu");
    const outcomes = await candidateOps(job).localSearchAndFitness(items);
    const { data } = await prepared(smallConfig(1));
    const { model, evaluation, seed } = ctx.config;
    const ev = new CandidateEvaluator(data, model, evaluation, seed);
    let scaled = 0;
    for (let i = 0; i < items.length; i++) {
      const o = outcomes[i];
      assert(o.ok, JSON.stringify(o));
      const scale = await ev.lossScale(items[i].tree, o.local.phi);
      assertEquals(o.scale, scale, `${i}: the scale as tfjs computes it from the tuned phi`);
      if (scale === undefined) continue;
      const folded = foldScale(items[i].tree, o.local.phi, scale);
      const want = await ev.fitness(folded.tree, folded.phi);
      assertEquals(o.fitness.fitness, want.fitness, `${i}: fitness of the folded loss`);
      scaled++;
    }
    assertEquals(scaled, items.length, "every candidate scaled");
    ev.dispose();
    await disposeJob(job);
  },
});

Deno.test({
  name: "auto measures the fused engine against tfjs once per job and records both figures",
  ignore: !fd,
  fn: async () => {
    const job = await prepareJob(await context("fused-auto"), "auto", true);
    const ops = candidateOps(job);
    const c = await ops.calibrate();
    assertEquals([c.k, c.steps], [CALIBRATION_K, CALIBRATION_STEPS]);
    const e = c.engine!;
    assert(
      e && e.fusedMs! > 0 && e.tfjsMs === Math.min(c.oneAtATimeMs, c.stackedMs),
      JSON.stringify(c),
    );
    assertEquals(e.choice, e.fusedMs! <= e.tfjsMs! ? "fused" : "tfjs");
    assertEquals(e.adapter, fd!.adapter);
    assertEquals(job.engine, e.choice);
    if (e.choice === "fused") assert(c.stack, "the fused engine always stacks");
    // Once: asked again, the same measurement.
    assertEquals(await ops.calibrate(), c);
    await disposeJob(job);
  },
});

Deno.test({
  name: "settings the fused engine refuses run on tfjs, and the calibration says why",
  ignore: !fd,
  fn: async () => {
    const ctx = await context("fused-refused", (e) => ({
      ...e,
      localSearch: { ...e.localSearch, unrollSteps: 2, metaSteps: 2 },
    }));
    const job = await prepareJob(ctx, "webgpu", true);
    const ops = candidateOps(job);
    const c = await ops.calibrate();
    assertEquals(c.engine?.choice, "tfjs");
    assert(c.engine!.reason.includes("exact unrolling through 2 steps"), c.engine!.reason);
    assertEquals(c.engine!.fusedMs, undefined);
    const [o] = await ops.localSearchAndFitness(items.slice(0, 1));
    assert(o.ok && o.local.steps === 2, JSON.stringify(o));
    await disposeJob(job);
  },
});

Deno.test({
  name: "a pool with auto decides each job's engine once and every worker computes with it",
  ignore: !fd,
  fn: async () => {
    const pool = await WorkerPool.start({ size: 2, backend: "auto" });
    try {
      assertEquals(pool.fused, fd!.adapter);
      const runner = pool.forJob(await context("pool-auto"));
      // No calibration asked: the pool takes the job's one measurement before its first stack.
      const first = await Promise.all(items.map((x) => runner.localSearchAndFitness([x])));
      const c = await runner.calibrate();
      assert(
        c.engine && (c.engine.choice === "fused" || c.engine.choice === "tfjs"),
        JSON.stringify(c),
      );
      assertEquals(await runner.calibrate(), c, "one calibration per job");
      // The same candidates again, scheduled anew over the two workers: the same results.
      const again = await Promise.all(
        [...items].reverse().map((x) => runner.localSearchAndFitness([x])),
      );
      const essentials = (o: (typeof first)[number][number]) =>
        o.ok ? { phi: o.local.phi, metaLosses: o.local.metaLosses, fitness: o.fitness } : o;
      assertEquals(again.reverse().map(([o]) => essentials(o)), first.map(([o]) => essentials(o)));
      await runner.close();
    } finally {
      await pool.close();
    }
  },
});
