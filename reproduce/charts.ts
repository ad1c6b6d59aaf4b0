/** The study's plots, drawn with the project's SVG helpers (report/svg.ts). */
import { COLORS, lineChart, type Series } from "../report/svg.ts";
import { METHOD_LABELS, type MethodName } from "./plan.ts";
import type { TaskResult } from "./driver.ts";

const PALETTE = [
  COLORS.blue,
  COLORS.green,
  COLORS.orange,
  COLORS.purple,
  COLORS.sky,
  COLORS.grey,
  COLORS.ink,
  COLORS.muted,
];

/** A colour per method, the standard loss vermillion and dashed. */
export function styleOf(method: MethodName, i: number): { color: string; dashed?: boolean } {
  return method === "standard"
    ? { color: COLORS.vermillion, dashed: true }
    : { color: PALETTE[i % PALETTE.length] };
}

function metricLabel(t: { metric: string }): string {
  return t.metric === "mse" ? "test MSE" : "test error rate";
}

/**
 * Test metric while training from scratch, each loss at its own tuned learning rate (the tuned
 * row of its comparison), mean over seeds; the standard loss at its tuned rate, dashed.
 */
export function curvesChart(t: TaskResult): string {
  const withRows = t.methods.filter((m) => m.comparison);
  const first = withRows[0]?.comparison;
  const every = first?.curveEvery ?? 1;
  const std = first?.tuned?.standard ?? first?.standard;
  const series: Series[] = [];
  if (std) {
    series.push({
      name: `${METHOD_LABELS.standard} (lr ${first!.tuned?.lr.standard ?? t.sharedLr})`,
      ...styleOf("standard", 0),
      points: std.curve.map((v, i) => [(i + 1) * every, v] as const),
    });
  }
  withRows.forEach((m, i) => {
    const row = m.comparison!.tuned ?? m.comparison!;
    series.push({
      name: `${METHOD_LABELS[m.method]} (lr ${row.lr.learned})`,
      ...styleOf(m.method, i),
      points: row.learned.curve.map((v, k) => [(k + 1) * every, v] as const),
    });
  });
  return lineChart({
    title: `Final training on ${t.task.id}, each loss at its tuned learning rate`,
    subtitle: `${metricLabel(t)} while training from scratch, mean over seeds (lower is better)`,
    xLabel: "Training steps",
    yLabel: metricLabel(t),
    series,
  });
}

/** Best validation fitness per generation of every search (EvoMAL variants, GP-LFL, TaylorGLO). */
export function fitnessChart(t: TaskResult): string {
  const series: Series[] = t.methods.flatMap((m, i) => {
    const points = m.search?.bestPerGeneration ?? m.taylorGlo?.best;
    return points
      ? [{
        name: METHOD_LABELS[m.method],
        ...styleOf(m.method, i),
        points: points.map((v, g) => [g + 1, v] as const),
      }]
      : [];
  });
  return lineChart({
    title: `Searches on ${t.task.id}: best fitness per generation`,
    subtitle: `Validation ${
      t.metric === "mse" ? "MSE (standardised targets)" : "error rate"
    } after partial training (lower is better); TaylorGLO's generations are CMA-ES's`,
    xLabel: "Generation",
    yLabel: "Best fitness",
    integerX: true,
    series,
  });
}

/** ML3's meta-training curve: the unrolled validation task loss at each meta-step. */
export function ml3Chart(t: TaskResult): string {
  const m = t.methods.find((x) => x.method === "ml3");
  const losses = m?.ml3?.metaLosses ?? [];
  // A running mean over 20 steps beside the raw values: each meta-step sees one batch.
  const smooth = losses.map((_, i) => {
    const w = losses.slice(Math.max(0, i - 19), i + 1);
    return w.reduce((a, b) => a + b, 0) / w.length;
  });
  return lineChart({
    title: `ML3 meta-training on ${t.task.id}`,
    subtitle: `Validation task loss after one unrolled step, per meta-step (Adam, lr ${
      m?.ml3?.metaLr ?? "–"
    }); lower means the loss network learned to train the model`,
    xLabel: "Meta-step",
    yLabel: "Meta-loss",
    integerX: true,
    series: [
      {
        name: "per meta-step",
        color: COLORS.grey,
        points: losses.map((v, i) => [i + 1, v] as const),
      },
      {
        name: "running mean of 20",
        color: COLORS.purple,
        points: smooth.map((v, i) => [i + 1, v] as const),
      },
    ],
  });
}
