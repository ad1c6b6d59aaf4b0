/** The reproduction's plots, drawn with the project's SVG helpers (report/svg.ts). */
import { COLORS, lineChart } from "../report/svg.ts";
import { METHOD_LABELS, type MethodName } from "./plan.ts";
import type { SampleEfficiencyResult, TaskResult } from "./driver.ts";

const STYLE: Record<MethodName, { color: string; dashed?: boolean }> = {
  standard: { color: COLORS.vermillion, dashed: true },
  "gp-lfl": { color: COLORS.green },
  evomal: { color: COLORS.blue },
  ml3: { color: COLORS.purple },
};

function metricLabel(t: { metric: string }): string {
  return t.metric === "mse" ? "test MSE" : "test error rate";
}

/** Best validation fitness of each generation, GP-LFL against EvoMAL. */
export function fitnessChart(t: TaskResult): string {
  return lineChart({
    title: `Search on ${t.task.id}: best fitness per generation`,
    subtitle: `Validation ${
      t.metric === "mse" ? "MSE (standardised targets)" : "error rate"
    } after ${t.task.fitnessSteps} training steps (lower is better)`,
    xLabel: "Generation",
    yLabel: "Best fitness",
    integerX: true,
    series: t.methods.filter((m) => m.search).map((m) => ({
      name: METHOD_LABELS[m.method],
      ...STYLE[m.method],
      points: m.search!.bestPerGeneration.map((v, i) => [i + 1, v] as const),
    })),
  });
}

/** Test metric while training from scratch, every method's loss, mean over seeds. */
export function curvesChart(t: TaskResult): string {
  return lineChart({
    title: `Final training on ${t.task.id}`,
    subtitle: `${metricLabel(t)} while training from scratch, mean over seeds (lower is better)`,
    xLabel: "Training steps",
    yLabel: metricLabel(t),
    series: t.methods.map((m) => ({
      name: METHOD_LABELS[m.method],
      ...STYLE[m.method],
      points: m.curve.map((v, i) => [(i + 1) * m.curveEvery, v] as const),
    })),
  });
}

/** Test metric against the fraction of training rows used. */
export function sampleEfficiencyChart(se: SampleEfficiencyResult, metric: string): string {
  return lineChart({
    title: `Sample efficiency on ${se.task}`,
    subtitle: `${metric}, mean over seeds, against the share of training rows`,
    xLabel: "Training rows used (%)",
    yLabel: metric,
    series: se.series.map((s) => ({
      name: s.method === "evomal" ? "EvoMAL's learned loss" : METHOD_LABELS[s.method],
      ...STYLE[s.method],
      points: se.fractions.map((f, i) => [100 * f, s.means[i]] as const),
    })),
  });
}
