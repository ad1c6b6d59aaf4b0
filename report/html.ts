/**
 * The report as one self-contained HTML page (inline SVG and CSS, no external assets), and a
 * writer that saves it with the charts as separate SVG files.
 */
import { join } from "node:path";
import type { SearchResult } from "../core/result.ts";
import {
  type ComparisonRow,
  describeRow,
  type LrSelection,
  type MetricSummary,
  standardLossName,
} from "../core/final.ts";
import { MODEL_KINDS } from "../core/model_kinds.ts";
import { describeLayers } from "../core/layers.ts";
import { describePreprocessing } from "../core/export/provenance.ts";
import { bestLossTreeChart, convergenceChart, learningCurvesChart, metricName } from "./charts.ts";
import { escapeXml as esc, formatDuration, formatMaybe, formatSig } from "./format.ts";

interface Charts {
  convergence: string;
  learningCurves: string;
  bestLossTree: string;
}

function renderCharts(result: SearchResult): Charts {
  return {
    convergence: convergenceChart(result),
    learningCurves: learningCurvesChart(result),
    bestLossTree: bestLossTreeChart(result),
  };
}

const STOPPED: Record<SearchResult["stopped"], string> = {
  "generations": "ran all generations",
  "max-evaluations": "evaluation budget reached",
  "max-seconds": "time budget reached",
  "cancelled": "cancelled",
};

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: #222; max-width: 1000px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6rem 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 0.3rem 0.7rem; text-align: left;
  vertical-align: top; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 0.92em; }
