/**
 * The progress reducer on its own: hand-made events first (exact values), then the events of a
 * real search on Iris, fresh and resumed, to show that `generation` counts finished generations
 * at every step and the one in progress is `current.generation`. Also the progress line the CLI
 * prints from it, in the final phase.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  initialProgress,
  type Progress,
  type ProgressEvent,
  progressSummary,
  reduceProgress,
} from "../core/progress.ts";
import {
  type GenerationStats,
  newSearchState,
  runGeneration,
  runSearch,
  type SearchConfig,
  type SearchProgress,
  type SearchState,
} from "../core/search.ts";
import { tf } from "../engine/tensor/tf.ts";
import { progressLine } from "../cli/progress.ts";
import { inProcess, smallConfig } from "./support/search_fixture.ts";

await tf.setBackend("cpu");

const fold = (events: ProgressEvent[], from: Progress) => events.reduce(reduceProgress, from);

function stats(generation: number, counts: Partial<GenerationStats> = {}): GenerationStats {
  return {
    generation,
    population: 6,
    cacheHits: 0,
    rejected: 0,
    equivalent: 0,
    distinct: 6,
    evaluated: 6,
    diverged: 0,
    failed: 0,
    bestFitness: null,
    medianFitness: null,
    times: { screenMs: 0, localSearchMs: 0, fitnessMs: 0, wallMs: 1000 },
    ...counts,
  };
}

/** The search after `history.length` generations, each taking one second. */
function stateAfter(history: GenerationStats[], extra: Partial<SearchState> = {}): SearchState {
  return {
    ...newSearchState(smallConfig()),
    generation: history.length,
    history,
    evaluations: history.reduce((a, g) => a + g.evaluated, 0),
    elapsedMs: history.length * 1000,
    ...extra,
  };
}

function candidate(generation: number, done: number, extra: Partial<SearchProgress> = {}) {
  return {
    kind: "candidate",
    progress: {
      generation,
      generations: 4,
      done,
      pending: 5,
      evaluations: 7,
      bestFitness: 0.25,
      cacheHits: 1,
      rejections: 0,
      elapsedMs: 1500,
      ...extra,
    },
  } as const;
}

Deno.test("a fresh search: queued, candidates of generation 1, then generation 1 finished", () => {
  const queued = initialProgress(4);
  assertEquals(queued.phase, "queued");
  assertEquals(queued.generation, 0);
  const started = reduceProgress(queued, { kind: "started" });
  assertEquals(started, { ...queued, phase: "search" });
  assertEquals(started.resumedFrom, undefined);

  const during = fold([candidate(1, 0), candidate(1, 2)], started);
  assertEquals(during.generation, 0, "no generation has finished yet");
  assertEquals(during.current, { generation: 1, done: 2, pending: 5 });
  assertEquals([during.evaluations, during.bestFitness, during.elapsedMs], [7, 0.25, 1500]);
  assertEquals(during.etaMs, null, "nothing to estimate from before a generation has finished");
  assertEquals(during.filters, queued.filters, "filters count finished generations only");

  const failed = {
    tree: ["sub", "y", "fx"],
    outcome: "failed",
    fitness: null,
    reason: "failed twice",
    generation: 0,
  } as const;
  const state = stateAfter([stats(1, { cacheHits: 1, rejected: 2, failed: 1, evaluated: 3 })], {
    archive: { k: { ...failed, tree: [...failed.tree] } },
    hallOfFame: { capacity: 10, entries: [{ tree: ["sub", "y", "fx"], fitness: 0.2 }] },
  });
  const after = reduceProgress(during, { kind: "generation", state });
  assertEquals(after.generation, 1);
  assertEquals(after.current, undefined);
  assertEquals(after.filters, { cacheHits: 1, rejected: 2, equivalent: 0, diverged: 0, failed: 1 });
  assertEquals([after.evaluations, after.bestFitness, after.elapsedMs], [3, 0.2, 1000]);
  assertEquals(after.etaMs, 3000, "one second per generation, three to go");
  assertEquals(after.failures, [{ generation: 1, loss: "y - f(x)", reason: "failed twice" }]);
  assertEquals("failures" in progressSummary(after), false);
  assertEquals(progressSummary(after).generation, 1);

  // The next generation's candidates keep the finished count and the search loop's estimate.
  const next = reduceProgress(after, candidate(2, 1, { etaMs: 2500 }));
  assertEquals([next.generation, next.current?.generation, next.etaMs], [1, 2, 2500]);
  assertEquals(reduceProgress(next, candidate(2, 2)).etaMs, 2500);
});

