/** Structural and numeric checks run on every dataset before it reaches training. */

import { classCounts, type Dataset } from "./dataset.ts";
import { DataError } from "./errors.ts";

export interface ValidateOptions {
  /** Stratified splitting needs at least this many rows of every class. */
  minRowsPerClass?: number;
  /** The files the features and the labels came from (a pair format's roles), for errors. */
  roles?: { features: string; labels: string };
}

/** Throws a DataError describing the first problem found; returns the dataset otherwise. */
export function validateDataset(ds: Dataset, opts: ValidateOptions = {}): Dataset {
  const minRows = opts.minRowsPerClass ?? 2;
  const roles = opts.roles;
  const said = (role: string | undefined, check: () => void) => {
    if (!role) return check();
    try {
      check();
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      throw new DataError(`the ${role} file: ${e.message}`, {
        row: e.row,
        column: e.column,
        role,
      });
    }
  };
  said(roles?.features, () => validateFeatures(ds));
  said(roles?.labels, () => validateTargets(ds, minRows));
  return ds;
}

function validateFeatures(ds: Dataset): void {
  const { n, d } = ds;
  if (!Number.isInteger(n) || n < 1) throw new DataError(`dataset has ${n} rows`);
  if (!Number.isInteger(d) || d < 1) throw new DataError(`dataset has ${d} features`);
  if (ds.x.length !== n * d) {
    throw new DataError(`x has ${ds.x.length} values, expected n*d = ${n}*${d} = ${n * d}`);
  }
  if (ds.featureNames && ds.featureNames.length !== d) {
    throw new DataError(`${ds.featureNames.length} feature names for ${d} features`);
  }
  if (ds.imageShape && ds.imageShape.reduce((a, b) => a * b, 1) !== d) {
    throw new DataError(`image shape [${ds.imageShape}] does not hold ${d} features`);
  }
  for (let i = 0; i < n * d; i++) {
    if (!Number.isFinite(ds.x[i])) {
      const j = i % d;
      throw new DataError(`feature value ${ds.x[i]} is not finite`, {
        row: Math.floor(i / d) + 1,
        column: ds.featureNames?.[j] ?? `feature ${j}`,
      });
    }
  }
}

function validateTargets(ds: Dataset, minRowsPerClass: number): void {
  const n = ds.n;
  if (ds.y.length !== n) throw new DataError(`y has ${ds.y.length} values, expected n = ${n}`);
  if (ds.task === "regression") {
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(ds.y[i])) {
        throw new DataError(`target value ${ds.y[i]} is not finite`, { row: i + 1 });
      }
    }
    return;
  }
  validateLabels(ds, minRowsPerClass);
}

function validateLabels(ds: Dataset, minRowsPerClass: number): void {
  const k = ds.nClasses;
  if (k === undefined || !Number.isInteger(k) || k < 2) {
    throw new DataError(`classification needs nClasses >= 2, got ${k}`);
  }
  if (ds.classNames && ds.classNames.length !== k) {
    throw new DataError(`${ds.classNames.length} class names for ${k} classes`);
  }
  for (let i = 0; i < ds.n; i++) {
    const label = ds.y[i];
    if (!Number.isInteger(label) || label < 0 || label >= k) {
      throw new DataError(`label ${label} is not a class index in [0, ${k})`, { row: i + 1 });
    }
  }
  const counts = classCounts(ds);
  for (let c = 0; c < k; c++) {
    if (counts[c] < minRowsPerClass) {
      const name = ds.classNames?.[c] ?? String(c);
      throw new DataError(
        `class "${name}" has ${counts[c]} rows; at least ${minRowsPerClass} are needed`,
      );
    }
  }
}
