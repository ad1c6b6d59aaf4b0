/**
 * The study (`deno task reproduce`): end to end at the tiny budget (iris only) into a temporary
 * folder, where the report's tables, plots and results file exist and agree and a rerun from the
 * unit cache and a `--report-only` regeneration give the same page; the report generator on
 * synthetic results built by the service's own comparison (core/final.ts), where a worse loss
 * must be reported as worse and a study where nothing wins must say so; runs in parts merging;
 * and a training unit against engine/final_runs.ts's run for the same seed.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { main } from "../reproduce/main.ts";
import {
  mergeResults,
  type MethodResult,
  type Results,
  type TaskResult,
} from "../reproduce/driver.ts";
import { configFor, type RunResult, runUnit, specFor } from "../reproduce/units.ts";
import { STUDY_PLAN, TINY_PLAN } from "../reproduce/plan.ts";
import { renderReport, taskReading } from "../reproduce/report.ts";
import { finalRun } from "../engine/final_runs.ts";
import { loadDataset, prepare } from "../core/prepare.ts";
import {
  combineFinal,
  combineRow,
  type FinalRunRequest,
  finalSeeds,
  type FinalSettings,
} from "../core/final.ts";
import { tf } from "../engine/tensor/tf.ts";

/** The report without its run line (times differ between runs). */
const body = (md: string) => md.split("\n").filter((l) => !l.startsWith("- Run:")).join("\n");

