/**
 * The model architectures as shapes: the convolutional models are written once against a small
 * `Net` interface and run two ways: here over shapes, to list their parameters (shape and fan-in,
 * in order) and the values each layer produces per example, and in engine/models.ts over tensors,
 * to compute the forward pass. The parameter list and the forward pass cannot disagree. Free of
 * tensor code, so that the service can size a search before anything runs (core/memory.ts).
 */
import { MODEL_KINDS, type ModelKind, type ModelSpec } from "./model_kinds.ts";

/** One parameter tensor: its shape, role and the fans of the layer it belongs to. */
export interface ParamDef {
  shape: number[];
  fanIn: number;
  /** Inputs each output of the next layer sees: out * k * k for a convolution. */
  fanOut: number;
  layer: "dense" | "conv";
  bias: boolean;
}

export interface ConvOptions {
  stride?: number;
  /** Zero padding on every side (PyTorch's `padding`); 0 is "valid". */
  pad?: number;
  bias?: boolean;
}

/** The operations the convolutional architectures are written in. */
export interface Net<T> {
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

export const ARCHITECTURES = { lenet5, allconv, resnet18 } as const;
export type ConvKind = keyof typeof ARCHITECTURES;

/** [h, w, c] for an image, [n] for a flat vector. */
type Shape = number[];

/**
 * The shapes' Net: parameters are listed in `defs`, and the values each layer produces per
 * example are added up in `values` (what a forward pass holds for its backward pass).
 */
function shapeNet(defs: ParamDef[], values: { n: number }): Net<Shape> {
  const produced = (s: Shape): Shape => {
    values.n += s.reduce((a, b) => a * b, 1);
    return s;
  };
  return {
    conv([h, w, c], out, k, { stride = 1, pad = 0, bias = true } = {}) {
      const size = (n: number) => Math.floor((n + 2 * pad - k) / stride) + 1;
      if (size(h) < 1 || size(w) < 1) throw new Error(`image too small for a ${k}x${k} conv`);
      const fans = { fanIn: k * k * c, fanOut: k * k * out, layer: "conv" as const };
      defs.push({ shape: [k, k, c, out], ...fans, bias: false });
      if (bias) defs.push({ shape: [out], ...fans, bias: true });
      return produced([size(h), size(w), out]);
    },
    dense(x, out) {
      defs.push(...denseDefs(x.reduce((a, b) => a * b, 1), out));
      return produced([out]);
    },
    relu: (x) => produced(x),
    maxPool2([h, w, c]) {
      if (h < 2 || w < 2) throw new Error("image too small for 2x2 max pooling");
      return produced([Math.floor(h / 2), Math.floor(w / 2), c]);
    },
    norm: (x) => produced(x),
    add: (a) => produced(a),
    globalAvgPool: ([, , c]) => produced([c]),
    channels: (x) => x[x.length - 1],
  };
}

export function isConv(kind: ModelKind): kind is ConvKind {
  return MODEL_KINDS[kind].family === "conv";
}

export function imageShapeOf(spec: ModelSpec): [number, number, number] {
  const shape = spec.imageShape;
  if (!shape) throw new Error(`model ${spec.kind} needs the image shape of its inputs`);
  if (shape[0] * shape[1] * shape[2] !== spec.inputs) {
    throw new Error(`image shape ${shape.join("x")} does not hold ${spec.inputs} inputs`);
  }
  return shape;
}

/** The hidden widths of a dense model: none for the kinds without hidden layers. */
export function hiddenOf(spec: ModelSpec): number[] {
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

export function paramDefs(spec: ModelSpec): ParamDef[] {
  if (isConv(spec.kind)) {
    const defs: ParamDef[] = [];
    ARCHITECTURES[spec.kind](shapeNet(defs, { n: 0 }), imageShapeOf(spec), spec.outputs);
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
 * Values one example produces through the model's layers (each layer's output, ReLU and
 * normalisation outputs included): what a forward pass keeps for its backward pass, per example.
 */
export function activationsPerExample(spec: ModelSpec): number {
  if (isConv(spec.kind)) {
    const values = { n: 0 };
    ARCHITECTURES[spec.kind](shapeNet([], values), imageShapeOf(spec), spec.outputs);
    return values.n;
  }
  const hidden = hiddenOf(spec);
  // Each hidden layer's product and its ReLU, then the outputs.
  return 2 * hidden.reduce((a, b) => a + b, 0) + spec.outputs;
}
