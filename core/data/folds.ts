/**
 * K-fold validation for small tables (`evaluation.folds`, docs/method.md): the training and
 * validation rows pooled, then dealt into k folds with the seed, stratified by class for
 * classification, so that each fold keeps the class proportions to within one row per class.
 * Fitness then trains once per fold on the other folds and validates on the fold itself.
 */
import { Rng } from "../rng.ts";

/** Rows as the splits hold them: row-major features and one target per row. */
export interface Rows {
  x: Float32Array;
  y: Float32Array;
  n: number;
  d: number;
}

/**
 * Row indices of each of k folds: every row in exactly one fold, fold sizes within one row of
 * each other per class (and overall). Classification labels are class indices; regression rows
 * form one group. The same seed gives the same folds.
 */
export function foldIndices(
  labels: ArrayLike<number> | undefined,
  n: number,
  k: number,
  seed: number,
): number[][] {
  if (!(Number.isInteger(k) && k >= 2)) throw new RangeError(`k must be >= 2, got ${k}`);
  if (n < k) throw new RangeError(`${n} rows cannot make ${k} folds`);
  const rng = new Rng(seed);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = labels === undefined ? 0 : labels[i];
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(i);
  }
  const folds = Array.from({ length: k }, () => [] as number[]);
  // Deal each group's shuffled rows round robin, starting where the last group stopped: every
  // fold then gets floor or ceil of its share of each group, and of the whole.
  let next = 0;
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const rows = groups.get(key)!;
    for (let i = rows.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    for (const row of rows) {
      folds[next].push(row);
      next = (next + 1) % k;
    }
  }
  return folds;
}

/** The rows at `indices`, in that order. */
export function takeRows(rows: Rows, indices: readonly number[]): Rows {
  const { d } = rows;
  const x = new Float32Array(indices.length * d);
  const y = new Float32Array(indices.length);
  indices.forEach((i, r) => {
    x.set(rows.x.subarray(i * d, (i + 1) * d), r * d);
    y[r] = rows.y[i];
  });
  return { x, y, n: indices.length, d };
}

/** Two splits' rows as one, the first's rows first. */
export function concatRows(a: Rows, b: Rows): Rows {
  if (a.d !== b.d) throw new Error(`rows of ${a.d} and ${b.d} features cannot be pooled`);
  const x = new Float32Array((a.n + b.n) * a.d);
  x.set(a.x);
  x.set(b.x, a.x.length);
  const y = new Float32Array(a.n + b.n);
  y.set(a.y);
  y.set(b.y, a.n);
  return { x, y, n: a.n + b.n, d: a.d };
}

/** For each fold: the rows it trains on (every other fold) and the rows it validates on. */
export function foldSplits(
  pooled: Rows,
  folds: readonly number[][],
): { train: Rows; validation: Rows }[] {
  return folds.map((held, f) => ({
    train: takeRows(pooled, folds.flatMap((rows, g) => (g === f ? [] : rows))),
    validation: takeRows(pooled, held),
  }));
}
