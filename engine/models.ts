/**
 * Models as pure functions of a parameter list: `forward(params, x)`. Parameters are plain
 * tensors rather than tf.Variables so that an SGD step can be differentiated through.
 *
 * The convolutional architectures are written once against a small `Net` interface
 * (core/architectures.ts, which runs them over shapes to list their parameters); here they run
 * over tensors, to compute the forward pass. The parameter list and the forward pass cannot
 * disagree.
 */
import { tf } from "./tensor/tf.ts";
import type { ModelSpec } from "../core/model_kinds.ts";
import {
  ARCHITECTURES,
  hiddenOf,
  imageShapeOf,
  isConv,
  type Net,
  paramDefs,
  parameterCount,
} from "../core/architectures.ts";

export type { ModelKind, ModelSpec } from "../core/model_kinds.ts";

export type Params = tf.Tensor[];

// ---------------------------------------------------------------------------------------------
// Architectures

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
// The two ways of running an architecture

function tensorNet(params: Params): Net<tf.Tensor> {
  let next = 0;
  const take = () => params[next++];
  return {
    conv(x, _out, _k, { stride = 1, pad = 0, bias = true } = {}) {
      const y = tf.conv2d(x as tf.Tensor4D, take() as tf.Tensor4D, stride, pad);
      return bias ? tf.add(y, take()) : y;
    },
    dense(x, _out) {
      const rows = x.rank === 2 ? x : tf.reshape(x, [x.shape[0], -1]);
      return tf.add(tf.matMul(rows as tf.Tensor2D, take() as tf.Tensor2D), take());
    },
    relu: (x) => tf.relu(x),
    maxPool2: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid"),
    norm: (x) => groupNorm(x as tf.Tensor4D),
    add: (a, b) => tf.add(a, b),
    globalAvgPool: (x) => tf.mean(x, [1, 2]),
    channels: (x) => x.shape[x.rank - 1],
  };
}

// ---------------------------------------------------------------------------------------------
// Public API

export { parameterCount };

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

/** A one-line description for logs, e.g. "mlp 784-100-10" or "lenet5 28x28x1-10". */
export function describeModel(spec: ModelSpec): string {
  if (isConv(spec.kind)) return `${spec.kind} ${imageShapeOf(spec).join("x")}-${spec.outputs}`;
  return `${spec.kind} ${[spec.inputs, ...hiddenOf(spec), spec.outputs].join("-")}`;
}

/**
 * Logits (classification) or predictions (regression) for a batch x of shape [B, inputs]; the
 * convolutional kinds read each row as an image of `spec.imageShape`.
 */
export function forward(spec: ModelSpec, params: Params, x: tf.Tensor2D): tf.Tensor2D {
  if (isConv(spec.kind)) {
    const image = tf.reshape(x, [x.shape[0], ...imageShapeOf(spec)]);
    return ARCHITECTURES[spec.kind](tensorNet(params), image, spec.outputs) as tf.Tensor2D;
  }
  let h: tf.Tensor2D = x;
  const n = params.length / 2;
  for (let i = 0; i < n; i++) {
    const z = tf.add(tf.matMul(h, params[2 * i] as tf.Tensor2D), params[2 * i + 1]) as tf.Tensor2D;
    h = i < n - 1 ? tf.relu(z) : z;
  }
  return h;
}
