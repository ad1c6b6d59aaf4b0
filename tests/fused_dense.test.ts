/**
 * The fused WebGPU engine (engine/webgpu/dense.ts) against the cpu backend's evaluator, on
 * bundled data: hypergradients, phi after local search, fitness and the divergence decisions,
 * for MLPs and linear models, classification and regression, the inner optimisers and unroll
 * modes it supports; and its refusals. Runs on Deno's software adapter where there is no GPU;
 * without any WebGPU adapter the tests are ignored (and say so).
 *
 * Tolerances (float32 on both sides, summed in different orders): hypergradients within 1e-4 of
 * the candidate's largest component, meta-losses within 1e-5 relative; phi after a few meta-steps
 * within 1e-5 (Adam's steps are 1e-3 each); error rates equal (they move in steps of one
 * example); regression fitness within 1e-3 relative (a kink such as |f - y|, which training
 * under it keeps crossing, turns last-bit differences into 2.5e-4 after 120 steps here);
 * divergence decisions and meta-steps taken equal. A candidate's results do not depend on its neighbours in the stack at all: equal to
 * the bit with and without a diverging neighbour.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { stackedHypergradients } from "../engine/stacked.ts";
import { initialValues, type ModelSpec, toParams } from "../engine/models.ts";
import { FusedDense, fusedRefusal } from "../engine/webgpu/dense.ts";
import { fusedDevice } from "../engine/webgpu/device.ts";
import type { EvaluationSettings, UnrollOptions } from "../core/settings.ts";
import type { BundledName } from "../core/data/mod.ts";
import type { Tree } from "../core/expr/tree.ts";
import type { FitnessResult, LocalSearchResult } from "../core/runner.ts";
import { Rng } from "../core/rng.ts";
import { prepared, smallConfig } from "./support/search_fixture.ts";

await tf.setBackend("cpu");
const fd = await fusedDevice();
if (!fd) console.log("no WebGPU adapter here: the fused engine was not tested");

const SMOOTH: Tree[] = [
  ["square", "sub", "fx", "y"], // squared error
  ["add", "abs", "sub", "fx", "y", "tanh", "mul", "y", "fx"],
  ["max", "div", "fx", "sub", "fx", "y", "sqrt", "min", "y", "sign", "fx"],
  ["mul", "sub", "fx", "y", "tanh", "sub", "fx", "y"],
];
/**
 * Classification adds cross-entropy. Not for regression: -y log|f| there has its derivative's
 * pole at f = 0, which the standardised predictions straddle, so a last-bit difference between
 * the backends grows without bound within a few steps (measured: 1e-5 after one step, 20% after
 * five); that is the loss's sensitivity, not the engine's.
 */
const TREES: Record<"classification" | "regression", Tree[]> = {
  classification: [["mul", -1, "mul", "y", "log", "fx"], ...SMOOTH.slice(0, 3)],
  regression: SMOOTH,
};
/** Weights that overflow the first SGD step: the loss is NaN from then on. */
const BLOWUP = 1e30;

async function setUp(
  name: BundledName,
  kind: "mlp" | "linear",
  hidden: number[],
  evaluation: (e: EvaluationSettings) => EvaluationSettings = (e) => e,
) {
  const base = smallConfig(1);
  const config = smallConfig(1, {
    dataset: { kind: "bundled", name },
    model: { ...base.model, kind, hidden },
  });
  const settings = evaluation(config.evaluation);
  const { data, spec } = await prepared(config);
  const ev = new CandidateEvaluator(data, spec, settings, config.seed);
  const engine = new FusedDense(
    fd!,
    spec,
    data.task,
    ev.train,
    ev.validation,
    settings,
    config.seed,
  );
  const dispose = () => {
    engine.dispose();
    ev.dispose();
  };
  return { ev, engine, spec, task: data.task, settings, seed: config.seed, dispose };
}

function assertFitness(
  got: FitnessResult[],
  want: FitnessResult[],
  regression: boolean,
  what: string,
) {
  assertEquals(got.map((r) => r.diverged), want.map((r) => r.diverged), `${what}: diverged`);
  got.forEach((r, i) => {
    if (want[i].diverged) return;
    const ok = regression
      ? Math.abs(r.fitness - want[i].fitness) <= 1e-3 * Math.abs(want[i].fitness)
      : r.fitness === want[i].fitness;
    assert(ok, `${what}: candidate ${i} fitness ${r.fitness} vs ${want[i].fitness}`);
    // The tie-breaker's task loss (cross-entropy, or squared error), as tfjs measures it.
    const [a, b] = [r.taskLoss, want[i].taskLoss];
    assert(
      a !== undefined && b !== undefined && Math.abs(a - b) <= 1e-3 * Math.abs(b) + 1e-6,
      `${what}: candidate ${i} task loss ${a} vs ${b}`,
    );
  });
}