figure { margin: 1.2rem 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
.better { color: #00795a; } .worse { color: #b34700; }
.verdict { font-size: 1.1em; border-left: 4px solid #999; padding-left: 0.8rem; }
.verdict.better { border-color: #00795a; } .verdict.worse { border-color: #b34700; }
.warnings li { color: #b34700; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.85em; }
`;

function table(head: string[], rows: string[][], numeric: boolean[] = []): string {
  const cell = (tag: string, v: string, i: number) =>
    `<${tag}${numeric[i] ? ' class="num"' : ""}>${v}</${tag}>`;
  return [
    "<table>",
    `<thead><tr>${head.map((h, i) => cell("th", h, i)).join("")}</tr></thead>`,
    "<tbody>",
    ...rows.map((r) => `<tr>${r.map((v, i) => cell("td", v, i)).join("")}</tr>`),
    "</tbody></table>",
  ].join("\n");
}

/** Two-column key/value table; values are HTML. */
function facts(rows: [string, string][]): string {
  return `<table>\n${
    rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${v}</td></tr>`).join("\n")
  }\n</table>`;
}

function summary(r: SearchResult): string {
  const { config: c, dataset: d } = r;
  const ev = c.evaluation;
  const inner = `SGD lr ${ev.inner.lr}${
    ev.inner.momentum ? `, momentum ${ev.inner.momentum}` : ""
  }${ev.inner.nesterov ? " (Nesterov)" : ""}${
    ev.inner.weightDecay ? `, weight decay ${ev.inner.weightDecay}` : ""
  }`;
  const ls = ev.localSearch;
  const budget = [
    c.budget.maxEvaluations !== undefined ? `${c.budget.maxEvaluations} evaluations` : "",
    c.budget.maxSeconds !== undefined ? `${c.budget.maxSeconds} s` : "",
  ].filter(Boolean).join(", ") || "none";
  return facts([
    [
      "Dataset",
      `${esc(d.name)} (${esc(d.task)}, ${d.inputs} inputs${
        d.classes !== undefined ? `, ${d.classes} classes` : ""
      })`,
    ],
    ["Rows", `${d.rows.train} train, ${d.rows.validation} validation, ${d.rows.test} test`],
    ["Preprocessing", esc(describePreprocessing(d.preprocessing))],
    [
      "Model",
      esc(
        c.model.kind + (c.model.hidden.length ? ` (hidden ${c.model.hidden.join("×")})` : "") +
          (c.model.layers?.length ? `: ${describeLayers(c.model.layers)}` : ""),
      ),
    ],
    [
      "Search",
      `population ${c.budget.population}, ${c.budget.generations} generations, tournament ${c.gp.tournamentSize}, seed ${c.seed}`,
    ],
    ["Budget", esc(budget)],
    [
      "Evaluation",
      `rejection screen ${ev.screen.enabled ? "on" : "off"}, gradient equivalence ${
        ev.gradientEquivalence.enabled ? "on" : "off"
      }, local search ${
        ls.enabled
          ? `${ls.metaSteps} meta-steps (unroll ${ls.unrollSteps}, lr ${ls.metaLr})`
          : "off"
      }, fitness after ${ev.fitnessSteps} steps, batch ${ev.batchSize}`,
    ],
    ["Inner optimiser", esc(inner)],
    [
      "Initialisation",
      esc(
        `${c.model.init}${c.model.init === "auto" ? ` (${MODEL_KINDS[c.model.kind].init})` : ""}`,
      ),
    ],
    [
      "Final evaluation",
      `${c.final.steps} steps × ${c.final.seeds} seeds${
        c.final.tuneLr
          ? `, learning rates tuned from ${esc(c.final.lrGrid.join(", "))}${
            c.final.lrExtend ? ` (extended past an edge up to ${c.final.lrExtend} times)` : ""
          }`
          : ""
      }, significance ${c.final.significance}`,
    ],
    ["Stopped", esc(STOPPED[r.stopped] ?? r.stopped)],
  ]);
}

function lossesTable(r: SearchResult): string {
  if (r.losses.length === 0) return "<p>The search found no loss.</p>";
  return table(
    [
      "Rank",
      "Loss (weights folded)",
      "Structure",
      "Learned weights on the structure",
      `Fitness (${esc(metricName(r))})`,
    ],
    r.losses.map((l) => [
      String(l.rank),
      // Results written before the simplified form existed have none.
      `<code>${esc(l.simplified?.infix ?? l.infix)}</code>`,
      `<code>${esc(l.structure.infix)}</code>`,
      `<code>${esc(l.infix)}</code>`,
      esc(formatSig(l.fitness, 4)),
    ]),
    [true, false, false, false, true],
  );
}

function meanStd(s: MetricSummary): string {
  return s.mean === null ? "all diverged" : `${formatSig(s.mean, 4)} ± ${formatMaybe(s.std, 2)}`;
}

function rowTable(r: SearchResult, row: ComparisonRow, seeds: number[]): string {
  const seedValue = (v: number | null) => v === null ? "diverged" : formatSig(v, 4);
  const standard = standardLossName(r.dataset.task as "classification" | "regression");
  const rows = [
    [`Learned (lr ${row.lr.learned})`, row.learned],
    [`Standard, ${standard} (lr ${row.lr.standard})`, row.standard],
  ] as const;
  return table(
    ["Loss", `Test ${esc(metricName(r))} (mean ± std)`, ...seeds.map((s) => `Seed ${s}`)],
    rows.map(([name, s]) => [
      esc(name),
      meanStd(s),
      ...seeds.map((_, i) => seedValue(s.values[i])),
    ]),
    [false, true, ...seeds.map(() => true)],
  );
}

const OUTCOME_CLASS: Record<string, string> = { better: "better", worse: "worse" };

function rowVerdict(r: SearchResult, row: ComparisonRow): string {
  const cls = OUTCOME_CLASS[row.outcome] ?? "";
  let difference = "The difference is unknown: one of the losses diverged on every seed.";
  if (row.difference !== null) {
    const rel = row.standard.mean
      ? ` (${formatSig((100 * row.difference) / row.standard.mean, 3)}%)`
      : "";
    difference = `Difference, learned − standard: ${esc(formatSig(row.difference, 3))}${esc(rel)}.`;
  }
  return `<p>${difference} <strong class="${cls}">${
    esc(row.outcome.replaceAll("-", " "))
  }</strong>: ${esc(describeRow(row, metricName(r)))}.</p>`;
}

function selectionTable(r: SearchResult, s: LrSelection): string {
  return table(
    ["Learning rate", `Learned: validation ${esc(metricName(r))}`, "Standard: validation"],
    s.trials.map((t) => [
      String(t.lr),
      t.learned === null ? "diverged" : formatSig(t.learned, 4),
      t.standard === null ? "diverged" : formatSig(t.standard, 4),
    ]),
    [true, true, true],
  );
}

function finalSection(r: SearchResult): string {
  const f = r.final;
  if (!f) return `<p>This search has no final evaluation.</p>`;
  const tuned = f.tuned
    ? `<h3>Tuned comparison: each loss at its own best learning rate</h3>
<p>Learning rates chosen on the validation split, each loss on its own, after ${f.tuned.selection.steps} training steps from seed ${f.tuned.selection.seed}'s initial weights.</p>
${selectionTable(r, f.tuned.selection)}
${rowTable(r, f.tuned, f.seeds)}
${rowVerdict(r, f.tuned)}`
    : "<p>No tuned comparison: the learning rate was not tuned for either loss.</p>";
  return `<p>Both losses trained the model from scratch for ${f.steps} steps on each seed; the two runs of a seed start from the same initial weights and see the same batches, so the seeds are pairs.</p>
<h3>The paper's comparison: the same optimiser and learning rate for both</h3>
${rowTable(r, f, f.seeds)}
${rowVerdict(r, f)}
${tuned}`;
}

function verdictSection(r: SearchResult): string {
  const cls = OUTCOME_CLASS[r.outcome] ?? "";
  const warnings = r.warnings.length
    ? `<ul class="warnings">\n${r.warnings.map((w) => `<li>${esc(w)}</li>`).join("\n")}\n</ul>`
    : "";
  return `<p class="verdict ${cls}">${esc(r.conclusion)}</p>\n${warnings}`;
}

function totals(r: SearchResult): string {
  const t = r.totals;
  return facts([
    ["Generations", String(t.generations)],
    ["Evaluations (local search + fitness)", String(t.evaluations)],
    ["Distinct losses", String(t.distinctLosses)],
    ["Cache hits", String(t.cacheHits)],
    ["Rejected by the screen", String(t.rejected)],
    ["Gradient-equivalent", String(t.equivalent)],
    ["Diverged", String(t.diverged)],
    ["Failed", String(t.failed)],
    ["Wall time", esc(formatDuration(t.wallMs))],
  ]);
}

function environment(r: SearchResult): string {
  const v = r.versions;
  const b = r.backend;
  return facts([
    ["Lossmith", esc(v.lossmith)],
    ["Deno", esc(v.deno)],
    ["V8", esc(v.v8)],
    ["TypeScript", esc(v.typescript)],
    ["TensorFlow.js", esc(v.tfjs)],
    [
      "Backend",
      esc(
        `${b.name}${b.adapter ? ` (${b.adapter})` : ""}, ${b.workers} worker${
          b.workers === 1 ? "" : "s"
        }`,
      ),
    ],
    ["Created", esc(r.createdAt)],
  ]);
}

function figure(svg: string, caption: string): string {
  return `<figure>\n${svg}\n<figcaption>${esc(caption)}</figcaption>\n</figure>`;
}

function page(r: SearchResult, charts: Charts): string {
  const title = `Lossmith report: ${r.dataset.name}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Learned loss functions (EvoMAL) · ${esc(r.createdAt)}</p>
<h2>Verdict</h2>
${verdictSection(r)}
<h2>Setup</h2>
${summary(r)}
<h2>Ranked losses</h2>
${lossesTable(r)}
<h2>Final comparison</h2>
${finalSection(r)}
${figure(charts.learningCurves, "Test metric while training from scratch.")}
<h2>Best loss</h2>
${figure(charts.bestLossTree, "Expression tree of the best loss with its learned weights.")}
<h2>Search</h2>
${figure(charts.convergence, "Fitness per generation, and what the filters did.")}
${totals(r)}
<h2>Environment</h2>
${environment(r)}
<details><summary>Full configuration</summary>
<pre>${esc(JSON.stringify(r.config, null, 2))}</pre>
</details>
</body>
</html>
`;
}

export function renderReport(result: SearchResult): string {
  return page(result, renderCharts(result));
}

/** Writes report.html and the three charts as SVG files into `dir` (created if missing). */
export async function writeReport(
  result: SearchResult,
  dir: string,
): Promise<{ html: string; svgs: string[] }> {
  const charts = renderCharts(result);
  await Deno.mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ["convergence.svg", charts.convergence],
    ["learning-curves.svg", charts.learningCurves],
    ["best-loss-tree.svg", charts.bestLossTree],
  ];
  const svgs: string[] = [];
  for (const [name, svg] of files) {
    const path = join(dir, name);
    await Deno.writeTextFile(path, `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`);
    svgs.push(path);
  }
  const html = join(dir, "report.html");
  await Deno.writeTextFile(html, page(result, charts));
  return { html, svgs };
}
