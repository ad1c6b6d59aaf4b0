/**
 * docs/reproduction.md from the study's results.json: per task, every method's final comparison
 * with the standard loss (the service's own, core/final.ts: the paper's row at the shared
 * learning rate and the tuned row, each loss at its own rate, paired t-test and Wilcoxon
 * signed-rank over the same seeds, and the verdict), the plots, the cost, and a reading of the
 * numbers. Everything is computed from the results file, and the reading is rule-based, so the
 * page cannot claim more than the numbers show and regenerating it from the same file gives the
 * same text.
 */
import { METHOD_LABELS, type MethodName, PLANS, type Variant, VARIANTS } from "./plan.ts";
import type { MethodResult, Results, TaskResult } from "./driver.ts";
import type { ComparisonRow, VerdictOutcome } from "../core/final.ts";
import { pairedTest } from "../core/paired.ts";
import { curvesChart, fitnessChart, ml3Chart } from "./charts.ts";

const WORDS: Record<VerdictOutcome, string> = {
  better: "better",
  "no-significant-difference": "no significant difference",
  worse: "worse",
  undetermined: "undetermined",
};

/** Better outcomes first. */
const RANK: Record<VerdictOutcome, number> = {
  better: 0,
  "no-significant-difference": 1,
  undetermined: 1,
  worse: 2,
};

export function fmtMetric(t: { metric: string }, v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  return t.metric === "mse" ? v.toFixed(2) : `${(100 * v).toFixed(2)}%`;
}

function fmtDiff(t: { metric: string }, v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  const s = t.metric === "mse" ? v.toFixed(2) : (100 * v).toFixed(2);
  return v > 0 ? `+${s}` : s;
}

/** "p = 0.012", "p < 0.001". */
const pText = (
  p: number | null | undefined,
) => (p !== null && p !== undefined && p < 0.001 ? "p < 0.001" : `p = ${fmtP(p)}`);

export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined) return "–";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

function seconds(ms: number): string {
  if (ms >= 2 * 3_600_000) return `${(ms / 3_600_000).toFixed(1)} hours`;
  return ms >= 120_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}

const label = (m: MethodName) => METHOD_LABELS[m];
const list = (ms: MethodName[]) => ms.length ? ms.map(label).join(", ") : "none";

/**
 * A method's verdict, the service's (core/final.ts): its comparison's tuned row, a win there
 * confirmed against the standard loss at the shared rate.
 */
export function verdictOf(m: MethodResult): VerdictOutcome | "missing" {
  return m.comparison ? m.comparison.verdict.outcome : "missing";
}

function rowCells(t: TaskResult, row: ComparisonRow | undefined): string[] {
  if (!row) return ["–", "–", "–", "–", "–"];
  const p = row.paired;
  const ci = p.ci ? `[${fmtDiff(t, p.ci[0])}, ${fmtDiff(t, p.ci[1])}]` : "–";
  return [
    `${fmtMetric(t, row.learned.mean)} ± ${fmtMetric(t, row.learned.std)}`,
    `${fmtDiff(t, p.meanDifference)} ${ci}`,
    fmtP(p.tTest?.p),
    fmtP(p.wilcoxon?.p),
    `**${WORDS[row.outcome]}**`,
  ];
}