const CASES: [BundledName, "mlp" | "linear", number[]][] = [
  ["iris", "mlp", [8, 5]],
  ["iris", "linear", []],
  ["boston", "mlp", [8]],
  ["boston", "linear", []],
];

for (const [name, kind, hidden] of CASES) {
  Deno.test({
    name: `fused fitness equals the cpu backend: ${name}, ${kind} ${hidden.join("-")}`,
    ignore: !fd,
    fn: async () => {
      const fx = await setUp(name, kind, hidden, (e) => ({ ...e, fitnessSteps: 120 }));
      // The default inner optimiser: Nesterov momentum and weight decay.
      assert(fx.settings.inner.nesterov && fx.settings.inner.weightDecay > 0);
      const trees = [...TREES[fx.task], SMOOTH[0], SMOOTH[1]];
      const phis = trees.map((t, i) => t.map(() => (i === 4 ? BLOWUP : i === 5 ? NaN : 1)));
      const want: FitnessResult[] = [];
      for (let i = 0; i < trees.length; i++) want.push(await fx.ev.fitness(trees[i], phis[i]));
      assert(want[4].diverged && want[5].diverged, "the blown-up candidates diverge on cpu");
      assert(want.slice(0, 4).every((r) => !r.diverged), "the others do not");
      const got = await fx.engine.fitness(trees, phis, 120);
      assertFitness(got, want, fx.task === "regression", "stacked");
      // Neighbours never matter: the healthy candidates alone give the same bits.
      assertEquals(
        await fx.engine.fitness(trees.slice(0, 4), phis.slice(0, 4), 120),
        got.slice(0, 4),
      );
      fx.dispose();
    },
  });
}

/** The cpu backend's stacked hypergradients of meta-step s, as the evaluator's data. */
function cpuHypergradients(fx: Awaited<ReturnType<typeof setUp>>, phis: number[][], s: number) {
  const { localSearch, inner } = fx.settings;
  const T = localSearch.unrollSteps;
  return tf.tidy(() => {
    const rng = new Rng(fx.seed + 7919 * (s + 1));
    const theta0 = toParams(fx.spec, initialValues(fx.spec, () => rng.next()));
    const batches = Array.from({ length: T }, (_, t) => fx.ev.train.batch(s * T + t));
    const r = stackedHypergradients(
      fx.task,
      TREES[fx.task].map((t) => compileLoss(t, fx.task)),
      phis.map((p) => tf.tensor1d(p)),
      inner,
      theta0,
      batches,
      fx.ev.validation.batch(s),
      localSearch.unroll,
    );
    const values = Array.from(r.values.dataSync());
    r.values.dispose();
    return { values, grads: r.grads.map((g) => Array.from(g.dataSync())) };
  });
}

