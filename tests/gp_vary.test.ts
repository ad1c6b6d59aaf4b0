import assert from "node:assert/strict";
import { Rng } from "../core/rng.ts";
import { height, isWellFormed, type Tree } from "../core/expr/tree.ts";
import { hasBothInputs } from "../core/gp/repair.ts";
import type { GpSettings } from "../core/settings.ts";
import { DEFAULT_GP_SETTINGS, initialPopulation, vary } from "../core/gp/vary.ts";

/** A population size for the property runs: the method's. */
const SIZE = 25;

/** A cheap stand-in fitness: deterministic in the tree, with ties and some NaN. */
function fakeFitness(t: Tree): number {
  const n = t.length;
  return n % 11 === 0 ? NaN : (n * 37) % 13;
}

function assertValid(pop: Tree[], settings: GpSettings, size: number, context: string) {
  assert.equal(pop.length, size, context);
  for (const t of pop) {
    assert.ok(isWellFormed(t), context);
    assert.ok(hasBothInputs(t), context);
    assert.ok(height(t) <= settings.maxHeight, `${context}: height ${height(t)}`);
  }
}

function run(seed: number, generations: number, settings: GpSettings, size = SIZE): Tree[][] {
  const rng = new Rng(seed);
  const history = [initialPopulation(rng, size, settings)];
  for (let g = 0; g < generations; g++) {
    const pop = history[history.length - 1];
    history.push(vary(rng, pop, pop.map(fakeFitness), settings));
  }
  return history;
}

Deno.test("vary: every tree of every generation is well formed, valid and short enough", () => {
  const tight = { ...DEFAULT_GP_SETTINGS, maxHeight: 6 };
  for (let seed = 0; seed < 30; seed++) {
    for (const [settings, size] of [[DEFAULT_GP_SETTINGS, SIZE], [tight, 12]] as const) {
      run(seed, 12, settings, size).forEach((pop, g) =>
        assertValid(pop, settings, size, `seed ${seed} generation ${g}`)
      );
    }
  }
});

Deno.test("vary: same seed, identical populations; another seed, others", () => {
  assert.deepEqual(run(77, 8, DEFAULT_GP_SETTINGS), run(77, 8, DEFAULT_GP_SETTINGS));
  assert.notDeepEqual(run(77, 8, DEFAULT_GP_SETTINGS), run(78, 8, DEFAULT_GP_SETTINGS));
});

Deno.test("vary: resuming from a saved rng state reproduces the run", () => {
  const settings = DEFAULT_GP_SETTINGS;
  const rng = new Rng(5);
  let pop = initialPopulation(rng, SIZE, settings);
  for (let g = 0; g < 3; g++) pop = vary(rng, pop, pop.map(fakeFitness), settings);
  const checkpoint = JSON.stringify({ pop, rng: rng.state() });
  const straight = vary(rng, pop, pop.map(fakeFitness), settings);
  const saved = JSON.parse(checkpoint);
  const resumed = vary(Rng.fromState(saved.rng), saved.pop, saved.pop.map(fakeFitness), settings);
  assert.deepEqual(resumed, straight);
});

Deno.test("vary: the elite survives unchanged; with elites 0 and only reproduction, copies", () => {
  const rng = new Rng(8);
  const pop = initialPopulation(rng, SIZE);
  const fitness = pop.map((_, i) => i === 13 ? -1 : i);
  const next = vary(rng, pop, fitness);
  assert.deepEqual(next[0], pop[13]);

  const copyOnly = {
    ...DEFAULT_GP_SETTINGS,
    elites: 0,
    crossoverProb: 0,
    mutationProb: 0,
  };
  const copies = vary(rng, pop, fitness, copyOnly);
  const keys = new Set(pop.map((t) => JSON.stringify(t)));
  assert.ok(copies.every((t) => keys.has(JSON.stringify(t))));
  // Tournament pressure: the worst (index 24) wins only if all four entrants are it.
  const count = (i: number) =>
    copies.filter((t) => JSON.stringify(t) === JSON.stringify(pop[i])).length;
  assert.ok(count(13) > count(24), `best ${count(13)}, worst ${count(24)}`);
});

Deno.test("vary: operators change trees at about the configured rates", () => {
  const rng = new Rng(9);
  const pop = initialPopulation(rng, SIZE);
  const fitness = pop.map(() => 1); // no selection pressure
  const keys = new Set(pop.map((t) => JSON.stringify(t)));
  const settings = { ...DEFAULT_GP_SETTINGS, elites: 0 };
  let fresh = 0;
  let total = 0;
  for (let g = 0; g < 40; g++) {
    for (const t of vary(rng, pop, fitness, settings)) {
      total++;
      if (!keys.has(JSON.stringify(t))) fresh++;
    }
  }
  // 95% of offspring go through crossover or mutation; some of those still reproduce a member
  // (a swap of equal subtrees, a height fallback), so the fresh share is a little lower.
  const share = fresh / total;
  assert.ok(share > 0.8 && share <= 0.95, `fresh share ${share}`);
});
