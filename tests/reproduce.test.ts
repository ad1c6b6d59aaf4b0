/**
 * `deno task reproduce` end to end at the tiny budget (iris only) into a temporary folder: the
 * report's table, plots and results file exist and agree; a fresh rerun with the same seeds, a
 * rerun from the unit cache and a `--report-only` regeneration all give the same table. Also
 * Welch's test against reference values, and the shared standard-loss training against
 * engine/final_runs.ts's own for the same seed.
 */
import { assert, assertAlmostEquals, assertEquals } from "./support/assert.ts";
import { main } from "../reproduce/main.ts";
import { studentTwoSided, welchTTest } from "../reproduce/stats.ts";
import type { Results } from "../reproduce/driver.ts";
import { evaluationFor, runUnit, specFor, type TrainResult } from "../reproduce/units.ts";
import { TINY_PLAN } from "../reproduce/plan.ts";
import { finalRun } from "../engine/final_runs.ts";
import { loadDataset, prepare } from "../core/prepare.ts";
import { tf } from "../engine/tensor/tf.ts";

Deno.test("Student t tail and Welch's test match reference values", () => {
  // R: 2 * pt(-2, 10) = 0.07338803; 2 * pt(-1, 3) = 0.3910022
  assertAlmostEquals(studentTwoSided(2, 10), 0.07338803, 1e-6);
  assertAlmostEquals(studentTwoSided(-1, 3), 0.3910022, 1e-6);
  // R: t.test(c(1,2,3,4,5), c(2,4,6,8,10)) -> t = -1.8974, df = 5.8824, p = 0.10753 (scipy ttest_ind, equal_var=False)
  const w = welchTTest([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])!;
  assertAlmostEquals(w.t, -1.8974, 1e-4);
  assertAlmostEquals(w.df, 5.8824, 1e-4);
  assertAlmostEquals(w.p, 0.10753119, 1e-6);
  assertEquals(welchTTest([1], [2, 3]), null);
});

function table(md: string): string {
  return md.slice(md.indexOf("## Results"), md.indexOf("## What the numbers say"));
}

Deno.test("reproduce runs end to end on iris and writes a consistent report", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/repro.md`;
    const args = ["--plan", "tiny", "--out", out, "--cache", `${dir}/cache`];
    assertEquals(await main(args), 0);
    const md = await Deno.readTextFile(out);
    const results: Results = JSON.parse(await Deno.readTextFile(`${dir}/repro/results.json`));
    assertEquals(results.tasks.map((t) => t.task.id), ["iris-mlp"]);
    const methods = results.tasks[0].methods;
    assertEquals(methods.map((m) => m.method), ["standard", "gp-lfl", "evomal", "ml3"]);
    for (const m of methods) {
      assertEquals(m.values.length, 2);
      assert(m.curve.length > 0 || m.mean === null, `${m.method} has a learning curve`);
    }
    // The table row shows each method's mean as a percentage, and a p-value for the learned ones.
    const row = md.split("\n").find((l) => l.startsWith("| iris-mlp (test error rate)"))!;
    assert(row, "table row for iris-mlp");
    assertEquals(row.match(/p=/g)?.length ?? 0, 3);
    const std = methods[0].mean!;
    assert(row.includes(`${(100 * std).toFixed(2)}%`), row);
    for (
      const f of ["fitness-iris-mlp.svg", "curves-iris-mlp.svg", "sample-efficiency-iris-mlp.svg"]
    ) {
      assert(md.includes(`repro/${f}`), `report links ${f}`);
      assert((await Deno.readTextFile(`${dir}/repro/${f}`)).startsWith("<svg"), `${f} is SVG`);
    }
    // A fresh rerun with the same seeds recomputes every unit and gives the same table.
    assertEquals(await main([...args, "--fresh"]), 0);
    const fresh: Results = JSON.parse(await Deno.readTextFile(`${dir}/repro/results.json`));
    assertEquals(fresh.cachedUnits, 0);
    assertEquals(table(await Deno.readTextFile(out)), table(md));
    // A rerun without --fresh takes every unit from the cache.
    assertEquals(await main(args), 0);
    const cached: Results = JSON.parse(await Deno.readTextFile(`${dir}/repro/results.json`));
    assert(cached.cachedUnits > 0);
    assertEquals(table(await Deno.readTextFile(out)), table(md));
    // --report-only regenerates the same table from results.json.
    assertEquals(await main([...args, "--report-only"]), 0);
    assertEquals(table(await Deno.readTextFile(out)), table(md));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a standard-loss training unit equals engine/final_runs.ts's standard run for that seed", async () => {
  await tf.setBackend("cpu");
  const task = TINY_PLAN.tasks[0];
  const unit = await runUnit({
    kind: "train",
    task,
    loss: { kind: "standard" },
    seed: 1001,
    fraction: 1,
    dataSeed: 1,
  }) as TrainResult;
  const data = prepare(await loadDataset({ kind: "bundled", name: task.dataset }), 1);
  const inner = evaluationFor(task, true).inner;
  const settings = {
    steps: task.finalSteps,
    seeds: 1,
    inner,
    batchSize: 128,
    baseSeed: 1,
    tuneLr: false,
    lrGrid: [inner.lr],
    significance: 0.05,
  };
  const final = await finalRun(data, specFor(task, data), ["fx"], [1], settings, {
    loss: "standard",
    seed: 1001,
    steps: task.finalSteps,
    lr: inner.lr,
  });
  assertEquals(unit.value, final.value);
  assertEquals(unit.curve, final.curve);
});
