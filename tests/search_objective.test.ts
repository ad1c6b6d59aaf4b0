/**
 * The search objective's settings (docs/method.md, "A search objective that survives full
 * training"), each on real data (bundled Iris, cpu backend) and real trainings: k-fold fitness
 * for small validation splits, scale normalisation and its exports, the task-loss tie-breaker.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { foldIndices, foldSplits } from "../core/data/folds.ts";
import { foldScale } from "../core/loss_scale.ts";
import type { SearchConfig } from "../core/search.ts";
import { rankLosses } from "../core/result.ts";
import { compareResults, HallOfFame } from "../core/gp/hall_of_fame.ts";
import { selectionScores } from "../core/fidelity.ts";
import { exportTfjs } from "../core/export.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { Rng } from "../core/rng.ts";
import { prepared, searchInProcess, smallConfig } from "./support/search_fixture.ts";

await tf.setBackend("cpu");

const withEvaluation = (
  config: SearchConfig,
  evaluation: Partial<SearchConfig["evaluation"]>,
): SearchConfig => ({ ...config, evaluation: { ...config.evaluation, ...evaluation } });

const search = (config: SearchConfig) => searchInProcess(config);

Deno.test("k-fold: the folds partition the rows, each class shared out to within one row", () => {
  let compared = 0;
  for (const [n, k, classes] of [[150, 5, 3], [37, 4, 2], [23, 5, 0], [10, 2, 7]]) {
    const rng = new Rng(n);
    const labels = classes ? Array.from({ length: n }, () => rng.int(classes)) : undefined;
    const folds = foldIndices(labels, n, k, 11);
    assertEquals(folds.length, k);
    // Every row in exactly one fold.
    assertEquals(folds.flat().sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    const sizes = folds.map((f) => f.length);
    assert(Math.max(...sizes) - Math.min(...sizes) <= 1, `${sizes}`);
    for (let c = 0; c < (classes || 1); c++) {
      const per = folds.map((f) => f.filter((i) => !labels || labels[i] === c).length);
      assert(Math.max(...per) - Math.min(...per) <= 1, `class ${c}: ${per}`);
      compared++;
    }
    assertEquals(foldIndices(labels, n, k, 11), folds, "the same seed, the same folds");
    // Each fold's training rows are exactly the other folds' rows.
    const rows = {
      x: Float32Array.from({ length: n }, (_, i) => i),
      y: new Float32Array(n),
      n,
      d: 1,
    };
    foldSplits(rows, folds).forEach((s, f) => {
      assertEquals(Array.from(s.validation.x), folds[f]);
      assertEquals(
        Array.from(s.train.x).sort((a, b) => a - b),
        folds.flatMap((r, g) => (g === f ? [] : r)).sort((a, b) => a - b),
      );
    });
  }
  assertEquals(compared, 3 + 2 + 1 + 7);
  assertThrows(() => foldIndices(undefined, 3, 5, 1), /cannot make 5 folds/);
});

Deno.test("k-fold: a small validation split measures fitness over the pooled rows' folds", async () => {
  const base = smallConfig(2);
  const { data, spec } = await prepared(base);
  const pooled = data.train.n + data.validation.n;
  const tree = parseInfix("square(f(x) - y)");
  const phi = tree.map(() => 1);
  const plain = new CandidateEvaluator(data, spec, base.evaluation, base.seed);
  const folded = new CandidateEvaluator(data, spec, {
    ...base.evaluation,
    folds: { belowRows: data.validation.n + 1, k: 5 },
  }, base.seed);
  try {
    assertEquals([plain.folds, folded.folds], [0, 5]);
    const a = await plain.fitness(tree, phi);
    const b = await folded.fitness(tree, phi);
    // An error rate over the validation split's rows, against one over all the pooled rows (a
    // whole number of rows, up to the float32 rounding of the mean).
    assertAlmostEquals(
      a.fitness * data.validation.n,
      Math.round(a.fitness * data.validation.n),
      1e-4,
    );
    assertAlmostEquals(b.fitness * pooled, Math.round(b.fitness * pooled), 1e-4);
    assertEquals(b.steps, 5 * base.evaluation.fitnessSteps);
    assert(b.taskLoss !== undefined && Number.isFinite(b.taskLoss));
    // Stacked, the folds give the same results.
    const [s] = await folded.fitnessStacked([tree, tree], [phi, phi]);
    assertAlmostEquals(s.fitness, b.fitness, 1e-6);
  } finally {
    plain.dispose();
    folded.dispose();
  }
});

Deno.test("scale normalisation: the gradient norm at initialisation is the standard loss's", async () => {
  const base = withEvaluation(smallConfig(4), { normalizeScale: true });
  const { data, spec } = await prepared(base);
  const ev = new CandidateEvaluator(data, spec, base.evaluation, base.seed);
  try {
    let compared = 0;
    for (const text of ["229 * square(f(x) - y)", "0.01 * abs(y - f(x))", "-1 * y * log(f(x))"]) {
      const tree = parseInfix(text);
      const phi = tree.map((_, i) => (i % 3 === 1 ? 1.5 : 1));
      const s = await ev.lossScale(tree, phi);
      assert(s !== undefined && s > 0, text);
      const f = foldScale(tree, phi, s);
      // Scaled once, the loss needs no more scaling: its norm is the standard loss's.
      assertAlmostEquals((await ev.lossScale(f.tree, f.phi))!, 1, 1e-4, text);
      compared++;
    }
    assertEquals(compared, 3);
  } finally {
    ev.dispose();
  }
});

Deno.test("scale normalisation: the exported loss computes what was validated, scale included", async () => {
  // A seed whose small search ranks several losses under the published initialisation.
  const config = withEvaluation(smallConfig(2), { normalizeScale: true });
  const { state } = await search(config);
  const ranked = rankLosses(state);
  assert(ranked.length > 0, "the search found no loss");
  const dir = await Deno.makeTempDir({ prefix: "lossmith_scaled_" });
  const rng = new Rng(5);
  let compared = 0;
  try {
    for (const loss of ranked) {
      const entry = state.hallOfFame.entries[loss.rank - 1];
      assert(loss.scale !== undefined && loss.scale === entry.scale, "every tuned loss is scaled");
      assertEquals(loss.tree, ["mul", loss.scale, ...entry.tree]);
      const path = `${dir}/loss_${loss.rank}.js`;
      await Deno.writeTextFile(path, exportTfjs({ ...loss, task: "classification" }));
      const exported = (await import(new URL(`file://${path}`).href)).learnedLoss;
      for (let trial = 0; trial < 3; trial++) {
        const logits = Array.from({ length: 6 }, () => [0, 1, 2].map(() => 2 * rng.normal()));
        const labels = logits.map(() => rng.int(3));
        tf.tidy(() => {
          const z = tf.tensor2d(logits);
          const y = tf.oneHot(tf.tensor1d(labels, "int32"), 3).toFloat() as tf.Tensor2D;
          const out = tf.mean(exported(y, z, { fromLogits: true })).dataSync()[0];
          // The engine's loss as validated (the folded tree), bit for bit ...
          const folded = compileLoss(loss.tree, "classification")(z, y, tf.tensor1d(loss.phi));
          assertEquals(out, folded.dataSync()[0]);
          // ... which is the tuned loss times its scale.
          const tuned = compileLoss(entry.tree, "classification")(
            z,
            y,
            tf.tensor1d([...entry.phi!]),
          );
          assertAlmostEquals(out, loss.scale! * tuned.dataSync()[0], 1e-5 * Math.abs(out) + 1e-7);
          compared++;
        });
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(compared, 3 * ranked.length);
});

Deno.test("tie-breaker: equal fitness ranks by the validation task loss, in the hall and selection", async () => {
  const a = { fitness: 0.1, taskLoss: 0.5 }, b = { fitness: 0.1, taskLoss: 0.3 };
  assertEquals(compareResults(a, b), 0);
  assert(compareResults(a, b, { tieBreak: true }) > 0);
  assert(compareResults({ fitness: 0.2, taskLoss: 0.1 }, a, { tieBreak: true }) > 0);
  const hall = new HallOfFame(3, { tieBreak: true });
  hall.consider(["add", "y", "fx"], 0.1, undefined, { taskLoss: 0.5 });
  hall.consider(["sub", "y", "fx"], 0.1, undefined, { taskLoss: 0.3 });
  assertEquals(hall.entries.map((e) => e.taskLoss), [0.3, 0.5]);

  // A real search on Iris, whose 12 validation rows make error rates tie.
  const config = withEvaluation(smallConfig(6), { tieBreak: true });
  const { state } = await search({ ...config, budget: { ...config.budget, generations: 3 } });
  const entries = state.hallOfFame.entries;
  assert(entries.every((e) => e.taskLoss !== undefined), "every tuned loss records its task loss");
  let ties = 0;
  for (let i = 1; i < entries.length; i++) {
    assert(entries[i - 1].fitness <= entries[i].fitness);
    if (entries[i - 1].fitness === entries[i].fitness) {
      assert(entries[i - 1].taskLoss! <= entries[i].taskLoss!, `ranks ${i} and ${i + 1}`);
      ties++;
    }
  }
  assert(ties > 0, "no tie to break in this search: the test compared nothing");
  // Selection sees the same order: a tie broken by the task loss is a lower score.
  const keys = Object.keys(state.archive).filter((k) => state.archive[k].outcome === "tuned");
  const scores = selectionScores(config, state.archive, keys);
  keys.forEach((k, i) =>
    keys.forEach((l, j) => {
      const c = compareResults(state.archive[k], state.archive[l], { tieBreak: true });
      if (c < 0) assert(scores[i] < scores[j]);
    })
  );
});
