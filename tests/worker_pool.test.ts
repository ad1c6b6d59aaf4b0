/**
 * The shared worker pool against the in-process runner (cpu backend, so results are
 * bit-identical), a worker killed mid-request, jobs sharing the pool fairly, cancellation, and
 * close() with work pending. Deno's sanitizers check that no worker or op outlives a test.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { loadDataset, prepare } from "../core/prepare.ts";
import { InProcessRunner } from "../engine/runner.ts";
import type { CandidateRunner, EvaluatorConfig } from "../core/runner.ts";
import { defaultSettings } from "../core/settings.ts";
import type { Tree } from "../core/expr/tree.ts";
import { type JobContext, type JobRunner, WorkerPool } from "../workers/pool.ts";

const DEFAULT_EVALUATION = defaultSettings().evaluation;
const DEFAULT_SPLIT = defaultSettings().split;

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

const NO_COUNTS = { retries: 0, restarts: 0, broken: 0, lost: 0, abandoned: 0, startFailures: 0 };

function context(id: string, evaluation = CONFIG.evaluation): JobContext {
  return {
    id,
    dataset: DATASET,
    split: DEFAULT_SPLIT,
    preprocessing: defaultSettings().preprocessing,
    config: { ...CONFIG, evaluation },
  };
}

/** A pool and one job's runner on it, as the CLI uses them. */
async function startPool(
  size: number,
  evaluation = CONFIG.evaluation,
): Promise<{ pool: WorkerPool; job: JobRunner }> {
  const pool = await WorkerPool.start({ size, backend: "cpu" });
  return { pool, job: pool.forJob(context("job", evaluation)) };
}

/** Local search and fitness of one candidate: a stack of one, which must succeed. */
async function evaluate(
  runner: Pick<CandidateRunner, "localSearchAndFitness">,
  tree: Tree,
  phiSeed: number,
) {
  const [outcome] = await runner.localSearchAndFitness([{ tree, phiSeed }]);
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome;
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
    expected.push(essentials(await local.screen(tree), await evaluate(local, tree, 100 + i)));
  }
  await local.close();

  const { pool, job } = await startPool(2);
  try {
    assertEquals(pool.backend, "cpu");
    assertEquals(pool.parallelism, 2);
    // Everything submitted at once: six requests over two workers.
    const screens = Promise.all(TREES.map((t) => job.screen(t)));
    const tunes = Promise.all(TREES.map((t, i) => evaluate(job, t, 100 + i)));
    const [s, t] = [await screens, await tunes];
    assertEquals(TREES.map((_, i) => essentials(s[i], t[i])), expected);
    assert(expected.every((e) => Number.isFinite(e.fitness)), "fixture trees should train");
    assertEquals(pool.counters, NO_COUNTS);
  } finally {
    await pool.close();
  }
  assertEquals(tf.memory().numTensors, 0, "in-process runner leaked tensors");
});

Deno.test("a worker killed mid-request is replaced and the request retried, uncharged", async () => {
  // Longer fitness training, so that the request is surely still running when it is killed.
  const { pool, job } = await startPool(2, { ...CONFIG.evaluation, fitnessSteps: 100 });
  try {
    // The same request on both workers: the survivor's answer is the reference.
    const [killed, survivor] = [evaluate(job, TREES[1], 5), evaluate(job, TREES[1], 5)];
    await new Promise((r) => setTimeout(r, 20));
    assertEquals(pool.busyWorkers(), [0, 1], "both requests should still be running");
    pool.terminateWorker(0);
    const [retried, reference] = [await killed, await survivor];
    assertEquals(retried.local, reference.local);
    assertEquals(retried.fitness, reference.fitness);
    assertEquals(pool.counters, { ...NO_COUNTS, retries: 1, restarts: 1, lost: 1 });
    // The pool still serves on both workers.
    const after = await Promise.all([job.screen(TREES[0]), job.screen(TREES[2])]);
    assert(after.every((r) => r.gradientSignature !== undefined));
  } finally {
    await pool.close();
  }
});

Deno.test("a request that fails twice rejects with both reasons; others are unaffected", async () => {
  const { pool, job } = await startPool(1);
  try {
    const bad = job.screen(["nosuchop", "y"] as unknown as Tree);
    const good = job.screen(TREES[1]);
    // A pool of one: the retry can only go to the same (healthy) worker.
    await assertRejects(() => bad, /failed twice: first worker 0: .*; then worker 0: /);
    assert((await good).gradientSignature !== undefined);
    assertEquals(pool.counters, { ...NO_COUNTS, retries: 1 });
  } finally {
    await pool.close();
  }
});

