/**
 * The search with its candidates stacked (engine/stacked.ts through `execution.candidateStack`)
 * against one candidate at a time, on the cpu backend where stacked training is bitwise the same: equal
 * archives, fitnesses, phis and halls of fame, in process and across a pool of two workers. And
 * "auto": it measures once per job and records the measurement and its decision.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { InProcessRunner } from "../engine/runner.ts";
import {
  newSearchState,
  runGeneration,
  runSearch,
  type SearchConfig,
  type SearchState,
} from "../core/search.ts";
import { rankLosses } from "../core/result.ts";
import { type CandidateStack, upgradeSettings } from "../core/settings.ts";
import {
  CALIBRATION_K,
  CALIBRATION_STEPS,
  CALIBRATION_THRESHOLD,
  cutStacks,
  describeStacking,
  type StackCalibration,
  stackSize,
} from "../core/stack_plan.ts";
import { WorkerPool } from "../workers/pool.ts";
import { resolveSearchConfig } from "../service/search_request.ts";
import { compileValidator } from "../api/validate.ts";
import { searchRequest } from "../api/schemas/search.ts";
import { DEFAULT_LIMITS } from "../service/config.ts";
import { prepared, smallConfig } from "./support/search_fixture.ts";

await tf.setBackend("cpu");

/**
 * Population 8 over 3 generations, without the rejection screen so that more candidates reach
 * fitness: 7, 2 and 3 of them with this seed, so both stacked and one-at-a-time phases occur.
 */
function config(candidateStack: CandidateStack, seed = 2): SearchConfig {
  const base = smallConfig(seed);
  return {
    ...base,
    budget: { ...base.budget, population: 8, generations: 3 },
    evaluation: { ...base.evaluation, screen: { ...base.evaluation.screen, enabled: false } },
    execution: { candidateStack },
  };
}

async function inProcess(c: SearchConfig, resumeFrom?: SearchState) {
  const { data, spec } = await prepared(c);
  const runner = new InProcessRunner(data, { model: spec, evaluation: c.evaluation, seed: c.seed });
  try {
    return (await runSearch(c, runner, {}, resumeFrom)).state;
  } finally {
    await runner.close();
  }
}

/** Everything a search computes; not its timings, nor how its fitness phase ran. */
function computed(state: SearchState) {
  return {
    ranked: rankLosses(state).map((l) => [l.canonical, l.fitness, l.phi]),
    archive: state.archive,
    population: state.population,
    fitness: state.fitness,
    hallOfFame: state.hallOfFame,
    signatures: state.signatures,
    evaluations: state.evaluations,
    best: state.history.map((g) => [g.bestFitness, g.medianFitness, g.evaluated, g.diverged]),
  };
}

const stacksOf = (s: SearchState) => s.history.map((g) => g.stacking?.stacks ?? 0);

Deno.test("stacked candidates give the search one-at-a-time gives (cpu, in process)", async () => {
  const off = await inProcess(config("off"));
  const stacked = await inProcess(config(4));
  assert(off.hallOfFame.entries.length > 1, "the search found too few losses to compare");
  assertEquals(stacksOf(off), [0, 0, 0]);
  // Vacuous unless stacks really ran, and the fixed K was respected.
  assert(stacksOf(stacked).some((n) => n > 0), JSON.stringify(stacked.history));
  for (const g of stacked.history) assert(g.stacking!.largest <= 4);
  assertEquals(computed(stacked), computed(off));
});

Deno.test({
  name: "stacked candidates across a pool of two workers give the same search",
  fn: async () => {
    const off = await inProcess(config("off"));
    await initBackend("cpu");
    const pool = await WorkerPool.start({ size: 2, backend: "cpu" });
    const c = config(16);
    const { spec } = await prepared(c);
    const runner = pool.forJob({
      id: "stacked",
      dataset: c.dataset,
      split: c.split,
      preprocessing: c.preprocessing,
      config: { model: spec, evaluation: c.evaluation, seed: c.seed },
    });
    try {
      const { state } = await runSearch(c, runner);
      // Spread over both workers: no stack larger than half a generation's candidates, rounded up.
      for (const g of state.history) {
        const evaluated = g.evaluated + g.failed;
        assert(
          g.stacking!.largest <= Math.max(1, Math.ceil(evaluated / 2)),
          JSON.stringify(g),
        );
      }
      assert(stacksOf(state).some((n) => n > 0), JSON.stringify(state.history));
      assertEquals(computed(state), computed(off));
    } finally {
      await runner.close();
      await pool.close();
    }
  },
});

Deno.test("auto calibrates once per job, records the measurement, and keeps the results", async () => {
  const off = await inProcess(config("off"));
  const auto = await inProcess(config("auto"));
  assertEquals(computed(auto), computed(off));
  const measured = auto.history.flatMap((g) => g.stacking?.calibration ?? []);
  assert(measured.length > 0, JSON.stringify(auto.history));
  const c = measured[0];
  // Once per job: every generation shows the one measurement, not a new one.
  for (const m of measured) assertEquals(m, c);
  assertEquals([c.k, c.steps, c.backend], [CALIBRATION_K, CALIBRATION_STEPS, "cpu"]);
  assert(c.oneAtATimeMs > 0 && c.stackedMs > 0, JSON.stringify(c));
  assertEquals(c.speedup, c.oneAtATimeMs / c.stackedMs);
  assertEquals(c.stack, c.speedup >= CALIBRATION_THRESHOLD);
  // The decision is applied: stacks exactly when the measurement said so.
  for (const g of auto.history) {
    assertEquals(g.stacking!.setting, "auto");
    if (g.stacking!.calibration && !c.stack) assertEquals(g.stacking!.stacks, 0);
  }
  assertEquals(stacksOf(auto).some((n) => n > 0), c.stack);
});

