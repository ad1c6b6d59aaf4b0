/**
 * Models as pure functions of a parameter list: `forward(params, x)`. Parameters are plain
 * tensors rather than tf.Variables so that an SGD step can be differentiated through.
 *
 * The architectures other than dense stacks are written once against a small `Net` interface
 * (core/architectures.ts) and run two ways: over shapes there, to list their parameters (shape and
 * fans, in order) and size them, and over tensors here, to compute the forward pass. The
 * parameter list and the forward pass cannot disagree.
 */
import { tf } from "./tensor/tf.ts";
import {
  describeModel,
  MODEL_KINDS,
  type ModelKind,
  type ModelSpec,
  parameterCount,
  walkModel,
} from "../core/model_kinds.ts";
import {
  type ArchitectureKind,
  ARCHITECTURES,
  type Net,
  type ParamDef,
  sequential,
} from "../core/architectures.ts";

export type { ModelKind, ModelSpec } from "../core/model_kinds.ts";
export { describeModel, parameterCount };

export type Params = tf.Tensor[];

/** Groups of the normalisation (Wu and He's default for group normalisation). */
export const NORM_GROUPS = 32;
const NORM_EPSILON = 1e-5;

/**
 * Group normalisation without the affine parameters (Wu and He 2018): each example's channels are
 * split into groups, each standardised over its positions and channels. Per example, so a batch's
 * examples stay independent, and built from ops (mean, square, rsqrt) whose second-order
 * gradients are right.
 */
export function groupNorm(x: tf.Tensor4D, groups = NORM_GROUPS): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const g = Math.min(groups, c);
  if (c % g !== 0) throw new Error(`group norm: ${c} channels do not split into ${g} groups`);
  const grouped = tf.reshape(x, [b, h * w, g, c / g]);
  const centred = tf.sub(grouped, tf.mean(grouped, [1, 3], true));
  const variance = tf.mean(tf.square(centred), [1, 3], true);
  return tf.reshape(tf.mul(centred, tf.rsqrt(tf.add(variance, NORM_EPSILON))), [b, h, w, c]);
}

// ---------------------------------------------------------------------------------------------
// Over tensors

/**
 * Mean over non-overlapping kh x kw windows (rows and columns past the last whole one dropped),
 * as reshapes and means of rank 4 at most: tfjs's avgPool has a gradient (AvgPoolGrad) that has
 * none itself, so local search could not differentiate through it twice.
 */
function windowMean(x: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const oh = Math.floor(h / kh), ow = Math.floor(w / kw);
  const cropped = oh * kh < h || ow * kw < w
    ? tf.slice(x, [0, 0, 0, 0], [b, oh * kh, ow * kw, c])
    : x;
  const rows = tf.mean(tf.reshape(cropped, [b, oh, kh, ow * kw * c]), 2);
  const cols = tf.mean(tf.reshape(rows, [b * oh, ow, kw, c]), 2);
  return tf.reshape(cols, [b, oh, ow, c]);
}

function tensorNet(params: Params): Net<tf.Tensor> {
  let next = 0;
  const take = () => params[next++];
  return {
    conv(x, _out, k, { stride = 1, pad = 0, bias = true } = {}) {
      // tfjs sizes a numeric padding's output with the kernel's height on both axes: a
      // non-square kernel without padding is "valid" (its only padding here).
      const square = typeof k === "number" || k[0] === k[1];
      const y = tf.conv2d(
        x as tf.Tensor4D,
        take() as tf.Tensor4D,
        stride,
        pad === "same" ? "same" : pad === 0 && !square ? "valid" : pad,
      );
      return bias ? tf.add(y, take()) : y;
    },
    dense(x, _out) {
      const rows = x.rank === 2 ? x : tf.reshape(x, [x.shape[0], -1]);
      return tf.add(tf.matMul(rows as tf.Tensor2D, take() as tf.Tensor2D), take());
    },
    activation(x, f) {
      switch (f) {
        case "linear":
          return x;
        case "relu":
          return tf.relu(x);
        case "tanh":
          return tf.tanh(x);
        case "sigmoid":
          return tf.sigmoid(x);
        case "softplus":
          return tf.softplus(x);
      }
    },
    pool: (x, how, [kh, kw]) =>
      how === "max"
        ? tf.maxPool(x as tf.Tensor4D, [kh, kw], [kh, kw], "valid")
        : windowMean(x as tf.Tensor4D, kh, kw),
    norm: (x) => groupNorm(x as tf.Tensor4D),
    add: (a, b) => tf.add(a, b),
    globalAvgPool: (x) => tf.mean(x, [1, 2]),
    flatten: (x) => (x.rank === 2 ? x : tf.reshape(x, [x.shape[0], -1])),
    channels: (x) => x.shape[x.rank - 1],
  };
}