/** One task's table: the standard loss twice, then every learned loss, both rows each. */
export function taskTable(t: TaskResult): string[] {
  const unit = t.metric === "mse" ? "test MSE" : "test error";
  const head = [
    "| method | lr | " + unit +
    " (mean ± sd) | difference [95% CI] | t-test p | Wilcoxon p | outcome |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  const first = t.methods.find((m) => m.comparison)?.comparison;
  const std = first?.standard;
  const out = [...head];
  out.push(
    `| ${label("standard")} | ${t.sharedLr} | ${fmtMetric(t, std?.mean)} ± ${
      fmtMetric(t, std?.std)
    } | (reference of the same-lr rows) | | | |`,
  );
  const st = t.standardTuned;
  out.push(
    `| ${label("standard")}, tuned lr, vs itself at ${t.sharedLr} | ${st.lr.learned} | ${
      rowCells(t, st).join(" | ")
    } |`,
  );
  for (const m of t.methods) {
    if (!m.comparison) {
      out.push(`| ${label(m.method)} | – | ${m.missing ?? "no result"} | | | | |`);
      continue;
    }
    const c = m.comparison;
    out.push(
      `| ${label(m.method)} vs standard, both at lr ${t.sharedLr} | ${c.lr.learned} | ${
        rowCells(t, c).join(" | ")
      } |`,
    );
    if (c.tuned) {
      out.push(
        `| ${
          label(m.method)
        } vs **tuned** standard (lr ${c.tuned.lr.standard}) | ${c.tuned.lr.learned} | ${
          rowCells(t, c.tuned).join(" | ")
        } |`,
      );
      const vs = c.tuned.versusShared;
      // Where the tuned row won, the check that decides it: the same learned runs against the
      // standard loss at the shared rate (the paper's row already is that when the rates agree).
      if (vs && c.tuned.outcome === "better" && vs.lr.learned !== t.sharedLr) {
        out.push(
          `| ${label(m.method)} at its lr vs standard at lr ${t.sharedLr} | ${vs.lr.learned} | ${
            rowCells(t, vs).join(" | ")
          } |`,
        );
      }
    } else {
      out.push(
        `| ${label(m.method)} vs tuned standard | – | not tuned: ${c.verdict.words} | | | | |`,
      );
    }
  }
  return out;
}

/** The learned formulas and what found them. */
function formulaLines(t: TaskResult): string[] {
  const out = [
    "| method | learned loss | search | validation fitness |",
    "| --- | --- | --- | --- |",
  ];
  for (const m of t.methods) {
    let loss = "–";
    let search = "–";
    if (m.formula) loss = "`" + m.formula.infix.replace(/\|/g, "\\|") + "`";
    if (m.search) {
      search = `${m.search.evaluations} candidates in ${m.search.generations} generations, ${
        seconds(m.search.wallMs)
      } (${m.search.rejected} rejected, ${m.search.diverged} diverged)`;
    }
    if (m.ml3) {
      loss = `ML3 network (2 x 40 hidden units)`;
      search = `${m.ml3.steps} meta-steps, Adam lr ${m.ml3.metaLr}, ${seconds(m.ml3.wallMs)}`;
    }
    if (m.taylorGlo) {
      loss = "Taylor polynomial, [a, b, t0..t5] = [" +
        m.taylorGlo.phi.map((v) => Number(v.toPrecision(3))).join(", ") + "]";
      search = `CMA-ES, ${m.taylorGlo.evaluations} evaluations in ${m.taylorGlo.best.length} ` +
        `generations, ${seconds(m.taylorGlo.wallMs)}`;
    }
    out.push(
      `| ${label(m.method)} | ${loss} | ${search} | ${
        m.fitness === undefined || m.fitness === null ? "–" : Number(m.fitness.toPrecision(4))
      } |`,
    );
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The rule-based reading of one task. */
export function taskReading(t: TaskResult): string[] {
  const lines: string[] = [];
  const by = (o: VerdictOutcome | "missing") =>
    t.methods.filter((m) => verdictOf(m) === o).map((m) => m.method);
  const better = by("better");
  lines.push(
    better.length
      ? `Against the standard loss at its tuned and at the shared rate, ${list(better)} ${
        better.length === 1 ? "was" : "were"
      } significantly better.`
      : `No learned loss was significantly better than the tuned standard loss on ${t.task.id}.`,
  );
  const worse = by("worse");
  if (worse.length) {
    lines.push(`Significantly worse than the tuned standard loss: ${list(worse)}.`);
  }
  const ties = [...by("no-significant-difference"), ...by("undetermined")];
  if (ties.length) lines.push(`No significant difference: ${list(ties)}.`);
  const missing = t.methods.filter((m) => !m.comparison);
  const notRun = missing.filter((m) => m.missing?.startsWith("not run")).map((m) => m.method);
  const noLoss = missing.filter((m) => !m.missing?.startsWith("not run")).map((m) => m.method);
  if (noLoss.length) lines.push(`No usable loss to compare: ${list(noLoss)}.`);
  if (notRun.length) lines.push(`Not run before the study stopped: ${list(notRun)}.`);
  const paperBetter = t.methods.filter((m) => m.comparison?.outcome === "better");
  const lost = paperBetter.filter((m) => verdictOf(m) !== "better").map((m) => m.method);
  if (paperBetter.length) {
    lines.push(
      `At the shared learning rate ${t.sharedLr}, ${
        list(paperBetter.map((m) => m.method))
      } beat the standard loss` +
        (lost.length
          ? `; for ${list(lost)} that advantage is gone once the standard loss has its own ` +
            "learning rate."
          : ", and kept the advantage against the tuned standard loss."),
    );
  }
  const st = t.standardTuned;
  if (st.lr.learned !== st.lr.standard) {
    const d = st.paired.meanDifference;
    const diverged = st.learned.values.filter((v, i) =>
      v === null && st.standard.values[i] !== null
    )
      .length;
    lines.push(
      `Tuning the standard loss's learning rate (${st.lr.standard} to ${st.lr.learned}) changed ` +
        `its test ${t.metric === "mse" ? "MSE" : "error"} by ${fmtDiff(t, d)}${
          t.metric === "mse" ? "" : " points"
        } on the seeds where it trained (${WORDS[st.outcome]}, t-test ${pText(st.paired.tTest?.p)}${
          diverged
            ? `; at ${st.lr.learned} it diverged on ${diverged} of ${st.learned.values.length} seeds`
            : ""
        }).`,
    );
    if (st.outcome === "worse") {
      lines.push(
        "The rate the validation trials chose is worse at the full length than the shared " +
          "one, so the tuned row's standard loss is the weaker baseline here; a learned loss " +
          "counts as better only if it also beats the standard loss at the shared rate.",
      );
      const hollow = t.methods.filter((m) =>
        m.comparison?.tuned?.outcome === "better" && verdictOf(m) !== "better"
      ).map((m) => m.method);
      if (hollow.length) {
        lines.push(
          `${list(hollow)} beat the tuned standard loss but not the standard loss at the ` +
            "shared rate: no evidence of a better loss.",
        );
      }
    }
  } else {
    lines.push(
      `The validation split chose the shared learning rate ${t.sharedLr} for the standard loss.`,
    );
  }
  const ml3 = t.methods.find((m) => m.method === "ml3")?.ml3;
  if (ml3 && ml3.metaLosses.length >= 40) {
    const k = Math.min(50, Math.floor(ml3.metaLosses.length / 4));
    const a = mean(ml3.metaLosses.slice(0, k));
    const b = mean(ml3.metaLosses.slice(-k));
    lines.push(
      `ML3's meta-loss fell from ${a.toPrecision(3)} (mean of the first ${k} meta-steps) to ` +
        `${b.toPrecision(3)} (last ${k}), ${
          b < a ? `${(100 * (1 - b / a)).toFixed(0)}% lower` : "no lower"
        }.`,
    );
  }
  const rows = t.rows.test;
  if (t.metric !== "mse" && rows < 500) {
    lines.push(
      `The test split has ${rows} rows: one example is ${(100 / rows).toFixed(2)} points of ` +
        "error, so differences of a few examples cannot be significant.",
    );
  }
  return lines;
}

/** A variant against EvoMAL as published: the tuned rows' test metrics, paired by seed. */
export function variantEffect(t: TaskResult, method: MethodName) {
  const pub = t.methods.find((m) => m.method === "evomal")?.comparison?.tuned;
  const v = t.methods.find((m) => m.method === method);
  const row = v?.comparison?.tuned;
  if (!pub || !row || !v) return null;
  const test = pairedTest(row.learned.values, pub.learned.values, 0.05);
  return {
    verdict: verdictOf(v),
    published: verdictOf(t.methods.find((m) => m.method === "evomal")!),
    difference: test.meanDifference,
    p: test.tTest?.p ?? null,
    significant: test.tTest !== null && test.tTest.p < 0.05 && test.meanDifference !== null &&
      test.meanDifference !== 0,
  };
}

/**
 * Which settings ran alone on which task: a setting that cannot act on a task (the tie-breaker on
 * a continuous metric, k-fold on a validation split of `foldsBelow` rows or more) is left out.
 */
function variantCoverage(r: Results): string[] {
  const alone = (t: TaskResult) =>
    t.methods.filter((m) => m.method.startsWith("evomal-") && m.method !== "evomal-all")
      .map((m) => m.method.slice("evomal-".length) as Variant);
  return VARIANTS.map((v) => {
    const ran = r.tasks.filter((t) => alone(t).includes(v)).map((t) => t.task.id);
    const left = r.tasks.filter((t) => !alone(t).includes(v))
      .map((t) => `${t.task.id}: ${whyNotAlone(v, t)}`);
    return `- ${v} alone: ${ran.join(", ") || "no task"}${
      left.length ? `; not on ${left.join("; ")}` : ""
    }.`;
  });
}

function whyNotAlone(v: Variant, t: TaskResult): string {
  if (v === "tie-break" && t.metric === "mse") {
    return "its metric is continuous, so fitness never ties and the setting does nothing";
  }
  if (v === "folds" && t.rows.validation >= t.task.search.foldsBelow) {
    return `its validation split has ${t.rows.validation} rows, not under ${t.task.search.foldsBelow}, so the setting does nothing`;
  }
  return "not in that task's plan";
}

/** Whether the study supports a setting of item 3 as a default, and why, in words. */
export function defaultsProposal(r: Results): string[] {
  const out: string[] = [];
  const candidates: { method: MethodName; setting: string }[] = [
    { method: "evomal-all", setting: "all four together" },
    ...VARIANTS.map((v) => ({ method: `evomal-${v}` as MethodName, setting: v })),
  ];
  const helps: string[] = [];
  for (const c of candidates) {
    const effects = r.tasks.map((t) => ({ t, e: variantEffect(t, c.method) }))
      .filter((x) => x.e !== null);
    if (!effects.length) continue;
    const improved = effects.filter((x) =>
      RANK[x.e!.verdict as VerdictOutcome] < RANK[x.e!.published as VerdictOutcome] ||
      (x.e!.significant && x.e!.difference! < 0)
    );
    const harmed = effects.filter((x) =>
      RANK[x.e!.verdict as VerdictOutcome] > RANK[x.e!.published as VerdictOutcome] ||
      (x.e!.significant && x.e!.difference! > 0)
    );
    out.push(
      `- ${label(c.method)} (${c.setting}), on ${effects.length} task${
        effects.length === 1 ? "" : "s"
      }: better than EvoMAL as published on ${improved.length} (${
        improved.map((x) => x.t.task.id).join(", ") || "none"
      }), worse on ${harmed.length} (${
        harmed.map((x) => x.t.task.id).join(", ") || "none"
      }) — a better verdict against the tuned standard loss, or a significantly lower test ` +
        "metric paired by seed.",
    );
    if (improved.length >= 2 && harmed.length === 0) helps.push(c.setting);
  }
  out.push(
    "",
    helps.length
      ? `By this rule (better on at least two tasks, worse on none) the study supports: ${
        helps.join("; ")
      }.`
      : "By this rule (better on at least two tasks, worse on none) no setting of item 3 is " +
        "clearly better than EvoMAL as published at this budget, so the search defaults stay " +
        "as they are.",
  );
  return out;
}

/** Measured time per unit kind, and what the published search budgets would take. */
function costLines(r: Results): string[] {
  const out = [
    "| task | final runs | mean per run | searches (EvoMAL as published) | ML3 | TaylorGLO |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const t of r.tasks) {
    const runs = t.unitMs.run ?? [];
    const evo = t.methods.find((m) => m.method === "evomal")?.search;
    const ml3 = t.methods.find((m) => m.method === "ml3")?.ml3;
    const tg = t.methods.find((m) => m.method === "taylorglo")?.taylorGlo;
    out.push(
      `| ${t.task.id} | ${runs.length} runs, ${seconds(runs.reduce((a, b) => a + b, 0))} | ${
        runs.length ? seconds(mean(runs)) : "–"
      } | ${evo ? seconds(evo.wallMs) : "–"} | ${ml3 ? seconds(ml3.wallMs) : "–"} | ${
        tg ? seconds(tg.wallMs) : "–"
      } |`,
    );
  }
  const paper = PLANS.paper.tasks[0].search;
  const study = r.plan.tasks[0]?.search;
  if (study) {
    // A meta-step (one unrolled step and its hypergradient) costs about three training steps.
    const per = (b: typeof study) =>
      b.population * b.generations * (3 * b.metaSteps + b.fitnessSteps);
    const ratio = per(paper) / per(study);
    const total = r.tasks.reduce(
      (a, t) => a + (t.methods.find((m) => m.method === "evomal")?.search?.wallMs ?? 0),
      0,
    );
    out.push(
      "",
      `The published search budget (population ${paper.population}, ${paper.generations} ` +
        `generations, ${paper.metaSteps} meta-steps, ${paper.fitnessSteps} fitness steps) is ` +
        `about ${ratio.toFixed(0)} times this study's per search (counting a meta-step as three ` +
        `training steps): the ${seconds(total)} that one EvoMAL search per task took here would ` +
        `be about ${seconds(total * ratio)} for one search per task, ` +
        "before the variants, GP-LFL and the final runs (which are already at the published " +
        "length here).",
    );
  }
  return out;
}

export function renderReport(
  r: Results,
  plots: Record<string, { curves: string; fitness: string; ml3: string }>,
  resultsPath = "reproduction/results.json",
): string {
  const md: string[] = [];
  const wall = r.parts.filter((p) => !p.cachedOnly).reduce((a, p) => a + p.wallMs, 0);
  const plan = r.plan;
  md.push(
    "# The study: learned losses against an honest standard loss",
    "",
    "Generated by `deno task reproduce --plan " + plan.name + "` (in parts: `bash " +
      "reproduce/study.sh`) from `" + resultsPath + "`; `deno task " +
      "reproduce --report-only` regenerates the page from that file alone. Every sentence " +
      "about results below is computed from that file.",
    "",
    `- Run: ${r.parts.length} part${r.parts.length === 1 ? "" : "s"}, ${
      r.parts.map((p) =>
        p.cachedOnly
          ? `${p.startedAt.slice(0, 16).replace("T", " ")} UTC: ${p.tasks.join(", ")} assembled ` +
            "from the unit cache after the study stopped (methods with units missing: not run)"
          : `${p.startedAt.slice(0, 16).replace("T", " ")} UTC (${p.tasks.join(", ")}, ${
            seconds(p.wallMs)
          }${p.cachedUnits ? `, ${p.cachedUnits} units from the cache` : ""})`
      ).join("; ")
    }; ${seconds(wall)} wall time in all on ${r.workers} workers.`,
    `- Machine: a 2-core x86 VM without GPU, shared with other work; tfjs backend ` +
      `\`${r.backend}\`, Lossmith ${r.versions.lossmith}, Deno ${r.versions.deno}.`,
    `- Protocol (the service's final comparison, core/final.ts): every loss trained from ` +
      `scratch for ${plan.finalSteps.toLocaleString("en")} steps on ${plan.seeds} seeds; for a ` +
      "seed every loss starts from the same initial weights and sees the same batches, so the " +
      "seeds are pairs. Two rows per learned loss: both losses at the shared learning rate " +
      "(the paper's comparison), and each loss at its own best learning rate from " +
      `[${plan.lrGrid.join(", ")}] and the shared one${
        plan.lrExtend
          ? ` (extended one grid step past an edge, up to ${plan.lrExtend} times, while a ` +
            "loss's best trial is there)"
          : ""
      }, chosen on the validation split by a run of the first seed (its length per task ` +
      "below). Paired t-test and Wilcoxon signed-rank test (from 6 pairs on) of learned minus " +
      "standard; the outcome is the t-test's at the 0.05 level, and a loss that diverges where " +
      "the standard loss trains is worse. The verdict is the tuned row's, and a win there " +
      "counts only if the learned loss, at its own rate, also beats the standard loss at the " +
      "shared rate (the service's rule: the standard loss's rate is chosen on one seed's " +
      "validation run and can be the worse of the two at test).",
    "- Differences are learned minus standard: negative favours the learned loss. Error rates " +
      "are percentages of the test split (differences in points); MSE is in the target's " +
      "original units.",
    "",
    "## Verdicts against the tuned standard loss (a win confirmed at the shared rate)",
    "",
    `| method | ${r.tasks.map((t) => t.task.id).join(" | ")} |`,
    `| --- | ${r.tasks.map(() => "---").join(" | ")} |`,
  );
  const methods = [...new Set(r.tasks.flatMap((t) => t.methods.map((m) => m.method)))];
  for (const name of methods) {
    md.push(`| ${label(name)} | ${
      r.tasks.map((t) => {
        const m = t.methods.find((x) => x.method === name);
        if (!m) return "–";
        const v = verdictOf(m);
        const paper = m.comparison ? ` (same lr: ${WORDS[m.comparison.outcome]})` : "";
        if (v !== "missing") return `${WORDS[v]}${paper}`;
        return m.missing?.startsWith("not run") ? "not run" : "no loss";
      }).join(" | ")
    } |`);
  }
  md.push("", "## What the numbers say", "");
  const pairs = r.tasks.flatMap((t) => t.methods.map((m) => ({ t, m })));
  const all = pairs.filter((x) => x.m.comparison);
  const skipped = pairs.length - all.length;
  if (skipped) {
    md.push(
      `- ${all.length} of the ${pairs.length} method-task pairs ran to a comparison; the other ` +
        `${skipped} are not run or found no usable loss (table above), and the counts below ` +
        "are of those that ran.",
    );
  }
  const wins = all.filter((x) => verdictOf(x.m) === "better");
  const losses = all.filter((x) => verdictOf(x.m) === "worse");
  const unconfirmed = all.filter((x) =>
    x.m.comparison?.tuned?.outcome === "better" && verdictOf(x.m) !== "better"
  );
  md.push(
    wins.length
      ? `- ${wins.length} of ${all.length} method-task pairs beat the tuned standard loss ` +
        `significantly, and the standard loss at the shared rate too: ${
          wins.map((x) => `${label(x.m.method)} on ${x.t.task.id}`).join(", ")
        }.`
      : `- None of the ${all.length} method-task pairs beat the standard loss significantly ` +
        "at both of its rates: nothing in this study wins.",
    ...(unconfirmed.length
      ? [
        `- ${unconfirmed.length} more beat the tuned standard loss but not the standard loss ` +
        `at the shared rate, so they do not count: ${
          unconfirmed.map((x) => `${label(x.m.method)} on ${x.t.task.id}`).join(", ")
        }.`,
      ]
      : []),
    `- ${losses.length} of ${all.length} were significantly worse than it${
      losses.length
        ? `: ${losses.map((x) => `${label(x.m.method)} on ${x.t.task.id}`).join(", ")}`
        : ""
    }.`,
  );
  const paperWins = all.filter((x) => x.m.comparison?.outcome === "better");
  md.push(
    `- At the shared learning rate (the paper's comparison) ${paperWins.length} pair${
      paperWins.length === 1 ? " was" : "s were"
    } better; ${
      paperWins.filter((x) => verdictOf(x.m) !== "better").length
    } of them lost that advantage against the tuned standard loss.`,
  );
  for (const t of r.tasks) {
    md.push(`- **${t.task.id}**: ${taskReading(t).join(" ")}`);
  }
  md.push("", "## The search defaults (issue 10, item 3)", "", ...defaultsProposal(r));
  md.push("", "## Per task", "");
  for (const t of r.tasks) {
    const p = plots[t.task.id];
    md.push(
      `### ${t.task.id}`,
      "",
      `${t.task.dataset}, ${t.task.model}${
        t.task.hidden.length ? ` (hidden ${t.task.hidden.join(", ")})` : ""
      }; rows: ${t.rows.train} train, ${t.rows.validation} validation, ${t.rows.test} test. ` +
        `Search budget: population ${t.task.search.population}, ${t.task.search.generations} ` +
        `generations, ${t.task.search.metaSteps} meta-steps, ${t.task.search.fitnessSteps} ` +
        `fitness steps (multi-fidelity rungs up to ${t.task.search.rungMaxSteps} steps; k-fold ` +
        `below ${t.task.search.foldsBelow} validation rows). ML3: ${t.task.ml3.metaSteps} ` +
        `meta-steps at Adam lr ${t.task.ml3.metaLr}. Learning-rate trials: ${
          (t.task.selectionSteps ?? plan.selectionSteps ?? plan.finalSteps).toLocaleString("en")
        } steps. TaylorGLO: CMA-ES, population ` +
        `${t.task.taylorGlo.lambda}, ${t.task.taylorGlo.generations} generations, step size ` +
        `${t.task.taylorGlo.sigma}.`,
      "",
      ...taskTable(t),
      "",
      ...formulaLines(t),
      "",
    );
    if (p) {
      md.push(
        `![Final training curves on ${t.task.id}](${p.curves})`,
        "",
        `![Search fitness on ${t.task.id}](${p.fitness})`,
        "",
        `![ML3 meta-training on ${t.task.id}](${p.ml3})`,
        "",
      );
    }
  }
  const planned = plan.tasks.filter((pt) => !r.tasks.some((t) => t.task.id === pt.id));
  if (planned.length) {
    md.push(
      "## Not run",
      "",
      `The plan's tasks ${planned.map((t) => t.id).join(", ")} have no results in this file.`,
      "",
    );
  }
  md.push(
    "## Cost",
    "",
    "Measured wall time of each unit on its worker (a unit's own time, not its wait in the " +
      "queue), with other work on the machine.",
    "",
    ...costLines(r),
    "",
    "LeNet-5 is not in the study: at about 70 ms a training step here, its 10,000-step final " +
      "runs alone (about 12 minutes each, over a hundred of them per task) do not fit.",
    "",
    "EvoMAL with one setting of item 3 alone, per setting:",
    "",
    ...variantCoverage(r),
  );
  return md.join("\n") + "\n";
}

export async function writeReproductionReport(
  r: Results,
  out: string,
  assets: string,
): Promise<string[]> {
  const rel = assets.split("/").pop()!;
  const written: string[] = [];
  const plots: Record<string, { curves: string; fitness: string; ml3: string }> = {};
  const save = async (name: string, svg: string) => {
    await Deno.writeTextFile(`${assets}/${name}`, svg);
    written.push(name);
    return `${rel}/${name}`;
  };
  for (const t of r.tasks) {
    plots[t.task.id] = {
      curves: await save(`${t.task.id}-curves.svg`, curvesChart(t)),
      fitness: await save(`${t.task.id}-fitness.svg`, fitnessChart(t)),
      ml3: await save(`${t.task.id}-ml3.svg`, ml3Chart(t)),
    };
  }
  await Deno.writeTextFile(out, renderReport(r, plots, `${rel}/results.json`));
  return written;
}
