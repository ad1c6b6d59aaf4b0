/**
 * Stacked fitness (engine/stacked.ts) against one candidate at a time (CandidateEvaluator.fitness),
 * on the cpu backend with bundled data.
 *
 * Equality is exact, not within a tolerance: on cpu, the stacked products run the same kernel
 * loops as the candidate's own, and each output element is accumulated over the same terms in the
 * same order, whatever the width of the product or the number of slices; every other op is
 * element-wise or per slice. So the trajectories are bitwise equal and so are the fitnesses,
 * including the regression MSEs, which would show any rounding difference. (Not so on wasm, where
 * XNNPACK's rounding depends on the product's width: there the two agree to float rounding.)
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { stackedFitness, stackedHypergradients, type StackedProducts } from "../engine/stacked.ts";
import { compileLoss } from "../engine/metaloss.ts";
import {
  EXACT_UNROLL,
  hypergradient,
  unrolledTaskLoss,
  type UnrollOptions,
} from "../engine/train.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { type FitnessResult, WORST_FITNESS } from "../core/runner.ts";
import { initialValues, toParams } from "../engine/models.ts";
import { Rng } from "../core/rng.ts";
import type { BundledName } from "../core/data/mod.ts";
import type { Tree } from "../core/expr/tree.ts";
import { prepared, smallConfig } from "./support/search_fixture.ts";

await tf.setBackend("cpu");

/** Checks at steps 100 and 120: a diverged slice is cut out at 100 and the rest train on. */
const STEPS = 120;

const TREES: Tree[] = [
  ["mul", -1, "mul", "y", "log", "fx"], // cross-entropy
  ["square", "sub", "fx", "y"], // squared error
  ["mul", "y", "log", "fx"], // with PHI_BLOWUP below: diverges
  ["add", "abs", "sub", "fx", "y", "tanh", "mul", "y", "fx"],
];
const DIVERGING = 2;
/** Every weight of the diverging tree: its loss and gradients are ~1e30 times a sane one's, so
 * the first SGD step overflows the weights to infinity and the loss is NaN from then on. */
const PHI_BLOWUP = 1e30;

function phisFor(trees: Tree[], diverging: number[]): number[][] {
  return trees.map((t, i) => t.map(() => (diverging.includes(i) ? PHI_BLOWUP : 1)));
}

async function setUp(name: BundledName, kind: "mlp" | "linear", hidden: number[]) {
  const config = smallConfig(1, {
    dataset: { kind: "bundled", name },
    model: { kind, hidden, layers: [], init: "auto" },
  });
  const settings = { ...config.evaluation, fitnessSteps: STEPS };
  const { data, spec } = await prepared(config);
  const evaluator = new CandidateEvaluator(data, spec, settings, config.seed);
  // The evaluator's own shared initialisation, drawn as its constructor draws it.
  const rng = new Rng(config.seed);
  const init = toParams(spec, initialValues(spec, () => rng.next()));
  const stacked = (trees: Tree[], phis: number[][], products: StackedProducts) =>
    stackedFitness(
      spec,
      data.task,
      trees,
      phis,
      init,
      evaluator.train,
      evaluator.validation.all,
      STEPS,
      settings.inner,
      { products },
    );
  const oneAtATime = async (trees: Tree[], phis: number[][]) => {
    const out: FitnessResult[] = [];
    for (let i = 0; i < trees.length; i++) out.push(await evaluator.fitness(trees[i], phis[i]));
    return out;
  };
  const dispose = () => {
    evaluator.dispose();
    tf.dispose(init);
  };
  return { stacked, oneAtATime, dispose, inner: settings.inner };
}

const CASES: [BundledName, "mlp" | "linear", number[]][] = [
  ["iris", "mlp", [8, 5]],
  ["boston", "mlp", [8]],
  ["boston", "linear", []],
];

for (const [name, kind, hidden] of CASES) {
  const model = `${kind} ${hidden.join("-") || "(no hidden)"}`;
  Deno.test(`stacked fitness equals one-at-a-time: ${name}, ${model}`, async () => {
    const fx = await setUp(name, kind, hidden);
    // The default inner optimiser: Nesterov momentum and weight decay, so velocities are stacked
    // and cut out too.
    assert(fx.inner.momentum > 0 && fx.inner.nesterov && fx.inner.weightDecay > 0);
    const phis = phisFor(TREES, [DIVERGING]);
    const expected = await fx.oneAtATime(TREES, phis);
    assertEquals(expected.map((r) => r.diverged), [false, false, true, false]);
    assertEquals(expected[DIVERGING].fitness, WORST_FITNESS);
    const before = tf.memory().numTensors;
    for (const products of ["split", "rank3"] as const) {
      assertEquals(await fx.stacked(TREES, phis, products), expected, products);
    }
    assertEquals(tf.memory().numTensors, before, "live tensors");
    fx.dispose();
  });
}

