/**
 * Corrected gradients for TensorFlow.js 4.22, registered once for the whole process.
 *
 * Why: unrolled differentiation differentiates the gradient of the inner loss a second time.
 * tfjs computes the gradient of several kernels from their saved *output* (tfjs issue 3252);
 * the outer tape then sees that output as a constant, so the second-order gradient silently
 * loses a term. Each gradient below is rewritten from the saved *input*, so every tensor it
 * builds stays connected to the tape. tests/hypergradient_test.ts checks each against central
 * finite differences; the same test fails with tfjs's own gradients.
 *
 * Also here, for speed rather than correctness: BatchMatMul's gradient written with explicit
 * transposes, because the wasm backend runs a matMul with a transposed operand about ten times
 * slower than a transpose followed by a plain matMul (stack notes).
 */
import * as tf from "@tensorflow/tfjs";

type Grad = tf.GradConfig;

const exp: Grad = {
  kernelName: "Exp",
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.exp(saved[0])) }),
};

const tanh: Grad = {
  kernelName: "Tanh",
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => ({
    x: () => tf.mul(dy as tf.Tensor, tf.sub(1, tf.square(tf.tanh(saved[0])))),
  }),
};

const sigmoid: Grad = {
  kernelName: "Sigmoid",
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const s = tf.sigmoid(saved[0]);
    return { x: () => tf.mul(dy as tf.Tensor, tf.mul(s, tf.sub(1, s))) };
  },
};

const softmax: Grad = {
  kernelName: "Softmax",
  inputsToSave: ["logits"],
  gradFunc: (dy, saved, attrs) => {
    const dim = (attrs as unknown as { dim: number }).dim;
    const y = tf.softmax(saved[0], dim);
    const dyTimesY = tf.mul(dy as tf.Tensor, y);
    return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y)) };
  },
};

/** The mask of max/min is piecewise constant, so its dependence on the output is harmless to
 * the second order; rewritten anyway from the input so no saved output stays on the tape. */
function reduceExtremum(kernelName: "Max" | "Min"): Grad {
  return {
    kernelName,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0];
      // Max names its axes `reductionIndices`, Min names them `axis`.
      const a = attrs as unknown as {
        reductionIndices?: number | number[];
        axis?: number | number[];
      };
      const axes = tf.util.parseAxisParam(
        (a.reductionIndices ?? a.axis ?? null) as number[],
        x.shape,
      );
      const extremum = kernelName === "Max" ? tf.max(x, axes, true) : tf.min(x, axes, true);
      const mask = tf.cast(tf.equal(x, extremum), "float32");
      const keepShape = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, keepShape), mask) };
    },
  };
}

/**
 * Comparisons have no gradient in tfjs, so differentiating the gradient of minimum, maximum,
 * max or min (whose masks are comparisons) throws. Their derivative is zero almost everywhere.
 */
function comparison(kernelName: string): Grad {
  return {
    kernelName,
    inputsToSave: ["a", "b"],
    gradFunc: (_dy, saved) => ({
      a: () => tf.zerosLike(saved[0]),
      b: () => tf.zerosLike(saved[1]),
    }),
  };
}

/** a @ b with transposes made explicit, so every product is a plain matMul. */
function plainMatMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean) {
  const lastTwo = (t: tf.Tensor) => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return tf.transpose(t, perm);
  };
  return tf.matMul(transposeA ? lastTwo(a) : a, transposeB ? lastTwo(b) : b);
}

const batchMatMul: Grad = {
  kernelName: "BatchMatMul",
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const g = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    if (!transposeA && !transposeB) {
      return { a: () => plainMatMul(g, b, false, true), b: () => plainMatMul(a, g, true, false) };
    } else if (!transposeA && transposeB) {
      return { a: () => plainMatMul(g, b, false, false), b: () => plainMatMul(g, a, true, false) };
    } else if (transposeA && !transposeB) {
      return { a: () => plainMatMul(b, g, false, true), b: () => plainMatMul(a, g, false, false) };
    }
    return { a: () => plainMatMul(b, g, true, true), b: () => plainMatMul(g, a, true, true) };
  },
};

/** Names of the kernels whose gradients this module replaces, with the reason. */
export const CORRECTED_GRADIENTS: Record<string, string> = {
  Exp: "tfjs computes it from the output exp(x): second order lost",
  Tanh: "tfjs computes it from the output tanh(x): second order lost",
  Sigmoid: "tfjs computes it from the output sigmoid(x): second order lost",
  Softmax: "tfjs computes it from the output softmax(x): second order lost",
  Max: "computed from the output; rewritten from the input (mask is piecewise constant)",
  Min: "computed from the output; rewritten from the input (mask is piecewise constant)",
  Equal: "no gradient in tfjs: second order of max/min/maximum/minimum threw; zero",
  NotEqual: "no gradient in tfjs; zero",
  Greater: "no gradient in tfjs: second order of maximum/minimum threw; zero",
  GreaterEqual: "no gradient in tfjs: second order of maximum/minimum threw; zero",
  Less: "no gradient in tfjs: second order of maximum/minimum threw; zero",
  LessEqual: "no gradient in tfjs: second order of maximum/minimum threw; zero",
  BatchMatMul: "speed: explicit transposes instead of transposed-operand matMul on wasm",
};

const CORRECTIONS: Grad[] = [
  exp,
  tanh,
  sigmoid,
  softmax,
  reduceExtremum("Max"),
  reduceExtremum("Min"),
  ...["Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual"].map(comparison),
  batchMatMul,
];

// Not in the umbrella package's type declarations, but exported by tfjs-core at run time.
const registry = tf as unknown as { getGradient(kernelName: string): Grad | undefined };
const originals = new Map<string, Grad>();

/** Registers a gradient without tfjs's console warning about the override. */
function quietlyRegister(g: Grad): void {
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.registerGradient(g);
  } finally {
    console.warn = warn;
  }
}

export function registerCorrectedGradients(): void {
  if (originals.size > 0) return;
  for (const g of CORRECTIONS) {
    const original = registry.getGradient(g.kernelName);
    if (original) originals.set(g.kernelName, original);
    quietlyRegister(g);
  }
}

/**
 * Runs `fn` with tfjs's own gradient for one kernel restored, then puts the correction back.
 * Only for tests that prove the finite-difference check detects the tfjs defect.
 */
export function withTfjsOriginalGradient<T>(kernelName: string, fn: () => T): T {
  const original = originals.get(kernelName);
  const corrected = CORRECTIONS.find((g) => g.kernelName === kernelName);
  if (!original || !corrected) throw new Error(`no corrected gradient for ${kernelName}`);
  quietlyRegister(original);
  try {
    return fn();
  } finally {
    quietlyRegister(corrected);
  }
}

/**
 * log(softmax(x)) along the last axis, built from ops whose second-order gradients are right.
 * tf.logSoftmax carries a custom gradient computed from its output and cannot be fixed by
 * re-registering a kernel gradient.
 */
export function logSoftmax(logits: tf.Tensor): tf.Tensor {
  const axis = logits.rank - 1;
  return tf.sub(logits, tf.logSumExp(logits, axis, true));
}
