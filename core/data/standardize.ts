/**
 * Feature and target scaling, always fitted on the training split alone so that no statistic of
 * validation or test rows leaks into training.
 *
 * Choices: features use the population standard deviation (as scikit-learn does); a constant
 * column gets std 1, so it maps to 0 instead of dividing by zero. Image data is left as is by
 * default: its pixels are already in [0, 1] and per-pixel scaling would blow up near-constant
 * border pixels. Regression targets are standardised too (fitTargetScaler), which keeps the
 * scale of the loss comparable across datasets; predictions and MSE go back to the original
 * units with invertTargets and mseToOriginalUnits, and metrics are reported in those units.
 */

import type { Dataset } from "./dataset.ts";

/**
 * "per-feature": each column its own mean/std; "per-channel": one mean/std per image channel over
 * all its pixels (the channel is the fastest index of the h, w, c layout; data without an image
 * shape is one channel); "global": one mean/std over all values.
 */
export type StandardizeMode = "per-feature" | "per-channel" | "global" | "none";

export interface Standardizer {
  mode: StandardizeMode;
  mean: Float32Array;
  std: Float32Array;
}

export interface StandardizeOptions {
  /** Defaults to "none" for image data (imageShape set), "per-feature" otherwise. */
  mode?: StandardizeMode;
}

export function fitStandardizer(train: Dataset, opts: StandardizeOptions = {}): Standardizer {
  const mode = opts.mode ?? (train.imageShape ? "none" : "per-feature");
  const { n, d, x } = train;
  const mean = new Float32Array(d);
  const std = new Float32Array(d).fill(1);
  if (mode === "none") return { mode, mean, std };
  if (n === 0) throw new RangeError("cannot fit a standardizer on zero rows");
  if (mode === "global" || mode === "per-channel") {
    const channels = mode === "global" ? 1 : train.imageShape?.[2] ?? 1;
    for (let c = 0; c < channels; c++) {
      const [m, s] = moments(x, c, channels, x.length / channels);
      for (let j = c; j < d; j += channels) [mean[j], std[j]] = [m, s];
    }
    return { mode, mean, std };
  }
  for (let j = 0; j < d; j++) [mean[j], std[j]] = moments(x, j, d, n);
  return { mode, mean, std };
}

/** A copy of ds with x[i, j] replaced by (x[i, j] - mean[j]) / std[j]. */
export function applyStandardizer(ds: Dataset, s: Standardizer): Dataset {
  if (s.mean.length !== ds.d) {
    throw new RangeError(`standardizer has ${s.mean.length} features, dataset ${ds.d}`);
  }
  const x = new Float32Array(ds.x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % ds.d;
    x[i] = (ds.x[i] - s.mean[j]) / s.std[j];
  }
  return { ...ds, x };
}

export interface TargetScaler {
  mean: number;
  std: number;
}

export function fitTargetScaler(train: Dataset): TargetScaler {
  requireRegression(train);
  if (train.n === 0) throw new RangeError("cannot fit a target scaler on zero rows");
  const [mean, std] = moments(train.y, 0, 1, train.n);
  return { mean, std };
}

/** A copy of ds with standardised targets. */
export function applyTargetScaler(ds: Dataset, t: TargetScaler): Dataset {
  requireRegression(ds);
  return { ...ds, y: Float32Array.from(ds.y, (v) => (v - t.mean) / t.std) };
}

/** Standardised targets or predictions back to original units. */
export function invertTargets(y: ArrayLike<number>, t: TargetScaler): Float32Array {
  return Float32Array.from(y, (v) => v * t.std + t.mean);
}

/** An MSE measured on standardised targets, in original squared units. */
export function mseToOriginalUnits(mse: number, t: TargetScaler): number {
  return mse * t.std * t.std;
}

function requireRegression(ds: Dataset): void {
  if (ds.task !== "regression") throw new Error(`target scaling is for regression, not ${ds.task}`);
}

/**
 * Mean and population std (float64) of count values a[start], a[start + stride], ...; a constant
 * sequence (min === max) gets std 1, exactly, whatever the rounding of its mean.
 */
function moments(a: Float32Array, start: number, stride: number, count: number): [number, number] {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0, i = start; k < count; k++, i += stride) {
    sum += a[i];
    if (a[i] < min) min = a[i];
    if (a[i] > max) max = a[i];
  }
  const mean = sum / count;
  if (min === max) return [min, 1];
  let ss = 0;
  for (let k = 0, i = start; k < count; k++, i += stride) ss += (a[i] - mean) ** 2;
  return [mean, Math.sqrt(ss / count)];
}