Deno.test("a resumed search starts from its checkpoint's counts", () => {
  const checkpoint = stateAfter([stats(1), stats(2, { cacheHits: 2 }), stats(3, { rejected: 1 })]);
  // Whatever was shown before the restart, the checkpoint is the truth.
  const stale = { ...initialProgress(4), phase: "search", evaluations: 99 } as const;
  const resumed = reduceProgress(stale, { kind: "started", from: checkpoint });
  assertEquals(resumed.phase, "search");
  assertEquals(resumed.resumedFrom, 3);
  assertEquals(resumed.generation, 3);
  assertEquals(resumed.evaluations, 18);
  assertEquals(resumed.filters.cacheHits, 2);
  assertEquals(resumed.filters.rejected, 1);
  assertEquals(resumed.etaMs, 1000);
  const during = reduceProgress(resumed, candidate(4, 3));
  assertEquals([during.generation, during.current?.generation, during.resumedFrom], [3, 4, 3]);
  const done = reduceProgress(during, {
    kind: "generation",
    state: stateAfter([...checkpoint.history, stats(4)]),
  });
  assertEquals([done.generation, done.resumedFrom, done.etaMs], [4, 3, 0]);
});

Deno.test("the final evaluation has its own progress and estimate; the end clears estimates", () => {
  const searched = reduceProgress(
    reduceProgress(initialProgress(2), { kind: "started" }),
    { kind: "generation", state: stateAfter([stats(1), stats(2)]) },
  );
  assertEquals(searched.elapsedMs, 2000);
  const started = reduceProgress(searched, { kind: "final-started", seeds: 3 });
  assertEquals(started.phase, "final");
  assertEquals(started.final, { done: 0, total: 3, elapsedMs: 0 });
  assertEquals(started.etaMs, null);
  const one = reduceProgress(started, { kind: "final-seed", done: 1, total: 3, elapsedMs: 10_000 });
  assertEquals([one.elapsedMs, one.etaMs], [12_000, 20_000]);
  const two = reduceProgress(one, { kind: "final-seed", done: 2, total: 3, elapsedMs: 16_000 });
  assertEquals([two.elapsedMs, two.etaMs], [18_000, 8_000]);
  assertEquals(two.generation, 2);

  const line = progressLine(two);
  assert(line.includes("final runs 2/3"), line);
  assert(line.includes("ETA 00:08"), line);
  assert(line.includes("generations 2/2"), line);

  const end = reduceProgress(two, { kind: "finished" });
  assertEquals(end.phase, "done");
  assertEquals(end.etaMs, null);
  assertEquals(end.final, { done: 2, total: 3, elapsedMs: 16_000 });
  assert(!progressLine(end).includes("ETA"), progressLine(end));
});

/** Runs a real search, folding its hooks into progress; checks each step as it comes. */
async function followed(config: SearchConfig, resumeFrom?: SearchState) {
  const { runner } = await inProcess(config);
  let progress = reduceProgress(initialProgress(config.budget.generations), {
    kind: "started",
    from: resumeFrom,
  });
  let finishedGenerations = resumeFrom?.generation ?? 0;
  let candidates = 0;
  try {
    const { state } = await runSearch(config, runner, {
      onProgress: (p) => {
        progress = reduceProgress(progress, { kind: "candidate", progress: p });
        candidates++;
        assertEquals(progress.generation, finishedGenerations);
        assertEquals(progress.current?.generation, finishedGenerations + 1);
      },
      onGeneration: (_stats, state) => {
        finishedGenerations++;
        progress = reduceProgress(progress, { kind: "generation", state });
        assertEquals(progress.generation, finishedGenerations);
        assertEquals(progress.generation, state.generation);
        assertEquals(progress.current, undefined);
      },
    }, resumeFrom);
    assert(candidates > 0, "the search reported its candidates");
    return { progress, state };
  } finally {
    await runner.close();
  }
}

Deno.test("over a real search, fresh and resumed, generation counts finished generations", async () => {
  const config = smallConfig(4, { budget: { ...smallConfig().budget, generations: 3 } });
  const whole = await followed(config);
  assertEquals(whole.progress.generation, 3);
  assertEquals(whole.progress.evaluations, whole.state.evaluations);

  const { runner } = await inProcess(config);
  let first: SearchState;
  try {
    first = (await runGeneration(config, newSearchState(config), runner)).state;
  } finally {
    await runner.close();
  }
  const resumed = await followed(config, JSON.parse(JSON.stringify(first)));
  assertEquals(resumed.progress.resumedFrom, 1);
  assertEquals(resumed.progress.generation, 3);
  // Resuming changes nothing the search computes, so the counts end the same (times may differ).
  const counts = (p: Progress) => [p.generation, p.evaluations, p.bestFitness, p.filters];
  assertEquals(counts(resumed.progress), counts(whole.progress));
});
