/**
 * The job's clock: `maxSeconds` bounds the whole job, the final evaluation included (its time
 * estimated from the search's own training speed), and a time estimate appears while the first
 * generation is still running. Real trainings on bundled Iris, cpu backend.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { finalRun } from "../engine/final_runs.ts";
import { searchAndEvaluate } from "../core/pipeline.ts";
import {
  finalEstimateMs,
  newSearchState,
  runSearch,
  type SearchConfig,
  type SearchProgress,
  type SearchState,
  stoppedBy,
} from "../core/search.ts";
import type { GenerationStats } from "../core/generation.ts";
import { inProcess, smallConfig } from "./support/search_fixture.ts";

await tf.setBackend("cpu");

function withBudget(config: SearchConfig, budget: Partial<SearchConfig["budget"]>): SearchConfig {
  return { ...config, budget: { ...config.budget, ...budget } };
}

Deno.test("the time limit leaves the final evaluation's estimated time, unless told not to", () => {
  const base = smallConfig();
  const config = withBudget(
    { ...base, final: { ...base.final, steps: 2000, seeds: 5, tuneLr: false } },
    { generations: 50, maxSeconds: 100 },
  );
  // Two generations of 20 s each; their fitness trainings ran 1,000 steps in 2 s: 2 ms a step.
  const generation = { times: { wallMs: 20_000, fitnessMs: 2000, fitnessSteps: 1000 } };
  const state: SearchState = {
    ...newSearchState(config),
    generation: 2,
    elapsedMs: 40_000,
    history: [generation, generation] as unknown as GenerationStats[],
  };
  // 5 seeds, 2 trainings each of 2,000 steps, on 2 workers: 10,000 steps each at 2 ms = 20 s.
  assertEquals(finalEstimateMs(config, state, 2), 20_000);
  assertEquals(finalEstimateMs(config, state, 5), 8_000);
  assertEquals(finalEstimateMs({ ...config, final: { ...config.final, seeds: 0 } }, state, 2), 0);
  // With the tuned comparison: 5 candidate rates x 2 losses of trials, and a tuned row at worst
  // as long as the paper's: 60,000 steps on 2 workers at 2 ms = 60 s; the grid's extension adds
  // at worst a rate at both edges for both losses per round, 2 rounds: 16,000 steps, 16 s more.
  const tuned = { ...config, final: { ...config.final, tuneLr: true, lrExtend: 0 } };
  assertEquals(tuned.final.lrGrid.length, 5);
  assertEquals(finalEstimateMs(tuned, state, 2), 60_000);
  const extended = { ...tuned, final: { ...tuned.final, lrExtend: 2 } };
  assertEquals(finalEstimateMs(extended, state, 2), 76_000);
  // A slow first generation (the warm-up) is left out once another one was timed.
  const warmUp = { times: { wallMs: 20_000, fitnessMs: 9000, fitnessSteps: 1000 } };
  const history = [warmUp, generation] as unknown as GenerationStats[];
  assertEquals(finalEstimateMs(config, { history }, 2), 20_000);
  assertEquals(finalEstimateMs(config, { history: history.slice(0, 1) }, 2), 90_000);
  const clock = { elapsedMs: 41_000, parallelism: 2 };
  // 41 s + 20 s + 20 s = 81 s: room for one more generation.
  assertEquals(stoppedBy(config, state, clock), undefined);
  // 61 s + 20 s + 20 s = 101 s: stop, though the search alone (81 s) would fit.
  const later = { ...clock, elapsedMs: 61_000 };
  assertEquals(stoppedBy(config, state, later), "max-seconds");
  const searchOnly = withBudget(config, { reserveFinal: false });
  assertEquals(stoppedBy(searchOnly, state, later), undefined);
  // The clock counts what came before the generations (preparing the data) too.
  assertEquals(stoppedBy(searchOnly, state, { ...clock, elapsedMs: 81_000 }), "max-seconds");
});

Deno.test("maxSeconds bounds the whole job: search and final evaluation together", async () => {
  // Some 6 s of final evaluation (two seeds of 1,000 steps, twice) within 40 s (room for a
  // few generations even on a loaded machine). Fitness trains
  // 300 steps, long enough that its speed per step is the training's, not the fixed costs'.
  const base = smallConfig(5);
  const config = withBudget(
    {
      ...base,
      evaluation: { ...base.evaluation, fitnessSteps: 300 },
      final: { ...base.final, steps: 1000, seeds: 2 },
    },
    { population: 8, generations: 1000, maxSeconds: 40 },
  );
  const { data, spec, runner } = await inProcess(config);
  const startedAt = performance.now();
  try {
    const { result, stopped } = await searchAndEvaluate(
      config,
      data,
      {
        runner,
        finalRuns: (tree, phi, settings, run) => finalRun(data, spec, tree, phi, settings, run),
        backend: { name: "cpu", workers: 0 },
        versions: { lossmith: "", deno: "", v8: "", typescript: "", tfjs: "" },
      },
      {},
      { startedAt },
    );
    const seconds = (performance.now() - startedAt) / 1000;
    assertEquals(stopped, "max-seconds");
    assert(result.final !== undefined, "the final evaluation ran");
    // The estimate is the search's own speed, measured on a loaded machine: a fifth of slack.
    // Without the reserve the search alone would fill the 40 s and the final come on top.
    assert(seconds <= 40 * 1.2, `the job took ${seconds.toFixed(1)} s for a 40 s limit`);
  } finally {
    await runner.close();
  }
});

Deno.test("an estimate of the time left appears before the first generation ends", async () => {
  // Seed 5 gives its first generation four candidates to evaluate.
  const config = withBudget(smallConfig(5), { population: 8, generations: 4 });
  const { runner } = await inProcess(config);
  const early: SearchProgress[] = [];
  let firstEvaluated = 0;
  try {
    await runSearch(config, runner, {
      onProgress: (p) => {
        if (p.generation === 1 && p.done < p.pending && p.etaMs !== undefined) early.push(p);
      },
      onGeneration: (stats) => {
        if (stats.generation === 1) firstEvaluated = stats.evaluated;
      },
    });
  } finally {
    await runner.close();
  }
  assert(firstEvaluated >= 2, `generation 1 evaluated ${firstEvaluated}: nothing to pace`);
  assert(early.length > 0, "no estimate before generation 1 ended");
  for (const p of early) {
    // The rest of this generation, then three more like it.
    assert(p.etaMs! >= 3 * p.elapsedMs, `${p.etaMs} ms left after ${p.elapsedMs} ms`);
  }
});
