/** The search loop on real data (bundled Iris, cpu backend): reproducibility and bookkeeping. */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { newSearchState, runGeneration, runSearch, type SearchConfig } from "../core/search.ts";
import { rankLosses } from "../core/result.ts";
import { inProcess, searchInProcess, smallConfig } from "./support/search_fixture.ts";
import { isWellFormed, type Tree } from "../core/expr/tree.ts";
import { canonicalKey } from "../core/expr/canonical.ts";

await tf.setBackend("cpu");

const search = (config: SearchConfig) => searchInProcess(config);

Deno.test("the same seed gives the same ranked formulas and fitness values (cpu backend)", async () => {
  const config = smallConfig(3);
  const a = await search(config);
  const b = await search(config);
  const ranked = (s: typeof a) => rankLosses(s.state).map((l) => [l.canonical, l.fitness, l.phi]);
  assert(a.state.hallOfFame.entries.length > 0, "the search found no loss at all");
  assertEquals(ranked(a), ranked(b));
  assertEquals(
    a.state.history.map((h) => h.bestFitness),
    b.state.history.map((h) => h.bestFitness),
  );
  assertEquals(a.state.population, b.state.population);
});

Deno.test("a different seed gives a different search", async () => {
  const a = await search(smallConfig(3));
  const b = await search(smallConfig(4));
  assert(JSON.stringify(a.state.population) !== JSON.stringify(b.state.population));
});

Deno.test("resuming from a saved generation gives the same result as an uninterrupted run", async () => {
  const config = smallConfig(5, {});
  const whole = await search(config);
  const { runner } = await inProcess(config);
  try {
    const first = await runGeneration(config, newSearchState(config), runner);
    // Through JSON, as a checkpoint in a store would be.
    const saved = JSON.parse(JSON.stringify(first.state));
    const resumed = await runSearch(config, runner, {}, saved);
    assertEquals(rankLosses(resumed.state), rankLosses(whole.state));
    assertEquals(resumed.state.population, whole.state.population);
  } finally {
    await runner.close();
  }
});

Deno.test("every generation accounts for each individual exactly once", async () => {
  const config = smallConfig(7, {
    budget: { ...smallConfig().budget, population: 8, generations: 3 },
  });
  const { state } = await search(config);
  assertEquals(state.history.length, 3);
  for (const g of state.history) {
    assertEquals(g.cacheHits + g.distinct, g.population, JSON.stringify(g));
    assertEquals(g.rejected + g.equivalent + g.evaluated + g.failed, g.distinct, JSON.stringify(g));
    assert(g.diverged <= g.evaluated);
  }
  assertEquals(state.population.length, 8);
  for (const tree of state.population) assert(isWellFormed(tree));
  // Every individual's fitness comes from the archive entry of its canonical form.
  state.population.forEach((t, i) =>
    assertEquals(state.fitness[i], state.archive[canonicalKey(t)].fitness)
  );
  // The hall of fame is sorted and holds only tuned losses.
  const fame = state.hallOfFame.entries.map((e) => e.fitness);
  assertEquals(fame, [...fame].sort((a, b) => a - b));
  assertEquals(state.evaluations, state.history.reduce((a, g) => a + g.evaluated, 0));
  // Later generations meet losses seen before: the archive saves their evaluation.
  assert(state.history.slice(1).some((g) => g.cacheHits > 0));
});

Deno.test("a budget in evaluations stops the search between generations with the best so far", async () => {
  const config = smallConfig(2, {
    budget: { ...smallConfig().budget, generations: 20, maxEvaluations: 1 },
  });
  const { state, stopped } = await search(config);
  assertEquals(stopped, "max-evaluations");
  assert(state.generation < 20);
  assert(state.evaluations >= 1);
});

Deno.test("cancelling returns the last finished generation", async () => {
  const config = smallConfig(2, { budget: { ...smallConfig().budget, generations: 20 } });
  const { runner } = await inProcess(config);
  const controller = new AbortController();
  try {
    const { state, stopped } = await runSearch(config, runner, {
      signal: controller.signal,
      onGeneration: (stats) => {
        if (stats.generation === 1) controller.abort();
      },
    });
    assertEquals(stopped, "cancelled");
    assertEquals(state.generation, 1);
  } finally {
    await runner.close();
  }
});

Deno.test("a canonical form without y or f(x) is rejected without tensor work", async () => {
  // y - y folds to 0 (a constant): no gradient at all; repair only guarantees the raw tree.
  const config = smallConfig(1);
  const { runner } = await inProcess(config);
  try {
    const state = {
      ...newSearchState(config),
      generation: 1,
      population: [["add", "sub", "y", "y", "mul", "fx", 0] as Tree],
      fitness: [null],
    };
    const { state: next, stats } = await runGeneration(
      { ...config, budget: { ...config.budget, population: 1 }, gp: { ...config.gp, elites: 1 } },
      state,
      runner,
    );
    const entry = Object.values(next.archive)[0];
    assertEquals(entry.outcome, "rejected");
    assertEquals(stats.failed, 0);
    assert(/does not depend on both/.test(entry.reason ?? ""), entry.reason);
  } finally {
    await runner.close();
  }
});
