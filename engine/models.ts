/**
 * Models as pure functions of a parameter list: `forward(params, x)`. Parameters are plain
 * tensors rather than tf.Variables so that an SGD step can be differentiated through.
 *
 * The convolutional models are written once against a small `Net` interface and run two ways:
 * over shapes, to list their parameters (shape and fan-in, in order), and over tensors, to compute
 * the forward pass. The parameter list and the forward pass cannot disagree.
 */
import { tf } from "./tensor/tf.ts";
import { MODEL_KINDS, type ModelKind, type ModelSpec } from "../core/model_kinds.ts";

export type { ModelKind, ModelSpec } from "../core/model_kinds.ts";

export type Params = tf.Tensor[];

/** One parameter tensor: its shape, role and the fans of the layer it belongs to. */
interface ParamDef {
  shape: number[];
  fanIn: number;
  /** Inputs each output of the next layer sees: out * k * k for a convolution. */
  fanOut: number;
  layer: "dense" | "conv";
  bias: boolean;
}

// ---------------------------------------------------------------------------------------------
// Architectures

interface ConvOptions {
  stride?: number;
  /** Zero padding on every side (PyTorch's `padding`); 0 is "valid". */
  pad?: number;
  bias?: boolean;
}

/** The operations the convolutional architectures are written in. */
interface Net<T> {
  /** k x k convolution to `out` channels; weights [k, k, in, out], bias [out]. */
  conv(x: T, out: number, k: number, opts?: ConvOptions): T;
  /** Fully connected layer to `out` units (an image is flattened first, h, w, c order). */
  dense(x: T, out: number): T;
  relu(x: T): T;
  /** 2 x 2 max pooling, stride 2; an odd last row or column is dropped (PyTorch's floor). */
  maxPool2(x: T): T;
  /** Parameter-free group normalisation (see `groupNorm`). */
  norm(x: T): T;
  add(a: T, b: T): T;
  /** Mean over the spatial positions: [B, h, w, c] to [B, c]. */
  globalAvgPool(x: T): T;
  channels(x: T): number;
}

/** LeNet-5 as in the benchmark (bench/README.md) and bench/torch_reference.py's lenet(). */
function lenet5<T>(net: Net<T>, x: T, outputs: number): T {
  x = net.maxPool2(net.relu(net.conv(x, 6, 5)));
  x = net.maxPool2(net.relu(net.conv(x, 16, 5)));
  x = net.relu(net.dense(x, 120));
  x = net.relu(net.dense(x, 84));
  return net.dense(x, outputs);
}

/**
 * A small all-convolutional network in the spirit of AllCNN-C (Springenberg et al. 2015): no
 * pooling layers, 3x3 convolutions with stride 2 to downsample, 1x1 convolutions, global average
 * pooling for the class scores. AllCNN-C's 96/192 channels and 9 layers become 16/32 and 7, so
 * that a step on 32x32x3 images runs on a CPU; no dropout (the forward pass is deterministic).
 */
function allconv<T>(net: Net<T>, x: T, outputs: number): T {
  const layer = (x: T, out: number, k: number, stride = 1, pad = k === 3 ? 1 : 0) =>
    net.relu(net.conv(x, out, k, { stride, pad }));
  x = layer(x, 16, 3);
  x = layer(x, 16, 3, 2);
  x = layer(x, 32, 3);
  x = layer(x, 32, 3, 2);
  x = layer(x, 32, 3, 1, 0);
  x = layer(x, 32, 1);
  return net.globalAvgPool(net.conv(x, outputs, 1));
}

/**
 * ResNet-18 for 32x32 images (the CIFAR variant: a 3x3 stem, no stem pooling), with a
 * parameter-free group normalisation where the original has batch normalisation: batch
 * normalisation's running statistics are state outside the parameter list, and its batch
 * statistics couple the examples of a batch. Convolutions have no bias, as in torchvision (each is
 * followed by a normalisation).
 */