Deno.test("a checkpoint and configuration from before the stack setting resume as auto", async () => {
  const whole = await inProcess(config("off"));
  // The configuration as stored before the settings table: population under gp, no stack setting.
  const current = config("off");
  const stored: Record<string, unknown> = JSON.parse(JSON.stringify({
    ...current,
    gp: { ...current.gp, populationSize: 8, generations: 3, reproductionProb: 0.05 },
    hallOfFameSize: current.gp.hallOfFameSize,
    budget: {},
    execution: undefined,
  }));
  const old = { ...upgradeSettings(stored), dataset: current.dataset };
  assertEquals(old.execution.candidateStack, "auto");
  assertEquals(old.budget, { population: 8, generations: 3, reserveFinal: false });
  const { data, spec } = await prepared(old);
  const runner = new InProcessRunner(data, {
    model: spec,
    evaluation: old.evaluation,
    seed: old.seed,
  });
  let first;
  try {
    first = await runGeneration(old, newSearchState(old), runner);
  } finally {
    await runner.close();
  }
  // As stored before the field existed: no stacking in the history, no calibration kept.
  const saved: SearchState = JSON.parse(JSON.stringify(first.state));
  for (const g of saved.history) delete g.stacking;
  delete saved.stackCalibration;
  const resumed = await inProcess(JSON.parse(JSON.stringify(old)), saved);
  assertEquals(resumed.history.slice(1).map((g) => g.stacking!.setting), ["auto", "auto"]);
  assertEquals(computed(resumed).ranked, computed(whole).ranked);
  assertEquals(resumed.population, whole.population);
});

Deno.test("stacks: in order, capped at K, spread over the workers", () => {
  const items = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  assertEquals(cutStacks(items, 4, 2), [[1, 2, 3, 4], [5, 6, 7, 8], [9]]);
  assertEquals(cutStacks(items, 16, 2), [[1, 2, 3, 4, 5], [6, 7, 8, 9]]);
  assertEquals(cutStacks(items.slice(0, 5), 16, 1), [[1, 2, 3, 4, 5]]);
  assertEquals(stackSize(2, 16, 2), 1); // one each: nothing to stack
  assertEquals(stackSize(0, 16, 2), 1);
  assertEquals(cutStacks([], 4, 2), []);
});

Deno.test("the summary line says how the candidates ran and why", () => {
  const measured = (speedup: number, backend: string): StackCalibration => ({
    k: 4,
    steps: 25,
    oneAtATimeMs: 100 * speedup,
    stackedMs: 100,
    speedup,
    stack: speedup >= CALIBRATION_THRESHOLD,
    backend,
  });
  const unmeasured = { stacking: { setting: "auto" as const, largest: 1, stacks: 0 } };
  assertEquals(
    describeStacking([unmeasured, {
      stacking: { setting: "auto", largest: 16, stacks: 2, calibration: measured(2, "webgpu") },
    }]),
    "Local search and fitness: 2 stacks of up to 16 candidates " +
      "(setting auto; 4 candidates stacked ran 2.00x as fast on webgpu)",
  );
  assertEquals(
    describeStacking([{
      stacking: { setting: "auto", largest: 1, stacks: 0, calibration: measured(0.9, "wasm") },
    }]),
    "Local search and fitness: one candidate at a time " +
      "(setting auto; 4 candidates stacked ran 0.90x as fast on wasm, below 1.2x)",
  );
  assertEquals(
    describeStacking([{
      stacking: { setting: 4, largest: 1, stacks: 0, note: "lenet5 models are never stacked" },
    }]),
    "Local search and fitness: one candidate at a time (setting 4; lenet5 models are never stacked)",
  );
  // A result from before the stacking had its name reads as it ran.
  const { stackedMs: _s, stack: _k, ...rest } = measured(2, "webgpu");
  assertEquals(
    describeStacking([{
      candidateBatch: {
        setting: "auto",
        largest: 16,
        batches: 2,
        calibration: { ...rest, batchedMs: 100, batch: true },
      },
    }]),
    "Local search and fitness: 2 stacks of up to 16 candidates " +
      "(setting auto; 4 candidates stacked ran 2.00x as fast on webgpu)",
  );
  // A result from before the field existed.
  assertEquals(describeStacking([{}]), undefined);
});

Deno.test("the API takes execution.candidateStack, and refuses a K below 2", () => {
  const validate = compileValidator(searchRequest(DEFAULT_LIMITS), { location: "body" });
  for (const candidateStack of ["auto", "off", 2, 16] as CandidateStack[]) {
    const body = { dataset: "iris", execution: { candidateStack } };
    assertEquals(validate(body), [], String(candidateStack));
    const resolved = resolveSearchConfig(body, { kind: "bundled", name: "iris" });
    assertEquals(resolved.execution.candidateStack, candidateStack);
  }
  for (const candidateStack of [1, 0, 2.5, "on", 1000]) {
    const errors = validate({ dataset: "iris", execution: { candidateStack } });
    assert(
      errors.some((e) => e.pointer === "/execution/candidateStack"),
      `${candidateStack}: ${JSON.stringify(errors)}`,
    );
  }
  const absent = resolveSearchConfig({ dataset: "iris" }, { kind: "bundled", name: "iris" });
  assertEquals(absent.execution.candidateStack, "auto");
});
