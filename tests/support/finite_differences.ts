/**
 * Central finite differences for hypergradient checks, on the cpu backend (float32).
 *
 * Step and tolerance: with float32 losses of order 1, a central difference with step 3e-3 has
 * round-off of about 1e-7 / 3e-3 = 3e-5 and a truncation error of order step^2; the fixtures use
 * a large inner learning rate (0.5) so that hypergradients are of order 1e-2..1, well above that
 * noise. The tolerance, 1% of the gradient's norm, sits below the smallest tfjs defect measured
 * (softmax, about 2%) and far below the others (8% to 30%).
 */
import { tf } from "../../engine/tensor/tf.ts";
import type { Tree } from "../../core/expr/tree.ts";

export const FD_STEP = 3e-3;
export const FD_TOLERANCE = 1e-2;

export interface Comparison {
  analytic: number[];
  numeric: number[];
  /** ||analytic - numeric|| / ||numeric|| */
  relativeError: number;
}

export function compareWithFiniteDifferences(
  f: (phi: tf.Tensor1D) => tf.Scalar,
  phi0: number[],
  step = FD_STEP,
): Comparison {
  return tf.tidy(() => {
    const { grad } = tf.valueAndGrad(f)(tf.tensor1d(phi0));
    const analytic = Array.from(grad.dataSync());
    const at = (p: number[]) => f(tf.tensor1d(p)).dataSync()[0];
    const numeric = phi0.map((_, k) => {
      const plus = phi0.slice();
      const minus = phi0.slice();
      plus[k] += step;
      minus[k] -= step;
      return (at(plus) - at(minus)) / (2 * step);
    });
    const diff = Math.hypot(...analytic.map((a, i) => a - numeric[i]));
    const scale = Math.hypot(...numeric);
    if (!(scale > 1e-4)) throw new Error(`hypergradient too small to check (norm ${scale})`);
    return { analytic, numeric, relativeError: diff / scale };
  });
}

/** Deterministic pseudo-random numbers for fixtures (Park-Miller). */
export function fixtureRandom(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

/** A tree with most primitives, as a search would produce. */
export const RICH_TREE: Tree = [
  "add",
  "mul",
  "y",
  "log",
  "fx",
  "div",
  "square",
  "sub",
  "fx",
  "y",
  "max",
  "tanh",
  "fx",
  "abs",
  "sqrt",
  "y",
];

/** phi spread around 1 so that no two weights coincide and no symmetry hides an error. */
export function spreadPhi(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 + 0.07 * ((i * 5) % 7) - 0.2);
}