Deno.test("stacked fitness: one candidate, all diverged, none", async () => {
  const fx = await setUp("iris", "mlp", [8]);
  const before = tf.memory().numTensors;
  for (const products of ["split", "rank3"] as const) {
    // K = 1 takes the size-1 path around tf.unstack's gradient.
    const single = [TREES[1]];
    assertEquals(
      await fx.stacked(single, phisFor(single, []), products),
      await fx.oneAtATime(single, phisFor(single, [])),
    );
    const worst = { fitness: WORST_FITNESS, diverged: true, steps: STEPS };
    assertEquals(await fx.stacked(TREES, phisFor(TREES, [0, 1, 2, 3]), products), [
      worst,
      worst,
      worst,
      worst,
    ]);
    assertEquals(await fx.stacked([], [], products), []);
  }
  assertEquals(tf.memory().numTensors, before, "live tensors");
  fx.dispose();
});

/** Each candidate's hypergradient alone (train.ts), then all of them stacked (stacked.ts). */
async function hypergradientsBothWays(
  hidden: number[],
  unroll: UnrollOptions,
  products: StackedProducts,
): Promise<
  { alone: number[][]; stacked: number[][]; valuesAlone: number[]; valuesStacked: number[] }
> {
  const config = smallConfig(1, {
    dataset: { kind: "bundled", name: "iris" },
    model: { kind: "mlp", hidden, layers: [], init: "auto" },
  });
  const { data, spec } = await prepared(config);
  const evaluator = new CandidateEvaluator(data, spec, config.evaluation, config.seed);
  const rng = new Rng(3);
  const theta0 = toParams(spec, initialValues(spec, () => rng.next()));
  const phis = TREES.map((t) => t.map(() => 0.8 + 0.4 * rng.next()));
  const losses = TREES.map((t) => compileLoss(t, data.task));
  const batches = [evaluator.train.batch(0), evaluator.train.batch(1), evaluator.train.batch(2)];
  const validation = evaluator.validation.batch(0);
  const inner = config.evaluation.inner;
  const alone = phis.map((phi, i) =>
    tf.tidy(() => {
      const f = unrolledTaskLoss(
        spec,
        data.task,
        losses[i],
        inner,
        theta0,
        batches,
        validation,
        unroll,
        tf.tensor1d(phi),
      );
      const { value, grad } = hypergradient(f, tf.tensor1d(phi));
      return [value.dataSync()[0], ...grad.dataSync()];
    })
  );
  const stacked = tf.tidy(() => {
    const { values, grads } = stackedHypergradients(
      data.task,
      losses,
      phis.map((phi) => tf.tensor1d(phi)),
      inner,
      theta0,
      batches,
      validation,
      unroll,
      products,
    );
    const v = Array.from(values.dataSync());
    values.dispose();
    return grads.map((g, i) => [v[i], ...g.dataSync()]);
  });
  tf.dispose([...theta0, ...batches.flatMap((b) => [b.x, b.y]), validation.x, validation.y]);
  evaluator.dispose();
  return {
    alone: alone.map((r) => r.slice(1)),
    stacked: stacked.map((r) => r.slice(1)),
    valuesAlone: alone.map((r) => r[0]),
    valuesStacked: stacked.map((r) => r[0]),
  };
}

for (
  const unroll of [EXACT_UNROLL, { mode: "truncated", truncateTo: 1 }, {
    mode: "first-order",
  }] as UnrollOptions[]
) {
  Deno.test(`stacked hypergradients equal one-at-a-time: 3 steps, ${unroll.mode}`, async () => {
    const before = tf.memory().numTensors;
    for (const products of ["split", "rank3"] as const) {
      for (const hidden of [[8, 5], []]) {
        const r = await hypergradientsBothWays(hidden, unroll, products);
        assert(r.alone.flat().some((g) => g !== 0), "hypergradients that are not all zero");
        assertEquals(r.stacked, r.alone, `${products}, hidden ${hidden}: hypergradients`);
        assertEquals(r.valuesStacked, r.valuesAlone, `${products}, hidden ${hidden}: losses`);
      }
    }
    assertEquals(tf.memory().numTensors, before, "live tensors");
  });
}

Deno.test("stacked local search equals one-at-a-time, candidates that stop early included", async () => {
  const config = smallConfig(1, {
    dataset: { kind: "bundled", name: "iris" },
    model: { kind: "mlp", hidden: [8], layers: [], init: "auto" },
  });
  const { data, spec } = await prepared(config);
  // A meta learning rate this large throws some candidates' phi into overflow within a few steps.
  const settings = {
    ...config.evaluation,
    localSearch: { ...config.evaluation.localSearch, metaSteps: 8, metaLr: 100 },
  };
  const evaluator = new CandidateEvaluator(data, spec, settings, config.seed);
  const overflowing: Tree = ["square", "square", "square", "mul", "fx", "fx"];
  const trees: Tree[] = [...TREES, overflowing, ["div", "fx", "sub", "fx", "y"]];
  const seeds = trees.map((_, i) => 100 + i);
  const before = tf.memory().numTensors;
  const alone = [];
  for (let i = 0; i < trees.length; i++) {
    alone.push(await evaluator.localSearch(trees[i], seeds[i]));
  }
  const stacked = await evaluator.localSearchStacked(trees, seeds);
  assertEquals(stacked, alone);
  const steps = alone.map((r) => r.steps);
  assert(steps.some((s) => s < 8) && steps.some((s) => s === 8), `steps ${steps}`);
  assertEquals(tf.memory().numTensors, before, "live tensors");
  evaluator.dispose();
});