Deno.test("a failed request is retried on a different worker when there is one", async () => {
  const { pool, job } = await startPool(2);
  try {
    const bad = ["nosuchop", "y"] as unknown as Tree;
    for (let i = 0; i < 3; i++) {
      const e = await assertRejects(() => job.screen(bad));
      const [, first, then] = /first worker (\d): .*; then worker (\d): /.exec(e.message) ?? [];
      assert(first !== undefined && first !== then, e.message);
    }
    assertEquals(pool.counters, { ...NO_COUNTS, retries: 3 });
  } finally {
    await pool.close();
  }
});

Deno.test("close() rejects queued and in-flight work and stops every worker", async () => {
  const { pool, job } = await startPool(1);
  const pending = [evaluate(job, TREES[0], 1), evaluate(job, TREES[1], 2), job.screen(TREES[2])];
  // Handlers first: the rejections happen inside close().
  const rejections = pending.map((p) => assertRejects(() => p, /worker pool closed/));
  await pool.close();
  await Promise.all(rejections);
  await assertRejects(() => job.screen(TREES[0]), /worker pool is closed/);
  assertEquals(pool.busyWorkers(), []);
});

Deno.test("start() rejects when the backend cannot start", async () => {
  await assertRejects(
    () => WorkerPool.start({ size: 2, backend: "nosuch" as "cpu" }),
    /worker \d failed to start: /,
  );
});

Deno.test("a job whose data cannot be prepared fails at once, without retries or harm to others", async () => {
  const pool = await WorkerPool.start({ size: 1, backend: "cpu" });
  try {
    const failures: Error[] = [];
    const broken = pool.forJob({
      ...context("broken"),
      dataset: { kind: "csv", path: "/nonexistent/data.csv", target: "y" },
    }, (e) => failures.push(e));
    const healthy = pool.forJob(context("healthy"));
    const lost = [broken.screen(TREES[0]), broken.screen(TREES[1])];
    const fine = healthy.screen(TREES[1]);
    for (const p of lost) await assertRejects(() => p, /could not prepare the data of job broken/);
    assertEquals(failures.length, 1, "onFailure is called once");
    assert(broken.failure !== undefined);
    await assertRejects(() => evaluate(broken, TREES[0], 1), /could not prepare/);
    assert((await fine).gradientSignature !== undefined);
    assertEquals(pool.counters, NO_COUNTS);
  } finally {
    await pool.close();
  }
});

Deno.test("two jobs share one pool in turn, and each gets the answers it would get alone", async () => {
  const pool = await WorkerPool.start({ size: 1, backend: "cpu" });
  const order: string[] = [];
  try {
    const a = pool.forJob(context("a"));
    const b = pool.forJob({ ...context("b"), config: { ...CONFIG, seed: 12 } });
    // Job a queues four requests before job b queues any: b must not wait for all of them.
    const track = (name: string, p: Promise<unknown>) => p.then(() => order.push(name));
    const work = [
      ...TREES.concat([TREES[0]]).map((t) => track("a", a.screen(t))),
      ...TREES.slice(0, 2).map((t) => track("b", b.screen(t))),
    ];
    await Promise.all(work);
    // One worker: a's first request starts at once; then the jobs alternate while both wait.
    assertEquals(order, ["a", "b", "a", "b", "a", "a"]);
    // A job on its own pool gives the same answers: evaluators are per job, not shared.
    const alone = await WorkerPool.start({ size: 1, backend: "cpu" });
    try {
      const solo = alone.forJob({ ...context("solo"), config: { ...CONFIG, seed: 12 } });
      assertEquals(
        (await solo.screen(TREES[1])).gradientSignature,
        (await b.screen(TREES[1])).gradientSignature,
      );
    } finally {
      await alone.close();
    }
  } finally {
    await pool.close();
  }
});

Deno.test("cancelling a job drops its queue and abandons its work in flight within milliseconds", async () => {
  const pool = await WorkerPool.start({ size: 1, backend: "cpu" });
  try {
    const slow = pool.forJob(context("slow", { ...CONFIG.evaluation, fitnessSteps: 2000 }));
    const other = pool.forJob(context("other"));
    const inFlight = evaluate(slow, TREES[1], 1);
    const queued = evaluate(slow, TREES[0], 2);
    const rejected = [inFlight, queued].map((p) => assertRejects(() => p, /was cancelled/));
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(pool.busyWorkers(), [0]);
    const t0 = performance.now();
    await slow.close();
    await Promise.all(rejected);
    const ms = performance.now() - t0;
    console.log(`cancel -> requests settled: ${ms.toFixed(1)} ms`);
    assert(ms < 1000, `cancellation took ${ms} ms`);
    assertEquals(pool.counters.abandoned, 1);
    await assertRejects(() => slow.screen(TREES[0]), /was cancelled/);
    // The replacement worker serves the other job.
    assert((await other.screen(TREES[1])).gradientSignature !== undefined);
  } finally {
    await pool.close();
  }
});
