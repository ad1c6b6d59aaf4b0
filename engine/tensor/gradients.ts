/**
 * Corrected gradients for TensorFlow.js 4.22, registered once for the whole process.
 *
 * Why: unrolled differentiation differentiates the gradient of the inner loss a second time.
 * tfjs computes the gradient of several kernels from their saved *output* (tfjs issue 3252);
 * the outer tape then sees that output as a constant, so the second-order gradient silently
 * loses a term. Each gradient below is rewritten from the saved *input*, so every tensor it
 * builds stays connected to the tape. tests/hypergradient.test.ts and
 * tests/conv_hypergradient.test.ts check each against central finite differences; the same
 * tests fail with tfjs's own gradients.
 *
 * Also here, for speed rather than correctness: BatchMatMul's gradient written with explicit
 * transposes, because the wasm backend runs a matMul with a transposed operand about ten times
 * slower than a transpose followed by a plain matMul (stack notes); Multiply's and RealDiv's
 * without their same-dtype casts.
 *
 * Convolution and pooling: tfjs's gradients of Conv2D and Conv2DBackpropInput are written from
 * their inputs and are right; Conv2DBackpropFilter (the filter gradient) has none, so a second
 * order through conv2d threw "gradient function not found for Conv2DBackpropFilter". MaxPool's
 * gradient is the MaxPoolGrad kernel, which has none either. DepthwiseConv2dNativeBackprop*,
 * AvgPoolGrad and the other pooling gradients have none too; no model here uses them. The
 * backward conv kernels themselves are replaced on cpu and wasm (conv_kernels.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { registerComposedConvKernels } from "./conv_kernels.ts";
import { hasKernel, POOL_SPREAD, registerWasmKernels } from "./wasm_kernels.ts";

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
export function plainMatMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean) {
  const lastTwo = (t: tf.Tensor) => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return tf.transpose(t, perm);
  };
  return tf.matMul(transposeA ? lastTwo(a) : a, transposeB ? lastTwo(b) : b);
}

/** `t` as float32, with no kernel when it already is (tfjs's own gradients cast regardless). */
function asFloat(t: tf.Tensor): tf.Tensor {
  return t.dtype === "float32" ? t : tf.cast(t, "float32");
}

/** The gradient `res` of a broadcast operand, summed back to the operand's shape. */
function unbroadcast(res: tf.Tensor, shape: number[], outShape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, outShape);
  return axes.length > 0 ? tf.reshape(tf.sum(res, axes), shape) : res;
}

/**
 * Multiply and RealDiv as tfjs writes them, minus a Cast of each saved float32 operand: on wasm a
 * cast to the same dtype is a copy and a kernel launch, and an unrolled MLP step ran ~50 of them
 * (a quarter of its Casts and Multiplies were these).
 */
const multiply: Grad = {
  kernelName: "Multiply",
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved) => {
    const [a, b] = saved;
    const out = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    return {
      a: () => unbroadcast(tf.mul(dy as tf.Tensor, asFloat(b)), a.shape, out),
      b: () => unbroadcast(tf.mul(dy as tf.Tensor, asFloat(a)), b.shape, out),
    };
  },
};

const realDiv: Grad = {
  kernelName: "RealDiv",
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved) => {
    const [a, b] = saved;
    const out = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    return {
      a: () => unbroadcast(tf.div(dy as tf.Tensor, asFloat(b)), a.shape, out),
      b: () => {
        const res = unbroadcast(tf.mul(dy as tf.Tensor, asFloat(a)), b.shape, out);
        return tf.neg(tf.div(res, tf.square(asFloat(b))));
      },
    };
  },
};

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

/**
 * The filter gradient F = Conv2DBackpropFilter(x, dy) is bilinear, and for any G shaped like the
 * filter <G, F(x, dy)> = <dy, conv2d(x, G)> = <x, conv2dBackpropInput(dy, G)>, all with the forward
 * convolution's strides and padding. So dL/dx = conv2dBackpropInput(x.shape, dy, G) and
 * dL/d(dy) = conv2d(x, G).
 */
const conv2dBackpropFilter: Grad = {
  kernelName: "Conv2DBackpropFilter",
  inputsToSave: ["x", "dy"],
  gradFunc: (g, saved, attrs) => {
    const [x, dy] = saved;
    const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Record<
      string,
      tf.NamedAttrMap[string]
    >;
    const filter = g as tf.Tensor;
    return {
      x: () =>
        tf.engine().runKernel("Conv2DBackpropInput", { dy, filter }, {
          strides,
          pad,
          dataFormat,
          dimRoundingMode,
          inputShape: x.shape,
        }),
      dy: () =>
        tf.engine().runKernel("Conv2D", { x, filter }, {
          strides,
          pad,
          dataFormat,
          dilations: 1,
          dimRoundingMode,
        }),
    };
  },
};

