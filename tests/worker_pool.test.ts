/**
 * The worker pool against the in-process runner (cpu backend, so results are bit-identical),
 * a worker killed mid-request, and close() with work pending. Deno's sanitizers check that no
 * worker or op outlives a test.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { tf } from "../core/tensor/tf.ts";
import { initBackend } from "../core/tensor/backend.ts";
import { DEFAULT_SPLIT, loadDataset, prepare } from "../core/prepare.ts";
import { type EvaluatorConfig, InProcessRunner } from "../core/runner.ts";
import { DEFAULT_EVALUATION } from "../core/settings.ts";
import type { Tree } from "../core/expr/tree.ts";
import { WorkerPool } from "../workers/pool.ts";

const DATASET = { kind: "bundled", name: "iris" } as const;

const CONFIG: EvaluatorConfig = {
  model: { kind: "mlp", inputs: 4, outputs: 3, hidden: [8] },
  evaluation: {
    ...DEFAULT_EVALUATION,
    screen: { ...DEFAULT_EVALUATION.screen, steps: 20 },
    localSearch: { ...DEFAULT_EVALUATION.localSearch, metaSteps: 5 },
    fitnessSteps: 20,
  },
  seed: 11,
};

const TREES: Tree[] = [
  ["mul", -1, "mul", "y", "log", "fx"],
  ["square", "sub", "fx", "y"],
  ["add", "y", "fx"],
];

function startPool(size: number, evaluation = CONFIG.evaluation): Promise<WorkerPool> {
  return WorkerPool.start({
    size,
    backend: "cpu",
    dataset: DATASET,
    split: DEFAULT_SPLIT,
    config: { ...CONFIG, evaluation },
  });
}

/** The parts of the results that must not depend on where they ran (timings do). */
function essentials(screen: { rejected: boolean; gradientSignature?: string }, tune: {
  local: { phi: number[]; metaLosses: number[] };
  fitness: { fitness: number };
}) {
  return {
    rejected: screen.rejected,
    signature: screen.gradientSignature,
    phi: tune.local.phi,
    metaLosses: tune.local.metaLosses,
    fitness: tune.fitness.fitness,
  };
}

Deno.test("worker pool gives the in-process results, whatever the scheduling", async () => {
  await initBackend("cpu");
  const local = new InProcessRunner(prepare(await loadDataset(DATASET), CONFIG.seed), CONFIG);
  const expected = [];
  for (const [i, tree] of TREES.entries()) {
    expected.push(essentials(await local.screen(tree), await local.tune(tree, 100 + i)));
  }
  await local.close();

  const pool = await startPool(2);
  try {
    assertEquals(pool.backend, "cpu");
    assertEquals(pool.parallelism, 2);
    // Everything submitted at once: six requests over two workers.
    const screens = Promise.all(TREES.map((t) => pool.screen(t)));
    const tunes = Promise.all(TREES.map((t, i) => pool.tune(t, 100 + i)));
    const [s, t] = [await screens, await tunes];
    assertEquals(TREES.map((_, i) => essentials(s[i], t[i])), expected);
    assert(expected.every((e) => Number.isFinite(e.fitness)), "fixture trees should train");
    assertEquals(pool.counters, { retries: 0, restarts: 0 });
  } finally {
    await pool.close();
  }
  assertEquals(tf.memory().numTensors, 0, "in-process runner leaked tensors");
});

Deno.test("a worker killed mid-request is replaced and the request retried", async () => {
  // Longer fitness training, so that the request is surely still running when it is killed.
  const pool = await startPool(2, { ...CONFIG.evaluation, fitnessSteps: 100 });
  try {
    // The same request on both workers: the survivor's answer is the reference.
    const [killed, survivor] = [pool.tune(TREES[1], 5), pool.tune(TREES[1], 5)];
    await new Promise((r) => setTimeout(r, 20));
    assertEquals(pool.busyWorkers(), [0, 1], "both requests should still be running");
    pool.terminateWorker(0);
    const [retried, reference] = [await killed, await survivor];
    assertEquals(retried.local, reference.local);
    assertEquals(retried.fitness, reference.fitness);
    assertEquals(pool.counters, { retries: 1, restarts: 1 });
    // The pool still serves on both workers.
    const after = await Promise.all([pool.screen(TREES[0]), pool.screen(TREES[2])]);
    assert(after.every((r) => r.gradientSignature !== undefined));
  } finally {
    await pool.close();
  }
});

Deno.test("a request that fails twice rejects with both reasons; others are unaffected", async () => {
  const pool = await startPool(1);
  try {
    const bad = pool.screen(["nosuchop", "y"] as unknown as Tree);
    const good = pool.screen(TREES[1]);
    await assertRejects(() => bad, /failed twice: first worker 0: .*; then worker 0: /);
    assert((await good).gradientSignature !== undefined);
    assertEquals(pool.counters, { retries: 1, restarts: 0 });
  } finally {
    await pool.close();
  }
});

Deno.test("close() rejects queued and in-flight work and stops every worker", async () => {
  const pool = await startPool(1);
  const pending = [pool.tune(TREES[0], 1), pool.tune(TREES[1], 2), pool.screen(TREES[2])];
  // Handlers first: the rejections happen inside close().
  const rejections = pending.map((p) => assertRejects(() => p, /worker pool closed/));
  await pool.close();
  await Promise.all(rejections);
  await assertRejects(() => pool.screen(TREES[0]), /worker pool is closed/);
  assertEquals(pool.busyWorkers(), []);
});

Deno.test("start() rejects with the worker's init error", async () => {
  await assertRejects(
    () =>
      WorkerPool.start({
        size: 2,
        backend: "cpu",
        dataset: { kind: "csv", path: "/nonexistent/data.csv", target: "y" },
        split: DEFAULT_SPLIT,
        config: CONFIG,
      }),
    /worker \d failed to start: /,
  );
});
