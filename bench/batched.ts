/**
 * Batched against one-at-a-time fitness training (core/batched.ts): K candidates of one generation,
 * MNIST-shaped random data (784-100-10 MLP, batch 128), `--steps` SGD steps each. Prints the time
 * per candidate of each way and the speedup, and checks that both give the same fitnesses.
 *
 *   deno run -A bench/batched.ts [--backend wasm|cpu|webgpu] [--ks 1,4,16] [--steps 100]
 *                                [--repeats 3] [--products split,batched]
 *
 * Repetitions alternate between the ways, so that a change in the machine's load hits all of
 * them alike; the figures are medians. Both wall time and the process's CPU time are reported:
 * on a shared machine the CPU time is the steadier of the two (the work is single-threaded on
 * wasm and cpu), on WebGPU only wall time means anything. On the software WebGPU adapter a step
 * takes about 240 ms: use a few --steps there.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { tf } from "../core/tensor/tf.ts";
import { type BackendChoice, initBackend } from "../core/tensor/backend.ts";
import { batchedFitness, defaultProducts, type StackedProducts } from "../core/batched.ts";
import { CandidateEvaluator, type FitnessResult } from "../core/evaluator.ts";
import { initialValues, toParams } from "../core/models.ts";
import { initialPopulation } from "../core/gp/mod.ts";
import { DEFAULT_GP_SETTINGS } from "../core/gp/settings.ts";
import { Rng } from "../core/rng.ts";
import { B, C, CANDIDATE_SETTINGS, randomRows, SPEC, TRAIN_ROWS } from "./workloads.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    ks: { type: "string", default: "1,4,16" },
    steps: { type: "string", default: "100" },
    repeats: { type: "string", default: "3" },
    products: { type: "string", default: "split,batched" },
  },
});
const ks = args.ks.split(",").map(Number);
const steps = Number(args.steps);
const repeats = Number(args.repeats);
const modes = args.products.split(",") as StackedProducts[];

const backend = await initBackend(args.backend as BackendChoice);
const SEED = 0;
const settings = { ...CANDIDATE_SETTINGS, fitnessSteps: steps };
const evaluator = new CandidateEvaluator(
  {
    task: "classification",
    nClasses: C,
    train: randomRows(TRAIN_ROWS, 1),
    validation: randomRows(B, 3),
  },
  SPEC,
  settings,
  SEED,
);
// The evaluator's shared initialisation (its constructor draws it the same way).
const rng = new Rng(SEED);
const init = toParams(SPEC, initialValues(SPEC, () => rng.next()));
// A generation's worth of initial losses; K candidates are its first K.
const population = initialPopulation(new Rng(5), {
  ...DEFAULT_GP_SETTINGS,
  populationSize: Math.max(...ks),
});

type Way = "one" | StackedProducts;
const ways: Way[] = ["one", ...modes];

async function run(way: Way, k: number): Promise<FitnessResult[]> {
  const trees = population.slice(0, k);
  const phis = trees.map((t) => t.map(() => 1));
  if (way === "one") {
    const out: FitnessResult[] = [];
    for (let i = 0; i < k; i++) out.push(await evaluator.fitness(trees[i], phis[i]));
    return out;
  }
  return await batchedFitness(
    SPEC,
    "classification",
    trees,
    phis,
    init,
    evaluator.train,
    evaluator.validation.all,
    steps,
    settings.inner,
    { products: way },
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(
  `backend ${backend.name}${backend.adapter ? ` (${backend.adapter})` : ""}; mlp 784-100-10, ` +
    `B ${B}, ${steps} steps, median of ${repeats}; default products here: ${defaultProducts()}`,
);
console.log("ms per candidate, wall / cpu; speedup = one-at-a-time / batched, wall / cpu");
const header = ["K", "one", ...modes.flatMap((m) => [m, "speedup"]), "fitness"];
console.log(header.join("\t"));
for (const k of ks) {
  await run("one", 1); // warm-up (JIT, kernel set-up, shader compilation)
  for (const m of modes) await run(m, k);
  const wall = new Map<Way, number[]>(ways.map((w) => [w, []]));
  const cpu = new Map<Way, number[]>(ways.map((w) => [w, []]));
  const results = new Map<Way, FitnessResult[]>();
  const before = tf.memory().numTensors;
  for (let r = 0; r < repeats; r++) {
    for (const way of ways) {
      const [t0, c0] = [performance.now(), process.cpuUsage()];
      results.set(way, await run(way, k));
      const c = process.cpuUsage(c0);
      wall.get(way)!.push((performance.now() - t0) / k);
      cpu.get(way)!.push((c.user + c.system) / 1000 / k);
    }
  }
  const leaked = tf.memory().numTensors - before;
  const ms = (w: Way) => [median(wall.get(w)!), median(cpu.get(w)!)];
  const [oneWall, oneCpu] = ms("one");
  // Same fitness: exactly on cpu; on wasm and webgpu matMul rounding depends on the product's
  // width, so a few candidates may differ in the last digits (or more, for chaotic losses).
  const ref = results.get("one")!.map((f) => f.fitness);
  const agree = modes.map((m) => {
    const got = results.get(m)!.map((f) => f.fitness);
    const maxDiff = Math.max(
      ...got.map((g, i) => (g === ref[i] ? 0 : Math.abs(g - ref[i]))),
    );
    return `${m}: ${got.filter((g, i) => g === ref[i]).length}/${k} equal, max diff ${
      maxDiff.toPrecision(2)
    }`;
  });
  const row = [
    String(k),
    `${oneWall.toFixed(1)} / ${oneCpu.toFixed(1)}`,
    ...modes.flatMap((m) => {
      const [w, c] = ms(m);
      return [
        `${w.toFixed(1)} / ${c.toFixed(1)}`,
        `${(oneWall / w).toFixed(2)} / ${(oneCpu / c).toFixed(2)}`,
      ];
    }),
    agree.join("; ") + (leaked ? `; leaked ${leaked} tensors` : ""),
  ];
  console.log(row.join("\t"));
  const diverged = results.get("one")!.filter((f) => f.diverged).length;
  if (diverged) console.log(`  (${diverged} of ${k} candidates diverged)`);
}
evaluator.dispose();
tf.dispose(init);
