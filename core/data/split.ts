/**
 * Seeded train / validation / test splits. Classification splits are stratified: each class is
 * apportioned on its own, so every split keeps the class proportions to within one row per class
 * (the method's "stratified 10% of training" validation set). Regression rows form one group.
 */

import { Rng } from "../rng.ts";
import type { Dataset } from "./dataset.ts";
import { subsetRows } from "./dataset.ts";

export interface SplitOptions {
  /** Any integer; the same seed always gives the same split. */
  seed: number;
  /** Share of all rows held out for the final test. */
  testFraction?: number;
  /** Share of the remaining (training) rows held out for validation. */
  validationFraction?: number;
}

export interface Split {
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  /** Row indices into the source dataset, in each split's (shuffled) row order. */
  indices: { train: number[]; validation: number[]; test: number[] };
}

export function splitDataset(ds: Dataset, opts: SplitOptions): Split {
  const { seed, testFraction = 0.2, validationFraction = 0.1 } = opts;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  checkFraction("testFraction", testFraction);
  checkFraction("validationFraction", validationFraction);
  const rng = new Rng(seed);

  const groups = groupRows(ds);
  const sizes = groups.map((g) => g.length);
  const testCounts = atLeastOne(sizes, apportion(sizes, testFraction), testFraction);
  const rest = sizes.map((size, c) => size - testCounts[c]);
  const valCounts = atLeastOne(rest, apportion(rest, validationFraction), validationFraction);

  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  groups.forEach((rows, c) => {
    const nTest = testCounts[c];
    const nVal = valCounts[c];
    shuffle(rows, rng);
    // A loop, not push(...rows): spreading a large group overflows the argument limit.
    rows.forEach((row, k) => (k < nTest ? test : k < nTest + nVal ? validation : train).push(row));
  });
  // Interleave the classes, so that a split read in order is not sorted by label.
  for (const part of [train, validation, test]) shuffle(part, rng);

  return {
    train: subsetRows(ds, train),
    validation: subsetRows(ds, validation),
    test: subsetRows(ds, test),
    indices: { train, validation, test },
  };
}

function checkFraction(name: string, f: number): void {
  if (!(f >= 0 && f < 1)) throw new RangeError(`${name} must be in [0, 1), got ${f}`);
}

/** Row indices per class (classification) or one group of all rows (regression). */
function groupRows(ds: Dataset): number[][] {
  if (ds.task === "regression") return [Array.from({ length: ds.n }, (_, i) => i)];
  const groups = Array.from({ length: ds.nClasses ?? 0 }, () => [] as number[]);
  for (let i = 0; i < ds.n; i++) {
    const g = groups[ds.y[i]];
    if (!g) throw new RangeError(`row ${i}: label ${ds.y[i]} is not a class index`);
    g.push(i);
  }
  return groups;
}

/**
 * Largest-remainder apportionment: group c gets floor or ceil of sizes[c] * f, and the counts
 * add up to round(total * f). Ties go to the lower group index, so the result is deterministic.
 */
export function apportion(sizes: number[], f: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((s) => s * f);
  const counts = exact.map(Math.floor);
  let extra = Math.round(total * f) - counts.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, c) => ({ c, r: e - counts[c] }))
    .filter(({ r }) => r > 0)
    .sort((a, b) => b.r - a.r || a.c - b.c);
  for (const { c } of order) {
    if (extra-- <= 0) break;
    counts[c]++;
  }
  return counts;
}

/**
 * Takes a split's share out of each group, keeping at least one row for the rest: a group that
 * would give none gets one when it has two rows or more (so with three, every split gets one),
 * and a group that would give all of its rows gives one less. Either change only happens where
 * the exact share is below 1 or the group holds one row, so counts stay within one row of it.
 */
function atLeastOne(sizes: number[], counts: number[], f: number): number[] {
  return counts.map((k, c) => {
    if (f > 0 && k === 0 && sizes[c] >= 2) return 1;
    if (k >= sizes[c] && k > 0) return sizes[c] - 1;
    return k;
  });
}

/** Fisher-Yates, in place. */
function shuffle(a: number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
}
