/**
 * Stacked against one-at-a-time work on K candidates of one generation (engine/stacked.ts),
 * MNIST-shaped random data (784-100-10 MLP, batch 128). `--phase fitness`: `--steps` SGD steps of
 * fitness training each; `--phase meta`: `--steps` local-search meta-steps each (one hypergradient
 * through one differentiable SGD step, as the default local search). Prints the time per
 * candidate of each way and the speedup, and checks that both give the same results.
 *
 *   deno run -A bench/stacked.ts [--backend wasm|cpu|webgpu] [--ks 1,4,16] [--steps 100]
 *                                [--repeats 3] [--products split,rank3] [--phase fitness|meta]
 *
 * Repetitions alternate between the ways, so that a change in the machine's load hits all of
 * them alike; the figures are medians. Both wall time and the process's CPU time are reported:
 * on a shared machine the CPU time is the steadier of the two (the work is single-threaded on
 * wasm and cpu), on WebGPU only wall time means anything. On the software WebGPU adapter a step
 * takes about 240 ms: use a few --steps there.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { tf } from "../engine/tensor/tf.ts";
import { type BackendChoice, initBackend } from "../engine/tensor/backend.ts";
import {
  defaultProducts,
  stackedFitness,
  stackedHypergradients,
  type StackedProducts,
} from "../engine/stacked.ts";
import { read } from "../engine/tensor/backend.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { EXACT_UNROLL, hypergradient, unrolledTaskLoss } from "../engine/train.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import type { FitnessResult } from "../core/runner.ts";
import { initialValues, toParams } from "../engine/models.ts";
import { initialPopulation } from "../core/gp/mod.ts";
import { Rng } from "../core/rng.ts";
import { B, C, CANDIDATE_SETTINGS, randomRows, SPEC, TRAIN_ROWS } from "./workloads.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    ks: { type: "string", default: "1,4,16" },
    steps: { type: "string", default: "100" },
    repeats: { type: "string", default: "3" },
    products: { type: "string", default: "split,rank3" },
    phase: { type: "string", default: "fitness" },
  },
});
const ks = args.ks.split(",").map(Number);
const steps = Number(args.steps);
const repeats = Number(args.repeats);
const modes = args.products.split(",") as StackedProducts[];
if (args.phase !== "fitness" && args.phase !== "meta") throw new Error("--phase: fitness or meta");
const phase = args.phase;

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
const population = initialPopulation(new Rng(5), Math.max(...ks));

type Way = "one" | StackedProducts;
const ways: Way[] = ["one", ...modes];

/** The hypergradients of `steps` meta-steps, flattened: one at a time or stacked. */
async function metaSteps(way: Way, k: number): Promise<number[]> {
  const trees = population.slice(0, k);
  const losses = trees.map((t) => compileLoss(t, "classification"));
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const batches = [evaluator.train.batch(s)];
    const validation = evaluator.validation.batch(s);
    const phis = trees.map((t) => tf.ones([t.length]) as tf.Tensor1D);
    const grads = tf.tidy(() => {
      if (way !== "one") {
        const { values, grads } = stackedHypergradients(
          "classification",
          losses,
          phis,
          settings.inner,
          init,
          batches,
          validation,
          EXACT_UNROLL,
          way,
        );
        values.dispose();
        return tf.concat(grads);
      }
      return tf.concat(losses.map((loss, i) => {
        const f = unrolledTaskLoss(
          SPEC,
          "classification",
          loss,
          settings.inner,
          init,
          batches,
          validation,
        );
        return hypergradient(f, phis[i]).grad;
      }));
    });
    out.push(...await read(grads));
    tf.dispose([grads, ...phis, ...batches.flatMap((b) => [b.x, b.y]), validation.x, validation.y]);
  }
  return out;
}

async function run(way: Way, k: number): Promise<number[]> {
  if (phase === "meta") return await metaSteps(way, k);
  return (await fitnesses(way, k)).map((f) => f.fitness);
}

async function fitnesses(way: Way, k: number): Promise<FitnessResult[]> {
  const trees = population.slice(0, k);
  const phis = trees.map((t) => t.map(() => 1));
  if (way === "one") {
    const out: FitnessResult[] = [];
    for (let i = 0; i < k; i++) out.push(await evaluator.fitness(trees[i], phis[i]));
    return out;
  }
  return await stackedFitness(
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
    `B ${B}, ${steps} ${
      phase === "meta" ? "meta-steps" : "fitness steps"
    }, median of ${repeats}; ` +
    `default products here: ${defaultProducts()}`,
);
console.log("ms per candidate, wall / cpu; speedup = one-at-a-time / stacked, wall / cpu");
const header = ["K", "one", ...modes.flatMap((m) => [m, "speedup"]), "results"];
console.log(header.join("\t"));
for (const k of ks) {
  await run("one", 1); // warm-up (JIT, kernel set-up, shader compilation)
  for (const m of modes) await run(m, k);
  const wall = new Map<Way, number[]>(ways.map((w) => [w, []]));
  const cpu = new Map<Way, number[]>(ways.map((w) => [w, []]));
  const results = new Map<Way, number[]>();
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
  // Same results: exactly on cpu; on wasm and webgpu matMul rounding depends on the product's
  // width, so a few may differ in the last digits (or more, for chaotic losses).
  const ref = results.get("one")!;
  const agree = modes.map((m) => {
    const got = results.get(m)!;
    const maxDiff = Math.max(
      ...got.map((g, i) => (g === ref[i] ? 0 : Math.abs(g - ref[i]))),
    );
    return `${m}: ${got.filter((g, i) => g === ref[i]).length}/${got.length} equal, max diff ${
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
  const diverged = results.get("one")!.filter((f) => !Number.isFinite(f)).length;
  if (diverged) console.log(`  (${diverged} of ${ref.length} results not finite)`);
}
evaluator.dispose();
tf.dispose(init);