/** A one-input op computed off the tape, with the gradient `grad`. */
function customOp(
  x: tf.Tensor4D,
  value: (v: tf.Tensor4D) => tf.Tensor4D,
  grad: (dy: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  const op = tf.customGrad((...args) => ({
    value: value(args[0] as tf.Tensor4D),
    gradFunc: (dy: tf.Tensor) => grad(dy as tf.Tensor4D),
  }));
  return op(x) as tf.Tensor4D;
}

const resizeBy = (t: tf.Tensor4D, kh: number, kw: number) =>
  tf.image.resizeNearestNeighbor(t, [t.shape[1] * kh, t.shape[2] * kw]);

/**
 * Nearest-neighbour upsampling by whole factors. Its gradient, a window sum, is written as an
 * avgPool: tfjs's own (ResizeNearestNeighborGrad) is a slow loop on wasm.
 */
function upsample(t: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  return customOp(
    t,
    (v) => resizeBy(v, kh, kw),
    (dy) => tf.mul(tf.avgPool(dy, [kh, kw], [kh, kw], "valid"), kh * kw),
  );
}

/**
 * 1 where x is the maximum of its kh x kw window (windows tiling x exactly), else 0. Piecewise
 * constant, so its gradient is zero: as a custom op, the ops that build it stay off the tape.
 */
function windowMaxMask(x: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  return customOp(x, (v) => {
    const max = resizeBy(tf.maxPool(v, [kh, kw], [kh, kw], "valid"), kh, kw);
    return tf.sub(1, tf.step(tf.sub(max, v)));
  }, (dy) => tf.zerosLike(dy));
}

/**
 * MaxPool's gradient for non-overlapping windows (filter size equal to the stride, no padding),
 * as dy spread over each window and masked to its maximum, from ops whose gradients are right:
 * differentiable twice, and on wasm about 4x faster than the MaxPoolGrad kernel (which is also
 * wrong there when windows hold negative values). Ties: every maximum of a window receives dy
 * (tfjs's kernel picks one); after a ReLU, tied windows are zeros whose ReLU gradient is zero
 * anyway. Other window layouts keep tfjs's gradient, right to first order only.
 */
const maxPool: Grad = {
  kernelName: "MaxPool",
  inputsToSave: ["x"],
  // The output only locates each window's maximum (wasm_kernels.ts): piecewise constant.
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, y] = saved as tf.Tensor4D[];
    const a = attrs as unknown as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: "valid" | "same" | number;
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const info = tf.backend_util.computePool2DInfo(
      x.shape,
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const { filterHeight: kh, filterWidth: kw, padInfo } = info;
    const tiles = kh === info.strideHeight && kw === info.strideWidth &&
      padInfo.top === 0 && padInfo.left === 0 && padInfo.bottom === 0 && padInfo.right === 0;
    if (!tiles) {
      const pooled = tf.maxPool(x, a.filterSize, a.strides, a.pad, a.dimRoundingMode);
      return originals.get("MaxPool")!.gradFunc(dy, [x, pooled], attrs);
    }
    if (hasKernel(POOL_SPREAD)) {
      return {
        x: () =>
          tf.engine().runKernel(POOL_SPREAD, { dy: dy as tf.Tensor, x, y }, {
            filterSize: [kh, kw],
          }) as tf.Tensor,
      };
    }
    return {
      x: () => {
        const [b, h, w, c] = x.shape;
        const [, oh, ow] = (dy as tf.Tensor4D).shape;
        // Rows and columns past the last whole window get no gradient.
        const ch = oh * kh, cw = ow * kw;
        const cropped = ch < h || cw < w;
        const xc = cropped ? tf.slice(x, [0, 0, 0, 0], [b, ch, cw, c]) : x;
        const dx = tf.mul(upsample(dy as tf.Tensor4D, kh, kw), windowMaxMask(xc, kh, kw));
        return cropped ? tf.pad(dx, [[0, 0], [0, h - ch], [0, w - cw], [0, 0]]) : dx;
      },
    };
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
  Multiply: "speed: no cast of float32 operands (a copy and a kernel launch each on wasm)",
  RealDiv: "speed: no cast of float32 operands (a copy and a kernel launch each on wasm)",
  Conv2DBackpropFilter: "no gradient in tfjs: second order through conv2d threw",
  MaxPool: "its MaxPoolGrad kernel has no gradient: second order threw; rewritten from " +
    "differentiable ops for non-overlapping windows (also faster on wasm); on wasm one kernel " +
    "and its adjoint (wasm_kernels.ts)",
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
  multiply,
  realDiv,
  conv2dBackpropFilter,
  maxPool,
];

// Not in the umbrella package's type declarations, but exported by tfjs-core at run time.
const registry = tf as unknown as {
  getGradient(kernelName: string): Grad | undefined;
  unregisterGradient(kernelName: string): void;
};
/** tfjs's own gradient of each corrected kernel; undefined where tfjs has none. */
const originals = new Map<string, Grad | undefined>();
let registered = false;

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

/** Registers the corrected gradients, and the cpu and wasm conv kernels they run on. */
export function registerCorrectedGradients(): void {
  if (registered) return;
  registered = true;
  registerComposedConvKernels();
  registerWasmKernels();
  for (const g of CORRECTIONS) {
    originals.set(g.kernelName, registry.getGradient(g.kernelName));
    quietlyRegister(g);
  }
}

/**
 * Switches BatchMatMul back to tfjs's own gradient (products with transposed operands), for
 * backends whose transposed products are as fast as plain ones (native BLAS).
 */
export function useTransposedMatMulGradient(): void {
  const original = originals.get("BatchMatMul");
  if (original) quietlyRegister(original);
}

/**
 * Runs `fn` with tfjs's own gradient for one kernel restored (none, where tfjs has none), then
 * puts the correction back. Only for tests that prove the finite-difference check detects the
 * tfjs defect.
 */
export function withTfjsOriginalGradient<T>(kernelName: string, fn: () => T): T {
  const corrected = CORRECTIONS.find((g) => g.kernelName === kernelName);
  if (!corrected || !originals.has(kernelName)) {
    throw new Error(`no corrected gradient for ${kernelName}`);
  }
  const original = originals.get(kernelName);
  if (original) quietlyRegister(original);
  else registry.unregisterGradient(kernelName);
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
