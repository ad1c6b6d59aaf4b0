/**
 * Multi-fidelity fitness (core/fidelity.ts): the rung ladder, the promotion rule on archives
 * made by hand, and real searches (bundled Iris, cpu backend) that promote, rank by the longest
 * training reached, repeat, and resume from a checkpoint to the same result.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { duePromotions, rungSteps } from "../core/fidelity.ts";
import type { ArchiveEntry } from "../core/generation.ts";
import { newSearchState, runGeneration, runSearch, type SearchConfig } from "../core/search.ts";
import { compareResults } from "../core/gp/hall_of_fame.ts";
import { rankLosses } from "../core/result.ts";
import { inProcess, smallConfig } from "./support/search_fixture.ts";

await tf.setBackend("cpu");

function withFidelity(
  config: SearchConfig,
  mf: Partial<SearchConfig["evaluation"]["multiFidelity"]> = {},
): SearchConfig {
  return {
    ...config,
    evaluation: {
      ...config.evaluation,
      multiFidelity: { ...config.evaluation.multiFidelity, enabled: true, ...mf },
    },
  };
}

Deno.test("rungs: factor times longer each, the top one the final length unless set", () => {
  const c = (fitnessSteps: number, factor: number, finalSteps: number, maxSteps?: number) =>
    withFidelity({
      ...smallConfig(),
      evaluation: { ...smallConfig().evaluation, fitnessSteps },
      final: { ...smallConfig().final, steps: finalSteps, seeds: 1 },
    }, { factor, maxSteps });
  assertEquals(rungSteps(c(500, 4, 2000)), [500, 2000]);
  // 8,000 would be within sqrt(4) of the top: it gives way to 10,000.
  assertEquals(rungSteps(c(500, 4, 10_000)), [500, 2000, 10_000]);
  assertEquals(rungSteps(c(500, 2, 4000)), [500, 1000, 2000, 4000]);
  assertEquals(rungSteps(c(500, 4, 10_000, 3000)), [500, 3000]);
  assertEquals(rungSteps(c(500, 4, 300)), [500], "a final shorter than fitness: no rungs");
  assertEquals(rungSteps(smallConfig()), [30], "off: fitness alone");
});

/** A tuned archive entry measured on the given rungs (fitness per rung). */
function entry(...fitness: (number | null)[]): ArchiveEntry {
  const steps = [500, 2000, 10_000];
  return {
    tree: ["sub", "y", "fx"],
    outcome: "tuned",
    fitness: fitness[fitness.length - 1],
    fidelity: steps[fitness.length - 1],
    generation: 0,
    rungs: fitness.map((f, r) => ({ steps: steps[r], fitness: f })),
  };
}

Deno.test("promotion: the best share of each rung, in rank order, once; later as rungs fill", () => {
  const config = withFidelity(
    { ...smallConfig(), evaluation: { ...smallConfig().evaluation, fitnessSteps: 500 } },
    { fraction: 1 / 3, factor: 4, maxSteps: 10_000 },
  );
  // Six results on rung 0: the best two go up, best first.
  const archive: Record<string, ArchiveEntry> = {
    a: entry(0.5),
    b: entry(0.2),
    c: entry(0.4),
    d: entry(0.1),
    e: entry(0.3),
    f: entry(0.6),
  };
  assertEquals(duePromotions(config, archive), [{ key: "d", rung: 1 }, { key: "b", rung: 1 }]);
  // Once measured there, they are not promoted again; two on rung 1 promote none (2/3 < 1).
  archive.d = entry(0.1, 0.08);
  archive.b = entry(0.2, 0.09);
  assertEquals(duePromotions(config, archive), []);
  // Three more results: 9 on rung 0 make a quota of 3, so the newcomer g goes up; e is fourth.
  archive.g = entry(0.15);
  archive.h = entry(0.35);
  archive.i = entry(0.7);
  assertEquals(duePromotions(config, archive), [{ key: "g", rung: 1 }]);
  // 12 on rung 0: quota 4 = d, g, b and the newcomer j; e is passed over again.
  archive.j = entry(0.25);
  archive.k = entry(0.45);
  archive.l = entry(0.55);
  assertEquals(duePromotions(config, archive), [{ key: "g", rung: 1 }, { key: "j", rung: 1 }]);
  // Measured on rung 1 (g diverged there: it counts, ranks last and goes no further), four
  // results there make a quota of 1: j, the best, climbs to the top rung.
  archive.g = entry(0.15, null);
  archive.j = entry(0.25, 0.07);
  assertEquals(duePromotions(config, archive), [{ key: "j", rung: 2 }]);
  // 15 on rung 0: quota 5, and e, passed over in two generations, goes up now.
  archive.m = entry(0.8);
  archive.n = entry(0.9);
  archive.o = entry(0.95);
  assertEquals(duePromotions(config, archive), [{ key: "e", rung: 1 }, { key: "j", rung: 2 }]);
  // Ties on a rung go to the earlier arrival (archive order).
  const tied = { x: entry(0.2), y: entry(0.2), z: entry(0.2) };
  assertEquals(duePromotions(config, tied), [{ key: "x", rung: 1 }]);
});

