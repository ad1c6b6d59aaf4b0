/**
 * Warnings about splits too small for their metric to tell losses apart. An error rate on n rows
 * moves in steps of 1/n: when the ranked losses' validation error rates lie within a few such
 * steps, or tie, their order says nothing, and a test split of a few dozen rows cannot show a
 * difference smaller than a few of its rows.
 */
import type { FinalComparison } from "./final.ts";

/** Fewer rows than this make any validation metric a noisy fitness. */
export const MIN_VALIDATION_ROWS = 30;
/** Ranked losses within fewer validation rows than this are not told apart. */
export const MIN_ROW_STEPS = 3;
/** Fewer test rows than this get a warning about the resolution of the test error rate. */
export const MIN_TEST_ROWS = 100;

const percent = (v: number) => `${Number((100 * v).toPrecision(3))}%`;

export function splitWarnings(
  task: "classification" | "regression",
  rows: { train: number; validation: number; test: number },
  losses: readonly { fitness: number }[],
  final?: FinalComparison,
): string[] {
  const out: string[] = [];
  const v = rows.validation;
  if (v < MIN_VALIDATION_ROWS) {
    out.push(
      `The validation split has ${v} rows: fitness and local search measure on it, and so ` +
        `few rows make the ranking noisy.`,
    );
  }
  if (task === "classification" && losses.length > 0 && v > 0) {
    const step = 1 / v;
    const best = losses[0].fitness;
    const tied = losses.filter((l) => l.fitness === best).length;
    const spread = losses[losses.length - 1].fitness - best;
    if (best === 0) {
      out.push(
        `The best validation error rate is 0 on ${v} rows: the validation split cannot tell ` +
          `better losses apart.`,
      );
    } else if (tied > 1) {
      out.push(
        `${tied} ranked losses tie at the best validation error rate (${percent(best)}); on ` +
          `${v} rows the error rate moves in steps of ${percent(step)}, so their order is ` +
          `arbitrary.`,
      );
    }
    if (losses.length > 1 && spread < MIN_ROW_STEPS * step - 1e-12) {
      out.push(
        `The ranked losses' validation error rates span ${Math.round(spread / step)} ` +
          `validation row(s) (${percent(best)} to ${percent(best + spread)}, steps of ` +
          `${percent(step)}): the validation split is too small to rank them.`,
      );
    }
  }
  if (task === "classification" && final && rows.test > 0) {
    const step = 1 / rows.test;
    const d = final.tuned?.paired.meanDifference ?? final.paired.meanDifference;
    if (rows.test < MIN_TEST_ROWS) {
      out.push(
        `The test split has ${rows.test} rows: the test error rate moves in steps of ` +
          `${percent(step)}, so the comparison cannot show smaller differences.`,
      );
    } else if (d !== null && d !== 0 && Math.abs(d) < 2 * step) {
      out.push(
        `The mean difference in test error rate (${percent(Math.abs(d))}) is under two test ` +
          `rows (${percent(step)} each).`,
      );
    }
  }
  return out;
}