function resnet18<T>(net: Net<T>, x: T, outputs: number): T {
  const convNorm = (x: T, out: number, k: number, stride: number) =>
    net.norm(net.conv(x, out, k, { stride, pad: k === 3 ? 1 : 0, bias: false }));
  const block = (x: T, out: number, stride: number) => {
    const y = convNorm(net.relu(convNorm(x, out, 3, stride)), out, 3, 1);
    const shortcut = stride !== 1 || net.channels(x) !== out ? convNorm(x, out, 1, stride) : x;
    return net.relu(net.add(y, shortcut));
  };
  x = net.relu(convNorm(x, 64, 3, 1));
  for (const [out, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    x = block(block(x, out, stride), out, 1);
  }
  return net.dense(net.globalAvgPool(x), outputs);
}

const ARCHITECTURES = { lenet5, allconv, resnet18 } as const;
type ConvKind = keyof typeof ARCHITECTURES;

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

/** [h, w, c] for an image, [n] for a flat vector. */
type Shape = number[];

function shapeNet(defs: ParamDef[]): Net<Shape> {
  return {
    conv([h, w, c], out, k, { stride = 1, pad = 0, bias = true } = {}) {
      const size = (n: number) => Math.floor((n + 2 * pad - k) / stride) + 1;
      if (size(h) < 1 || size(w) < 1) throw new Error(`image too small for a ${k}x${k} conv`);
      const fans = { fanIn: k * k * c, fanOut: k * k * out, layer: "conv" as const };
      defs.push({ shape: [k, k, c, out], ...fans, bias: false });
      if (bias) defs.push({ shape: [out], ...fans, bias: true });
      return [size(h), size(w), out];
    },
    dense(x, out) {
      defs.push(...denseDefs(x.reduce((a, b) => a * b, 1), out));
      return [out];
    },
    relu: (x) => x,
    maxPool2([h, w, c]) {
      if (h < 2 || w < 2) throw new Error("image too small for 2x2 max pooling");
      return [Math.floor(h / 2), Math.floor(w / 2), c];
    },
    norm: (x) => x,
    add: (a) => a,
    globalAvgPool: ([, , c]) => [c],
    channels: (x) => x[x.length - 1],
  };
}

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

function isConv(kind: ModelKind): kind is ConvKind {
  return MODEL_KINDS[kind].family === "conv";
}

function imageShapeOf(spec: ModelSpec): [number, number, number] {
  const shape = spec.imageShape;
  if (!shape) throw new Error(`model ${spec.kind} needs the image shape of its inputs`);
  if (shape[0] * shape[1] * shape[2] !== spec.inputs) {
    throw new Error(`image shape ${shape.join("x")} does not hold ${spec.inputs} inputs`);
  }
  return shape;
}

// ---------------------------------------------------------------------------------------------
// Public API

/** The hidden widths of a dense model: none for the kinds without hidden layers. */
function hiddenOf(spec: ModelSpec): number[] {
  return MODEL_KINDS[spec.kind].hasHidden ? spec.hidden : [];
}

function denseDefs(fanIn: number, fanOut: number): ParamDef[] {
  const fans = { fanIn, fanOut, layer: "dense" as const };
  return [{ shape: [fanIn, fanOut], ...fans, bias: false }, {
    shape: [fanOut],
    ...fans,
    bias: true,
  }];
}

function paramDefs(spec: ModelSpec): ParamDef[] {
  if (isConv(spec.kind)) {
    const defs: ParamDef[] = [];
    ARCHITECTURES[spec.kind](shapeNet(defs), imageShapeOf(spec), spec.outputs);
    return defs;
  }
  const widths = [spec.inputs, ...hiddenOf(spec), spec.outputs];
  return widths.slice(1).flatMap((fanOut, i) => denseDefs(widths[i], fanOut));
}

/** Number of trainable scalars. */
export function parameterCount(spec: ModelSpec): number {
  return paramDefs(spec).reduce((n, d) => n + d.shape.reduce((a, b) => a * b, 1), 0);
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