const family = (kind: ModelKind) => MODEL_KINDS[kind].family;

// ---------------------------------------------------------------------------------------------
// Public API

function paramDefs(spec: ModelSpec): ParamDef[] {
  return walkModel(spec).params;
}

/**
 * Host-side initial values of `spec.init` (absent: `pytorch`), drawn from the caller's seeded
 * source so that runs are reproducible on any backend:
 * - `pytorch`, PyTorch's defaults for linear and convolutional layers: weights and biases uniform
 *   in +-1/sqrt(fanIn), fanIn = k * k * in for a convolution (kaiming-uniform with a = sqrt(5));
 * - `xavier-uniform` (torch.nn.init.xavier_uniform_): weights uniform in
 *   +-sqrt(6 / (fanIn + fanOut));
 * - `kaiming-normal` (torch.nn.init.kaiming_normal_ with its defaults, fan-in and gain sqrt(2)):
 *   weights normal with standard deviation sqrt(2 / fanIn).
 * The last two set dense biases to zero and leave convolution biases at PyTorch's default, as the
 * published code's models do (core/model_kinds.ts).
 */
export function initialValues(spec: ModelSpec, uniform01: () => number): Float32Array[] {
  const init = spec.init ?? "pytorch";
  return paramDefs(spec).map((def) => {
    // A plain loop: Float32Array.from with a mapping function took ~6 ms for an MLP's 78,510
    // values, half of a local-search meta-step.
    const values = new Float32Array(def.shape.reduce((a, b) => a * b, 1));
    const pytorchDefault = init === "pytorch" || (def.bias && def.layer === "conv");
    if (pytorchDefault || init === "xavier-uniform") {
      if (def.bias && !pytorchDefault) return values;
      const bound = pytorchDefault
        ? 1 / Math.sqrt(def.fanIn)
        : Math.sqrt(6 / (def.fanIn + def.fanOut));
      for (let i = 0; i < values.length; i++) values[i] = (2 * uniform01() - 1) * bound;
      return values;
    }
    if (def.bias) return values;
    const std = Math.sqrt(2 / def.fanIn);
    // Box-Muller, both values of each pair; 1 - u keeps the logarithm's argument in (0, 1].
    for (let i = 0; i < values.length; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(1 - uniform01()));
      const theta = 2 * Math.PI * uniform01();
      values[i] = r * Math.cos(theta);
      if (i + 1 < values.length) values[i + 1] = r * Math.sin(theta);
    }
    return values;
  });
}

export function paramShapes(spec: ModelSpec): number[][] {
  return paramDefs(spec).map((d) => d.shape);
}

export function toParams(spec: ModelSpec, values: Float32Array[]): Params {
  const shapes = paramShapes(spec);
  return values.map((v, i) => tf.tensor(v, shapes[i]));
}

function imageShapeOf(spec: ModelSpec): [number, number, number] {
  const shape = spec.imageShape;
  if (!shape) throw new Error(`model ${spec.kind} needs the image shape of its inputs`);
  if (shape[0] * shape[1] * shape[2] !== spec.inputs) {
    throw new Error(`image shape ${shape.join("x")} does not hold ${spec.inputs} inputs`);
  }
  return shape;
}

/**
 * Logits (classification) or predictions (regression) for a batch x of shape [B, inputs]; the
 * convolutional kinds, and sequential models on image data, read each row as an image of
 * `spec.imageShape`.
 */
export function forward(spec: ModelSpec, params: Params, x: tf.Tensor2D): tf.Tensor2D {
  const f = family(spec.kind);
  if (f === "conv") {
    const image = tf.reshape(x, [x.shape[0], ...imageShapeOf(spec)]);
    const arch = ARCHITECTURES[spec.kind as ArchitectureKind];
    return arch(tensorNet(params), image, spec.outputs) as tf.Tensor2D;
  }
  if (f === "layers") {
    const input = spec.imageShape ? tf.reshape(x, [x.shape[0], ...imageShapeOf(spec)]) : x;
    return sequential(tensorNet(params), input, spec.layers ?? []) as tf.Tensor2D;
  }
  let h: tf.Tensor2D = x;
  const n = params.length / 2;
  for (let i = 0; i < n; i++) {
    const z = tf.add(tf.matMul(h, params[2 * i] as tf.Tensor2D), params[2 * i + 1]) as tf.Tensor2D;
    h = i < n - 1 ? tf.relu(z) : z;
  }
  return h;
}