Deno.test("the study runs end to end on iris, from the cache and from results.json alike", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/study.md`;
    const args = ["--plan", "tiny", "--out", out, "--cache", `${dir}/cache`];
    assertEquals(await main(args), 0);
    const md = await Deno.readTextFile(out);
    const results: Results = JSON.parse(await Deno.readTextFile(`${dir}/study/results.json`));
    assertEquals(results.kind, "lossmith.study");
    assertEquals(results.tasks.map((t) => t.task.id), ["iris-mlp"]);
    const t = results.tasks[0];
    assertEquals(
      t.methods.map((m) => m.method),
      ["gp-lfl", "evomal", "evomal-all", "evomal-tie-break", "ml3", "taylorglo"],
    );
    for (const m of t.methods) {
      if (!m.comparison) continue;
      assertEquals(m.comparison.seeds.length, TINY_PLAN.seeds);
      assertEquals(m.comparison.steps, TINY_PLAN.finalSteps);
      assert(m.comparison.tuned, `${m.method} has a tuned row`);
      // The standard loss's runs are shared: every comparison sees the same standard values.
      assertEquals(m.comparison.standard.values, t.methods[0].comparison!.standard.values);
      assert(md.includes(`| ${m.comparison.verdict.outcome === "better" ? "better" : ""}`));
    }
    assertEquals(t.methods.find((m) => m.method === "ml3")!.ml3!.metaLosses.length, 3);
    assert(md.includes("## Verdicts against the tuned standard loss"));
    for (const f of ["iris-mlp-curves.svg", "iris-mlp-fitness.svg", "iris-mlp-ml3.svg"]) {
      assert(md.includes(`study/${f}`), `report links ${f}`);
      assert((await Deno.readTextFile(`${dir}/study/${f}`)).startsWith("<svg"), `${f} is SVG`);
    }
    // A rerun takes every unit from the cache and gives the same page.
    assertEquals(await main(args), 0);
    const again: Results = JSON.parse(await Deno.readTextFile(`${dir}/study/results.json`));
    assert(again.parts.at(-1)!.cachedUnits > 0);
    assertEquals(again.tasks, results.tasks.map((x) => ({ ...x, unitMs: again.tasks[0].unitMs })));
    // The rerun replaced the only task, so its part replaces the first one.
    assertEquals(again.parts.length, 1);
    assertEquals(body(await Deno.readTextFile(out)), body(md));
    // --report-only regenerates it from results.json alone.
    const before = await Deno.readTextFile(out);
    assertEquals(await main([...args, "--report-only"]), 0);
    assertEquals(await Deno.readTextFile(out), before);
    // --cached-only computes nothing: with one of ML3's runs gone from the cache, ML3 is "not
    // run" and everything else is as before.
    for (const f of Deno.readDirSync(`${dir}/cache`)) {
      const text = Deno.readTextFileSync(`${dir}/cache/${f.name}`);
      if (text.includes('"loss":{"kind":"ml3"')) {
        Deno.removeSync(`${dir}/cache/${f.name}`);
        break;
      }
    }
    assertEquals(await main([...args, "--cached-only"]), 0);
    const partial: Results = JSON.parse(await Deno.readTextFile(`${dir}/study/results.json`));
    assertEquals(partial.parts.at(-1)!.cachedOnly, true);
    const ml3 = partial.tasks[0].methods.find((m) => m.method === "ml3")!;
    assertEquals(ml3.comparison, null);
    assert((await Deno.readTextFile(out)).includes("| ML3 | not run |"));
    assertEquals(
      partial.tasks[0].methods.filter((m) => m.method !== "ml3"),
      results.tasks[0].methods.filter((m) => m.method !== "ml3"),
    );
    await Deno.remove(`${dir}/cache`, { recursive: true });
    // An unknown task is refused before anything runs.
    let refused = "";
    await main([...args, "--tasks", "nope"]).catch((e) => (refused = String(e)));
    assert(refused.includes("unknown task nope"), refused);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const SETTINGS: FinalSettings = {
  steps: 100,
  seeds: 6,
  inner: { lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 },
  batchSize: 32,
  baseSeed: 1,
  tuneLr: true,
  lrGrid: [0.003, 0.03],
  significance: 0.05,
};

/**
 * Synthetic runs: the standard loss's error is lowest at lr 0.03, and the learned one's is the
 * standard's plus `offset` (with a little seed noise) at every rate.
 */
function synthetic(offset: number) {
  const base = (seed: number, lr: number) => 0.1 + (lr === 0.03 ? 0 : 0.02) + (seed % 7) * 0.001;
  return (r: FinalRunRequest) => {
    const noise = r.loss === "learned" ? ((Math.round(r.seed / 1000) * 7) % 5 - 2) * 0.0005 : 0;
    const v = base(r.seed, r.lr) + (r.loss === "learned" ? offset + noise : 0);
    return { value: v, validation: v, curve: [v + 0.1, v] };
  };
}

function syntheticTask(methods: [MethodResult["method"], number][]): TaskResult {
  const task = STUDY_PLAN.tasks.find((t) => t.id === "iris-mlp")!;
  const seeds = finalSeeds(SETTINGS);
  const std = synthetic(0);
  const run = (lr: number) => seeds.map((seed) => std({ loss: "standard", seed, steps: 100, lr }));
  return {
    task,
    metric: "error rate",
    rows: { train: 1000, validation: 200, test: 800 },
    sharedLr: 0.01,
    standardTuned: combineRow(
      SETTINGS,
      { learned: 0.03, standard: 0.01 },
      seeds.map((seed, i) => ({ seed, learned: run(0.03)[i], standard: run(0.01)[i] })),
    ),
    standardMs: 0,
    methods: methods.map(([method, offset]) => ({
      method,
      comparison: combineFinal("classification", SETTINGS, synthetic(offset)),
      finalMs: 0,
    })),
    unitMs: { run: [1000, 2000] },
  };
}

function syntheticResults(tasks: TaskResult[]): Results {
  return {
    kind: "lossmith.study",
    createdAt: "2026-01-01T00:00:00.000Z",
    plan: { ...STUDY_PLAN, tasks: tasks.map((t) => t.task) },
    backend: "cpu",
    workers: 2,
    versions: { lossmith: "test", deno: "test", v8: "test" },
    parts: [{
      tasks: tasks.map((t) => t.task.id),
      startedAt: "2026-01-01T00:00:00.000Z",
      wallMs: 1,
      cachedUnits: 0,
    }],
    tasks,
  };
}

Deno.test("the report calls a worse loss worse and a better one better, from the numbers", () => {
  const t = syntheticTask([["evomal", 0.01], ["gp-lfl", -0.01], ["ml3", 0]]);
  const [worse, better, same] = t.methods;
  assertEquals(worse.comparison!.verdict.outcome, "worse");
  assertEquals(better.comparison!.verdict.outcome, "better");
  assertEquals(same.comparison!.verdict.outcome, "no-significant-difference");
  const md = renderReport(syntheticResults([t]), {});
  const verdictRow = (label: string) => md.split("\n").find((l) => l.startsWith(`| ${label} |`))!;
  assert(verdictRow("EvoMAL (published)").includes("| worse (same lr: worse)"), md);
  assert(verdictRow("GP-LFL").includes("| better (same lr: better)"), md);
  assert(verdictRow("ML3").includes("no significant difference"), md);
  const reading = taskReading(t).join(" ");
  assert(reading.includes("Significantly worse than the tuned standard loss: EvoMAL (published)."));
  assert(reading.includes("GP-LFL was significantly better"));
  assert(reading.includes("Tuning the standard loss's learning rate (0.01 to 0.03)"), reading);
  assert(md.includes("1 of 3 method-task pairs beat the tuned standard loss"), md);
  assert(md.includes("1 of 3 were significantly worse than it: EvoMAL (published) on iris-mlp"));
});

Deno.test("the report says so when nothing wins, and keeps the defaults", () => {
  const t = syntheticTask([["evomal", 0.01], ["evomal-all", 0.01], ["evomal-tie-break", 0]]);
  const md = renderReport(syntheticResults([t]), {});
  assert(
    md.includes(
      "None of the 3 method-task pairs beat the standard loss significantly at both of its rates",
    ),
    md,
  );
  assert(md.includes("No learned loss was significantly better than the tuned standard loss"));
  // Tie-break's loss beats the published one's by 0.01 on every seed: better on one task only.
  assert(
    md.includes("EvoMAL + tie-break (tie-break), on 1 task: better than EvoMAL as published on 1"),
    md,
  );
  assert(md.includes("no setting of item 3 is clearly better"), md);
});

Deno.test("a study run in parts keeps the earlier parts' tasks, in plan order", () => {
  const a = syntheticTask([["evomal", 0]]);
  const b = { ...syntheticTask([["gp-lfl", 0]]), task: STUDY_PLAN.tasks[0] };
  const first = { ...syntheticResults([a]), plan: STUDY_PLAN };
  const second = { ...syntheticResults([b]), plan: STUDY_PLAN };
  const merged = mergeResults(first, second);
  assertEquals(merged.tasks.map((t) => t.task.id), ["mnist-linear", "iris-mlp"]);
  assertEquals(merged.parts.length, 2);
  // A rerun of a task replaces its earlier result, and the part that ran only that task.
  const rerun = mergeResults(merged, second);
  assertEquals(rerun.tasks.length, 2);
  assertEquals(rerun.parts.length, 2);
  assertEquals(mergeResults(rerun, { ...second, tasks: [a, b] }).parts.length, 1);
});

Deno.test("a run unit trains as engine/final_runs.ts's final run for that seed", async () => {
  await tf.setBackend("cpu");
  const task = TINY_PLAN.tasks[0];
  const model = { dataset: task.dataset, model: task.model, hidden: task.hidden };
  const unit = await runUnit({
    kind: "run",
    task: model,
    loss: { kind: "standard" },
    seed: 1001,
    steps: 50,
    lr: 0.03,
    dataSeed: 1,
  }) as RunResult;
  const config = configFor(model);
  const data = prepare(
    await loadDataset({ kind: "bundled", name: task.dataset }),
    1,
    config.split,
    config.preprocessing,
  );
  const settings = {
    ...SETTINGS,
    inner: config.evaluation.inner,
    batchSize: config.evaluation.batchSize,
  };
  const final = await finalRun(data, specFor(model, data), ["fx"], [1], settings, {
    loss: "standard",
    seed: 1001,
    steps: 50,
    lr: 0.03,
  });
  assertEquals(unit.value, final.value);
  assertEquals(unit.validation, final.validation);
  assertEquals(unit.curve, final.curve);
});
