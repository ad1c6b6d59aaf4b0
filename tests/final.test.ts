/**
 * The final comparison: the learning-rate choice and the verdict from given runs, then real
 * trainings (bundled Boston, cpu backend) through evaluateFinal: the runs of a seed are paired,
 * each run is trained once, and a tuned comparison in which the standard loss wins says so.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { finalRun } from "../engine/final_runs.ts";
import { evaluateFinal, evaluateFinalRuns } from "../core/pipeline.ts";
import {
  bestLr,
  combineFinal,
  type FinalRun,
  type FinalRunRequest,
  type FinalSettings,
  lrCandidates,
  runKey,
} from "../core/final.ts";
import { loadDataset, prepare } from "../core/prepare.ts";
import { modelSpecFor } from "../core/model_kinds.ts";
import type { Tree } from "../core/expr/tree.ts";

await tf.setBackend("cpu");

const SETTINGS: FinalSettings = {
  steps: 150,
  seeds: 5,
  inner: { lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 },
  batchSize: 32,
  baseSeed: 1,
  tuneLr: true,
  lrGrid: [0.001, 0.003, 0.01, 0.03, 0.1],
  significance: 0.05,
};

const run = (value: number | null, validation = value): FinalRun => ({
  value,
  validation,
  curve: value === null ? [] : [value],
});

Deno.test("the best learning rate: lowest validation metric, ties to the shared rate", () => {
  const trials = (metrics: (number | null)[]) =>
    [0.001, 0.003, 0.01, 0.03, 0.1].map((lr, i) => ({ lr, metric: metrics[i] }));
  assertEquals(bestLr(trials([0.5, 0.4, 0.3, 0.2, 0.25]), 0.01), 0.03);
  // A tie between 0.003 and 0.03: 0.03 is the nearer to 0.01 by ratio (3 against 3.33).
  assertEquals(bestLr(trials([0.5, 0.2, 0.3, 0.2, 0.25]), 0.01), 0.03);
  // Equally near by ratio (half and twice the shared rate): the smaller wins.
  assertEquals(bestLr([{ lr: 2, metric: 0.2 }, { lr: 0.5, metric: 0.2 }], 1), 0.5);
  assertEquals(bestLr(trials([0.2, 0.3, 0.2, 0.3, 0.2]), 0.01), 0.01);
  assertEquals(bestLr(trials([null, null, null, null, 0.9]), 0.01), 0.1);
  assertEquals(bestLr(trials([null, null, null, null, null]), 0.01), null);
  // The shared rate is always a candidate, so the tuned row can only do better on validation.
  assertEquals(lrCandidates({ lrGrid: [0.1, 0.001], inner: SETTINGS.inner }), [0.001, 0.01, 0.1]);
});

Deno.test("a learned loss ahead at the shared rate but not once the standard loss is tuned", () => {
  // At lr 0.01 the learned loss wins on every seed (its scale acts as a larger learning rate);
  // cross-entropy at its own best rate, 0.1, does better still.
  const learned = [0.061, 0.064, 0.060, 0.062, 0.063];
  const shared = [0.116, 0.118, 0.115, 0.117, 0.119];
  const tunedStandard = [0.052, 0.055, 0.051, 0.054, 0.056];
  const seeds = [1001, 2001, 3001, 4001, 5001];
  const result = (r: FinalRunRequest): FinalRun => {
    const i = seeds.indexOf(r.seed);
    if (r.loss === "learned") return run(r.lr === 0.01 ? learned[i] : learned[i] + 0.01);
    if (r.lr === 0.1) return run(tunedStandard[i]);
    return run(r.lr < 0.01 ? 0.3 : r.lr === 0.01 ? shared[i] : 0.08);
  };
  const f = combineFinal("classification", SETTINGS, result);
  assertEquals(f.outcome, "better", "the paper's row");
  assertEquals(f.tuned?.lr, { learned: 0.01, standard: 0.1 });
  assertEquals(f.tuned?.outcome, "worse");
  assertEquals(f.tuned?.selection.trials.length, 5);
  assertEquals([f.verdict.outcome, f.verdict.basis, f.verdict.keepStandard], [
    "worse",
    "tuned",
    true,
  ]);
  assert(f.verdict.words.startsWith("Worse: "), f.verdict.words);
  assert(f.verdict.words.includes("Keep the standard loss, cross-entropy."), f.verdict.words);
  assert(/a tuned learning rate for cross-entropy takes away/.test(f.verdict.words));
  // The interval and the test come from the tuned pairs: mean +0.0084 over 5 seeds.
  const p = f.paired;
  assert(p.ci![1] < 0 && p.tTest!.p < 0.05, JSON.stringify(p));
  const d = f.tuned!.paired;
  assert(d.ci![0] > 0 && d.tTest!.p < 0.05, JSON.stringify(d));
});

Deno.test("a win against the tuned standard loss that the shared rate does not confirm", () => {
  // The validation trial picks 0.03 for cross-entropy, which is worse at test than the shared
  // 0.01: the learned loss beats the tuned row's standard loss but not cross-entropy at 0.01.
  const seeds = [1001, 2001, 3001, 4001, 5001];
  const learned = [0.100, 0.102, 0.099, 0.101, 0.103];
  const atShared = [0.099, 0.103, 0.100, 0.100, 0.102];
  const atTuned = [0.108, 0.111, 0.106, 0.109, 0.113];
  const result = (r: FinalRunRequest): FinalRun => {
    const i = seeds.indexOf(r.seed);
    if (r.loss === "learned") return run(r.lr === 0.01 ? learned[i] : 0.2);
    if (r.lr === 0.03) return run(atTuned[i], 0.05);
    return run(r.lr === 0.01 ? atShared[i] : 0.3);
  };
  const f = combineFinal("classification", SETTINGS, result);
  assertEquals(f.tuned?.lr, { learned: 0.01, standard: 0.03 });
  assertEquals(f.tuned?.outcome, "better");
  assertEquals(f.tuned?.versusShared?.lr, { learned: 0.01, standard: 0.01 });
  assertEquals(f.tuned?.versusShared?.outcome, "no-significant-difference");
  assertEquals([f.verdict.outcome, f.verdict.basis, f.verdict.keepStandard], [
    "no-significant-difference",
    "versus-shared",
    true,
  ]);
  assert(f.verdict.words.includes("at the rate its validation trial chose, 0.03"), f.verdict.words);
  assert(f.verdict.words.includes("Keep the standard loss, cross-entropy."), f.verdict.words);

  // Confirmed at the shared rate as well: better, decided by the tuned row.
  const confirmed = combineFinal("classification", SETTINGS, (r) => {
    const i = seeds.indexOf(r.seed);
    if (r.loss === "learned") return run(r.lr === 0.01 ? learned[i] - 0.01 : 0.2);
    return result(r);
  });
  assertEquals([confirmed.verdict.outcome, confirmed.verdict.basis], ["better", "tuned"]);
  assertEquals(confirmed.tuned?.versusShared?.outcome, "better");
});

Deno.test("the grid extends past its edge while a loss's best rate is there, round by round", async () => {
  // Cross-entropy's validation error keeps falling up to 0.9 and diverges at 2.7; the learned
  // loss is best inside the grid. Two rounds: 0.3, then 0.9; a third round is not allowed.
  const standardAt = (lr: number) => lr > 1 ? null : 0.2 - 0.1 * Math.log10(lr * 100);
  const learnedAt = (lr: number) => 0.1 + Math.abs(Math.log10(lr / 0.01)) / 10;
  const trained: FinalRunRequest[] = [];
  const rounds: number[] = [];
  const f = await evaluateFinalRuns(
    "classification",
    { ...SETTINGS, lrExtend: 2 },
    (r) => {
      trained.push(r);
      const v = r.loss === "learned" ? learnedAt(r.lr) : standardAt(r.lr);
      return Promise.resolve(run(v === null ? null : v + r.seed / 1e7));
    },
    (_done, total) => rounds.push(total),
  );
  const sel = f.tuned!.selection;
  assertEquals(sel.candidates, [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.9]);
  assertEquals(sel.extended, [0.3, 0.9]);
  assertEquals(f.tuned!.lr, { learned: 0.01, standard: 0.9 });
  // Both losses are tried at each new rate, on the selection seed, once.
  const at = (lr: number) => trained.filter((r) => r.lr === lr && r.seed === 1001).length;
  assertEquals([at(0.3), at(0.9), at(2.7)], [2, 2, 0]);
  assertEquals(new Set(trained.map(runKey)).size, trained.length, "no run trained twice");
  // The totals announced grow round by round: 10 paper + 8 trials, +2, +2, then the tuned row.
  assert(rounds.includes(18) && rounds.includes(20) && rounds.includes(22), `${rounds}`);
  // The same runs, read back, make the same choice (combineFinal recomputes the rounds).
  const byKey = new Map(trained.map((r) => [runKey(r), r]));
  const again = combineFinal("classification", { ...SETTINGS, lrExtend: 2 }, (r) => {
    assert(byKey.has(runKey(r)), `not trained: ${runKey(r)}`);
    const v = r.loss === "learned" ? learnedAt(r.lr) : standardAt(r.lr);
    return run(v === null ? null : v + r.seed / 1e7);
  });
  assertEquals(again.tuned!.lr, f.tuned!.lr);
  // A divergence past the edge ends the extension: the edge stays the best rate.
  const capped = combineFinal("classification", { ...SETTINGS, lrExtend: 3 }, (r) => {
    const v = r.loss === "learned" ? learnedAt(r.lr) : (r.lr > 0.2 ? null : standardAt(r.lr));
    return run(v === null ? null : v + r.seed / 1e7);
  });
  assertEquals(capped.tuned!.selection.extended, [0.3]);
  assertEquals(capped.tuned!.lr.standard, 0.1);
  // Off (and in searches stored before the setting): the grid as given.
  const off = combineFinal(
    "classification",
    { ...SETTINGS, lrExtend: 0 },
    (r) => run(r.loss === "learned" ? learnedAt(r.lr) : standardAt(r.lr)),
  );
  assertEquals(off.tuned!.selection.candidates, [0.001, 0.003, 0.01, 0.03, 0.1]);
  assertEquals(off.tuned!.selection.extended, undefined);
});

Deno.test("no significant difference, and a loss that diverges, both say to keep the standard", () => {
  const seeds = [1001, 2001, 3001, 4001, 5001];
  const noisy = [0.1, 0.12, 0.09, 0.11, 0.1];
  const other = [0.11, 0.1, 0.1, 0.1, 0.11];
  const same = combineFinal(
    "regression",
    { ...SETTINGS, tuneLr: false },
    (r) => run((r.loss === "learned" ? noisy : other)[seeds.indexOf(r.seed)]),
  );
  assertEquals([same.verdict.outcome, same.verdict.basis], ["no-significant-difference", "paper"]);
  assert(same.verdict.words.includes("Keep the standard loss, squared error (MSE)."));
  assert(same.verdict.words.includes("not tuned for either loss"), same.verdict.words);
  const diverged = combineFinal(
    "regression",
    { ...SETTINGS, tuneLr: false },
    (r) => run(r.loss === "learned" && r.seed === 3001 ? null : 0.1),
  );
  assertEquals(diverged.verdict.outcome, "worse");
  assert(diverged.verdict.words.includes("diverged on 1 of 5 seeds"), diverged.verdict.words);
});

Deno.test("real final runs: paired seeds, each run trained once, the standard loss winning", async () => {
  const data = prepare(await loadDataset({ kind: "bundled", name: "boston" }), 1);
  const spec = modelSpecFor({ kind: "mlp", hidden: [8] }, data);
  const trained: string[] = [];
  const platform = (tree: Tree, phi: number[]) => ({
    finalRuns: (_t: Tree, _p: number[], settings: FinalSettings, r: FinalRunRequest) => {
      trained.push(runKey(r));
      return finalRun(data, spec, tree, phi, settings, r);
    },
  });
  // Squared error written as a learned loss trains exactly as the standard loss on each seed:
  // the runs of a seed share initial weights and batches. Another seed starts elsewhere.
  const mse: Tree = ["square", "sub", "fx", "y"];
  const paired = await evaluateFinal(
    platform(mse, [1, 1, 1, 1]),
    "regression",
    mse,
    [1, 1, 1, 1],
    { ...SETTINGS, tuneLr: false },
  );
  paired.seeds.forEach((_, i) => {
    const [l, s] = [paired.learned.values[i]!, paired.standard.values[i]!];
    assert(Math.abs(l - s) <= 1e-4 * s, `seed ${i}: ${l} vs ${s}`);
  });
  assert(new Set(paired.standard.values).size === 5, "every seed its own start");
  assertEquals(trained.length, 10);

  // A hundredth of squared error: at the shared rate it learns a hundred times slower, and the
  // grid's largest rate does not make up for it, while squared error takes its own best rate.
  trained.length = 0;
  const small: Tree = ["mul", 0.01, "square", "sub", "fx", "y"];
  const phi = small.map(() => 1);
  const reports: [number, number][] = [];
  const f = await evaluateFinal(
    platform(small, phi),
    "regression",
    small,
    phi,
    SETTINGS,
    (done, total) => reports.push([done, total]),
  );
  assertEquals(new Set(trained).size, trained.length, "no run trained twice");
  // Runs are counted as they are planned: first the paper's and the trials (none done), then
  // the tuned row's, announced before any of them has finished; the last report is the end.
  assertEquals(reports[0], [0, 18]);
  assertEquals(reports.at(-1), [trained.length, trained.length]);
  const announced = reports.findIndex(([, total]) => total === trained.length);
  assertEquals(reports[announced], [18, trained.length], JSON.stringify(reports));
  reports.forEach(([done], i) => assert(i === 0 || done >= reports[i - 1][0], "done only grows"));
  // Paper's 10 runs and 10 trials, of which the two at lr 0.01 on the first seed are paper runs,
  // then the tuned row's runs not trained yet.
  const tunedNew = (["learned", "standard"] as const).filter((k) => f.tuned!.lr[k] !== 0.01)
    .length * 4;
  assertEquals(trained.length, 10 + 8 + tunedNew);
  assertEquals(f.tuned!.lr.learned, 0.1);
  assertEquals([f.outcome, f.tuned!.outcome, f.verdict.outcome], ["worse", "worse", "worse"]);
  assert(f.verdict.keepStandard && f.verdict.words.includes("Keep the standard loss"));
  assert(f.tuned!.learned.mean! > f.tuned!.standard.mean!, JSON.stringify(f.tuned));
});
