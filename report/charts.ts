/** The report's charts, each a standalone SVG document drawn from a SearchResult. */
import type { SearchResult } from "../core/result.ts";
import type { MetricSummary } from "../core/final.ts";
import { formatMaybe } from "./format.ts";
import { COLORS, emptyChart, linePanel, stackedBarPanel, svgDocument } from "./svg.ts";
import { expressionTreeChart } from "./tree_chart.ts";

export { expressionTreeChart };

/** "error rate" for classification, "MSE" for regression: what fitness and the final measure. */
export function metricName(result: SearchResult): string {
  const metric = result.final?.metric ??
    (result.dataset.task === "classification" ? "error rate" : "mse");
  return metric === "mse" ? "MSE" : metric;
}

/** Best and median fitness per generation, over what happened to each generation's candidates. */
export function convergenceChart(result: SearchResult): string {
  const gens = result.generations;
  const title = `Search convergence on ${result.dataset.name}`;
  if (gens.length === 0) return emptyChart(title, "No generations were run.");
  const metric = metricName(result);
  const fitness = (marginLeft?: number) =>
    linePanel({
      title,
      subtitle: `Validation ${metric} after partial training (lower is better)`,
      xLabel: "Generation",
      yLabel: `Validation ${metric}`,
      integerX: true,
      marginLeft,
      series: [
        {
          name: "Best fitness",
          color: COLORS.blue,
          points: gens.map((g) => [g.generation, g.bestFitness]),
        },
        {
          name: "Median fitness",
          color: COLORS.orange,
          dashed: true,
          points: gens.map((g) => [g.generation, g.medianFitness]),
        },
      ],
    });
  const filters = (marginLeft?: number) =>
    stackedBarPanel({
      title: "Candidates per generation",
      subtitle: "What became of each individual (the stack is the population)",
      xLabel: "Generation",
      yLabel: "Individuals",
      categories: gens.map((g) => g.generation),
      marginLeft,
      stacks: [
        { name: "Evaluated", color: COLORS.blue, values: gens.map((g) => g.evaluated) },
        { name: "Equivalent", color: COLORS.green, values: gens.map((g) => g.equivalent) },
        { name: "Rejected", color: COLORS.vermillion, values: gens.map((g) => g.rejected) },
        { name: "Failed", color: COLORS.purple, values: gens.map((g) => g.failed) },
        { name: "Cache hits", color: COLORS.grey, values: gens.map((g) => g.cacheHits) },
      ],
    });
  // Line the two plots' left edges up so generations read across both.
  const left = Math.max(fitness().plotLeft ?? 0, filters().plotLeft ?? 0);
  return svgDocument(title, [fitness(left), filters(left)]);
}

function finalNote(s: MetricSummary): string {
  const ok = s.values.filter((v) => v !== null).length;
  const seeds = `${ok}/${s.values.length} seeds`;
  if (s.mean === null) return `all ${s.values.length} runs diverged`;
  return `final ${formatMaybe(s.mean, 4)} ± ${formatMaybe(s.std, 2)}, ${seeds}`;
}

/** Test metric during training from scratch: the learned loss against the standard one. */
export function learningCurvesChart(result: SearchResult): string {
  const title = `Final evaluation on ${result.dataset.name}`;
  const final = result.final;
  if (!final) return emptyChart(title, "This search has no final evaluation.");
  const metric = final.metric === "mse" ? "MSE" : final.metric;
  const standard = result.dataset.task === "classification" ? "cross-entropy" : "MSE";
  const curve = (c: number[]) => c.map((v, i) => [(i + 1) * final.curveEvery, v] as const);
  const tuned = final.tuned;
  // The tuned row's runs, each loss at its own learning rate, beside the paper's.
  const tunedSeries = tuned
    ? [
      {
        name: `Learned, lr ${tuned.lr.learned} (${finalNote(tuned.learned)})`,
        color: COLORS.green,
        points: curve(tuned.learned.curve),
      },
      {
        name: `${standard}, lr ${tuned.lr.standard} (${finalNote(tuned.standard)})`,
        color: COLORS.orange,
        dashed: true,
        points: curve(tuned.standard.curve),
      },
    ]
    : [];
  return svgDocument(title, [
    linePanel({
      title,
      subtitle: `Test ${metric} while training from scratch, mean over seeds (lower is better)`,
      xLabel: "Training steps",
      yLabel: `Test ${metric}`,
      series: [
        {
          name: `Learned loss${tuned ? `, lr ${final.lr.learned}` : ""} (${
            finalNote(final.learned)
          })`,
          color: COLORS.blue,
          points: curve(final.learned.curve),
        },
        {
          name: `Standard ${standard}${tuned ? `, lr ${final.lr.standard}` : ""} (${
            finalNote(final.standard)
          })`,
          color: COLORS.vermillion,
          dashed: true,
          points: curve(final.standard.curve),
        },
        ...tunedSeries,
      ],
    }),
  ]);
}

/** The best loss's tree, or a note when the search found none. */
export function bestLossTreeChart(result: SearchResult): string {
  const best = result.losses[0];
  if (!best) return emptyChart("Best loss: expression tree", "The search found no loss.");
  return expressionTreeChart(best.tree, best.phi, { subtitle: `L = ${best.infix}` });
}