async function search(config: SearchConfig, resumeAfter?: number) {
  const { runner } = await inProcess(config);
  try {
    if (resumeAfter === undefined) return (await runSearch(config, runner)).state;
    let state = newSearchState(config);
    for (let g = 0; g < resumeAfter; g++) {
      state = (await runGeneration(config, state, runner)).state;
    }
    // Through JSON, as a checkpoint in a store would be.
    return (await runSearch(config, runner, {}, JSON.parse(JSON.stringify(state)))).state;
  } finally {
    await runner.close();
  }
}

Deno.test("a multi-fidelity search promotes, ranks by fidelity, repeats and resumes alike", async () => {
  const base = smallConfig(3);
  const config = withFidelity({
    ...base,
    budget: { ...base.budget, population: 8, generations: 3 },
    final: { ...base.final, steps: 120 },
  }, { factor: 2, fraction: 1 / 3 });
  assertEquals(rungSteps(config), [30, 60, 120]);
  const whole = await search(config);
  const promoted = whole.history.reduce((a, g) => a + (g.promoted ?? 0), 0);
  assert(promoted > 0, "nothing was promoted");
  // Every measured candidate climbed the ladder in order, and its fitness is its top rung's.
  let measured = 0;
  for (const e of Object.values(whole.archive)) {
    if (!e.rungs) continue;
    measured++;
    assertEquals(e.rungs.map((r) => r.steps), [30, 60, 120].slice(0, e.rungs.length));
    assertEquals(e.fidelity, e.rungs[e.rungs.length - 1].steps);
    assertEquals(e.fitness, e.rungs[e.rungs.length - 1].fitness);
  }
  assert(measured >= 3, `${measured} candidates measured`);
  // The hall of fame: longer trainings first, then by fitness.
  const hall = whole.hallOfFame.entries;
  for (let i = 1; i < hall.length; i++) assert(compareResults(hall[i - 1], hall[i]) <= 0);
  assert(hall[0].fidelity! > 30, "the best-ranked loss was promoted");
  assertEquals(rankLosses(whole)[0].fidelity, hall[0].fidelity);
  // Deterministic, and the same when resumed from a checkpoint after generation 1 or 2.
  const again = await search(config);
  assertEquals(again.archive, whole.archive);
  assertEquals(rankLosses(again), rankLosses(whole));
  for (const after of [1, 2]) {
    const resumed = await search(config, after);
    assertEquals(rankLosses(resumed), rankLosses(whole), `resumed after generation ${after}`);
    // As stored: JSON drops the fields left undefined in memory.
    assertEquals(
      JSON.parse(JSON.stringify(resumed.archive)),
      JSON.parse(JSON.stringify(whole.archive)),
    );
    assertEquals(resumed.population, whole.population);
  }
});