const UNROLLS: [string, UnrollOptions, number][] = [
  ["exact, 1 step", { mode: "exact", truncateTo: 1 }, 1],
  ["truncated to the last of 3 steps", { mode: "truncated", truncateTo: 1 }, 3],
  ["first-order, 3 steps", { mode: "first-order", truncateTo: 1 }, 3],
];
const OPTIMIZERS = [
  { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  { lr: 0.05, momentum: 0.5, nesterov: false, weightDecay: 0 },
  { lr: 0.05, momentum: 0, nesterov: false, weightDecay: 1e-3 },
];

for (const [what, unroll, unrollSteps] of UNROLLS) {
  Deno.test({
    name: `fused hypergradients equal the cpu backend: ${what}`,
    ignore: !fd,
    fn: async () => {
      let compared = 0;
      for (const [name, kind, hidden] of [CASES[0], CASES[1], CASES[2]]) {
        for (const inner of OPTIMIZERS) {
          const fx = await setUp(name, kind, hidden, (e) => ({
            ...e,
            inner,
            localSearch: { ...e.localSearch, unroll, unrollSteps },
          }));
          const rng = new Rng(5);
          const trees = TREES[fx.task];
          const phis = trees.map((t) => t.map(() => 0.8 + 0.4 * rng.next()));
          const s = 2;
          const want = cpuHypergradients(fx, phis, s);
          const got = await fx.engine.hypergradients(trees, phis, s);
          const where = `${name} ${kind}, ${JSON.stringify(inner)}`;
          want.grads.forEach((g, i) => {
            const scale = Math.max(...g.map(Math.abs));
            assert(scale > 0, `${where}: candidate ${i} has a hypergradient`);
            const worst = Math.max(...g.map((v, j) => Math.abs(v - got.grads[i][j])));
            assert(worst <= 1e-4 * scale, `${where}: candidate ${i}: ${got.grads[i]} vs ${g}`);
            const dv = Math.abs(got.values[i] - want.values[i]);
            assert(
              dv <= 1e-5 * Math.abs(want.values[i]),
              `${where}: meta-loss ${got.values[i]} vs ${want.values[i]}`,
            );
            compared++;
          });
          fx.dispose();
        }
      }
      assertEquals(compared, 3 * OPTIMIZERS.length * 4);
    },
  });
}

Deno.test({
  name: "fused local search equals the cpu backend, candidates that stop included",
  ignore: !fd,
  fn: async () => {
    for (const [name, kind, hidden] of [CASES[0], CASES[3]]) {
      const fx = await setUp(name, kind, hidden, (e) => ({
        ...e,
        localSearch: { ...e.localSearch, metaSteps: 8 },
      }));
      const rng = new Rng(9);
      // Smooth losses only: where a hypergradient component is zero analytically (the weight of
      // f under log, which cancels), float noise of 1e-11 is all there is, and Adam turns noise
      // of either sign into a full step of the meta learning rate.
      const trees = [...SMOOTH, SMOOTH[1], SMOOTH[2]];
      // Two candidates whose meta-loss is not finite from the first step: they stop at once.
      const phi0 = trees.map((t, i) =>
        t.map(() => (i === 4 ? BLOWUP : i === 5 ? NaN : 1 + 0.001 * rng.normal()))
      );
      const want: LocalSearchResult[] = [];
      for (let i = 0; i < trees.length; i++) {
        want.push(await fx.ev.localSearchOf(compileLoss(trees[i], fx.task), phi0[i]));
      }
      assertEquals(want.map((r) => r.steps), [8, 8, 8, 8, 0, 0]);
      const got = await fx.engine.localSearch(trees, phi0);
      assertEquals(got.map((r) => r.steps), want.map((r) => r.steps), `${name}: steps`);
      got.forEach((r, i) => {
        if (want[i].steps === 0) {
          assertEquals(r.metaLosses, []);
          return;
        }
        r.phi.forEach((p, j) =>
          assert(
            Math.abs(p - want[i].phi[j]) <= 1e-5,
            `${name} ${i}: phi ${r.phi} vs ${want[i].phi}`,
          )
        );
        r.metaLosses.forEach((v, s) =>
          assert(
            Math.abs(v - want[i].metaLosses[s]) <= 1e-5 * Math.abs(want[i].metaLosses[s]),
            `${name} ${i}: meta-loss ${s}`,
          )
        );
      });
      assertEquals(
        await fx.engine.localSearch(trees.slice(0, 4), phi0.slice(0, 4)),
        got.slice(0, 4),
        "neighbours",
      );
      fx.dispose();
    }
  },
});

Deno.test({
  name: "fused dispatches per step do not grow with the stack",
  ignore: !fd,
  fn: async () => {
    const fx = await setUp(
      "iris",
      "mlp",
      [8],
      (e) => ({ ...e, localSearch: { ...e.localSearch, metaSteps: 3 } }),
    );
    const counts = [];
    for (const k of [1, 4]) {
      const trees = Array.from({ length: k }, (_, i) => SMOOTH[i % SMOOTH.length]);
      const phis = trees.map((t) => t.map(() => 1));
      await fx.engine.fitness(trees, phis, 10);
      const fitness = fx.engine.last.dispatches;
      await fx.engine.localSearch(trees, phis);
      counts.push([fitness, fx.engine.last.dispatches]);
    }
    const { metaStep, fitnessStep } = fx.engine.dispatchesPerStep;
    assertEquals(counts[0], counts[1]);
    // 10 fitness steps, the initial copy and one chunk of the validation metric (2 layers + 1).
    assertEquals(counts[0], [10 * fitnessStep + 1 + 3, 3 * metaStep]);
    fx.dispose();
  },
});

Deno.test("the fused engine refuses what it does not compute, with the reason", async () => {
  const config = smallConfig(1);
  const { spec } = await prepared(config);
  const e = config.evaluation;
  assertEquals(fusedRefusal(spec, e), undefined);
  const conv: ModelSpec = { ...spec, kind: "lenet5", imageShape: [2, 2, 1] };
  assert(fusedRefusal(conv, e)?.includes("dense models only"));
  const exact2 = { ...e, localSearch: { ...e.localSearch, unrollSteps: 2 } };
  assert(fusedRefusal(spec, exact2)?.includes("exact unrolling through 2 steps"));
  const truncated2 = {
    ...e,
    localSearch: {
      ...e.localSearch,
      unrollSteps: 3,
      unroll: { mode: "truncated" as const, truncateTo: 2 },
    },
  };
  assert(fusedRefusal(spec, truncated2)?.includes("truncated unrolling through 2 steps"));
  const firstOrder = {
    ...e,
    localSearch: { ...exact2.localSearch, unroll: { mode: "first-order" as const, truncateTo: 1 } },
  };
  assertEquals(fusedRefusal(spec, firstOrder), undefined);
  // The scale and the tie-breaker it computes; folds only where they apply (below 200 rows).
  const objective = { ...e, normalizeScale: true, tieBreak: true, folds: { belowRows: 200, k: 5 } };
  assertEquals(fusedRefusal(spec, objective, 800), undefined);
  assert(fusedRefusal(spec, objective, 12)?.includes("not over folds"));
  assert(fusedRefusal(spec, objective)?.includes("not over folds"), "rows unknown: refused");
  // Without local search nothing is unrolled, so the unroll settings do not matter.
  assertEquals(
    fusedRefusal(spec, { ...exact2, localSearch: { ...exact2.localSearch, enabled: false } }),
    undefined,
  );
});

Deno.test({
  name: "fused fitness measures a validation split of more than one chunk of rows",
  ignore: !fd,
  fn: async () => {
    // The metric runs over the validation rows in chunks of 1,024 (dense.ts): 2,500 rows make
    // two full chunks and a partial one, for both tasks.
    const rng = new Rng(13);
    const rows = (n: number, task: "classification" | "regression") => ({
      n,
      d: 6,
      x: Float32Array.from({ length: n * 6 }, () => rng.next() * 2 - 1),
      y: Float32Array.from(
        { length: n },
        () => (task === "classification" ? rng.int(3) : rng.next()),
      ),
    });
    for (const task of ["classification", "regression"] as const) {
      const data = {
        task,
        nClasses: task === "classification" ? 3 : undefined,
        train: rows(300, task),
        validation: rows(2500, task),
      };
      const spec: ModelSpec = {
        kind: "mlp",
        inputs: 6,
        outputs: task === "classification" ? 3 : 1,
        hidden: [5],
      };
      const settings = { ...smallConfig(1).evaluation, fitnessSteps: 40 };
      const ev = new CandidateEvaluator(data, spec, settings, 3);
      const engine = new FusedDense(fd!, spec, task, ev.train, ev.validation, settings, 3);
      const trees = SMOOTH.slice(0, 2);
      const phis = trees.map((t) => t.map(() => 1));
      const got = await engine.fitness(trees, phis, 40);
      const want = [
        await ev.fitness(trees[0], phis[0], 40),
        await ev.fitness(trees[1], phis[1], 40),
      ];
      assertFitness(got, want, task === "regression", task);
      engine.dispose();
      ev.dispose();
    }
  },
});

Deno.test({
  name:
    "a sequential dense stack runs on the fused engine as the MLP it is; other lists are refused",
  ignore: !fd,
  fn: async () => {
    const fx = await setUp("iris", "mlp", [8, 5], (e) => ({ ...e, fitnessSteps: 60 }));
    const sequential: ModelSpec = {
      ...fx.spec,
      kind: "sequential",
      hidden: [],
      layers: [
        { type: "Dense", units: 8, activation: "relu" },
        { type: "Dense", units: 5, activation: "relu" },
        { type: "Dense", units: 3 },
      ],
    };
    assertEquals(fusedRefusal(sequential, fx.settings), undefined);
    const engine = new FusedDense(
      fd!,
      sequential,
      fx.task,
      fx.ev.train,
      fx.ev.validation,
      fx.settings,
      fx.seed,
    );
    try {
      const trees = TREES[fx.task];
      const phis = trees.map((t) => t.map(() => 1));
      // The same parameters from the same draws, the same kernels: the MLP's bits.
      assertEquals(
        await engine.fitness(trees, phis, 60),
        await fx.engine.fitness(trees, phis, 60),
      );
    } finally {
      engine.dispose();
      fx.dispose();
    }
    const tanh: ModelSpec = {
      ...sequential,
      layers: [{ type: "Dense", units: 8, activation: "tanh" }, { type: "Dense", units: 3 }],
    };
    assert(fusedRefusal(tanh, fx.settings)?.includes("dense stacks only"));
  },
});
