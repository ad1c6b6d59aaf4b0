/** The in-memory dataset shared by every part of Lossmith: plain typed arrays, no tensors. */

import { DataError } from "./errors.ts";

export type Task = "classification" | "regression";

export interface Dataset {
  name: string;
  task: Task;
  /** Features, row-major: row i is x[i*d .. (i+1)*d). */
  x: Float32Array;
  /** One target per row: the class index (as a float) or the regression target. */
  y: Float32Array;
  n: number;
  d: number;
  /** Classification only. */
  nClasses?: number;
  /** Classification only; classNames[k] names class index k. */
  classNames?: string[];
  featureNames?: string[];
  /** [height, width, channels] for image data; x then holds pixels in h, w, c order. */
  imageShape?: [number, number, number];
}

/** A copy of the rows at `indices`, in that order (metadata kept). */
export function subsetRows(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const { d } = ds;
  const x = new Float32Array(indices.length * d);
  const y = new Float32Array(indices.length);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) {
      throw new RangeError(`row index ${i} out of range [0, ${ds.n})`);
    }
    x.set(ds.x.subarray(i * d, (i + 1) * d), r * d);
    y[r] = ds.y[i];
  }
  return { ...ds, x, y, n: indices.length };
}

/** Row-major n x nClasses one-hot matrix. */
export function oneHot(labels: ArrayLike<number>, nClasses: number): Float32Array {
  const out = new Float32Array(labels.length * nClasses);
  for (let i = 0; i < labels.length; i++) {
    const k = labels[i];
    if (!Number.isInteger(k) || k < 0 || k >= nClasses) {
      throw new DataError(`label ${k} is not a class index in [0, ${nClasses})`, { row: i + 1 });
    }
    out[i * nClasses + k] = 1;
  }
  return out;
}

/** Rows per class index (classification datasets); labels outside [0, nClasses) are ignored. */
export function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.nClasses ?? 0).fill(0);
  for (let i = 0; i < ds.n; i++) {
    const k = ds.y[i];
    if (Number.isInteger(k) && k >= 0 && k < counts.length) counts[k]++;
  }
  return counts;
}
