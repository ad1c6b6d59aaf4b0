/**
 * The architectures of the model kinds that are more than a dense stack, written once against a
 * small `Net` interface and run two ways: over shapes, here, to list their parameters (shape and
 * fans, in order) and the sizes of their intermediate values, and over tensors, in
 * engine/models.ts, to compute the forward pass. The parameter list, the memory estimate and the
 * forward pass cannot disagree. Tensor-free: the service sizes a model before any worker builds it.
 */
import { type Activation, type Layer, pair, type Shape } from "./layers.ts";

export interface ConvOptions {
  /** One stride for both axes, or [height, width]. */
  stride?: number | [number, number];
  /** Zero padding on every side (PyTorch's `padding`), 0 is "valid"; or `same` (TF's). */
  pad?: number | "same";
  bias?: boolean;
}

/** The operations the architectures are written in. */
export interface Net<T> {
  /** k x k (or kh x kw) convolution to `out` channels; weights [kh, kw, in, out], bias [out]. */
  conv(x: T, out: number, k: number | [number, number], opts?: ConvOptions): T;
  /** Fully connected layer to `out` units (an image is flattened first, h, w, c order). */
  dense(x: T, out: number): T;
  activation(x: T, f: Activation): T;
  /** Non-overlapping kh x kw windows, stride the window; an odd last row or column is dropped
   * (PyTorch's floor). */
  pool(x: T, how: "max" | "avg", k: [number, number]): T;
  /** Parameter-free group normalisation (engine/models.ts's `groupNorm`). */
  norm(x: T): T;
  add(a: T, b: T): T;
  /** Mean over the spatial positions: [B, h, w, c] to [B, c]. */
  globalAvgPool(x: T): T;
  flatten(x: T): T;
  channels(x: T): number;
}

const relu = <T>(net: Net<T>, x: T) => net.activation(x, "relu");

/** LeNet-5 as in the benchmark (bench/README.md) and bench/torch_reference.py's lenet(). */
function lenet5<T>(net: Net<T>, x: T, outputs: number): T {
  x = net.pool(relu(net, net.conv(x, 6, 5)), "max", [2, 2]);
  x = net.pool(relu(net, net.conv(x, 16, 5)), "max", [2, 2]);
  x = relu(net, net.dense(x, 120));
  x = relu(net, net.dense(x, 84));
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
    relu(net, net.conv(x, out, k, { stride, pad }));
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
    const y = convNorm(relu(net, convNorm(x, out, 3, stride)), out, 3, 1);
    const shortcut = stride !== 1 || net.channels(x) !== out ? convNorm(x, out, 1, stride) : x;
    return relu(net, net.add(y, shortcut));
  };
  x = relu(net, convNorm(x, 64, 3, 1));
  for (const [out, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    x = block(block(x, out, stride), out, 1);
  }
  return net.dense(net.globalAvgPool(x), outputs);
}

/** The user's layer list (core/layers.ts), already checked against its input's shape. */
export function sequential<T>(net: Net<T>, x: T, layers: readonly Layer[]): T {
  for (const l of layers) {
    switch (l.type) {
      case "Dense":
        x = net.dense(x, l.units);
        break;
      case "Conv2D":
        x = net.conv(x, l.filters, pair(l.kernelSize, 1), {
          stride: pair(l.strides, 1),
          pad: l.padding === "same" ? "same" : 0,
        });
        break;
      case "MaxPooling2D":
      case "AveragePooling2D":
        x = net.pool(x, l.type === "MaxPooling2D" ? "max" : "avg", pair(l.poolSize, 2));
        break;
      case "GlobalAveragePooling2D":
        x = net.globalAvgPool(x);
        break;
      case "Flatten":
        x = net.flatten(x);
        break;
      case "Activation":
        break;
    }
    const f = l.type === "Dense" || l.type === "Conv2D" || l.type === "Activation"
      ? l.activation ?? "linear"
      : "linear";
    if (f !== "linear") x = net.activation(x, f);
  }
  return x;
}

/** The convolutional kinds' architectures, by kind. */
export const ARCHITECTURES = { lenet5, allconv, resnet18 } as const;
export type ArchitectureKind = keyof typeof ARCHITECTURES;

// ---------------------------------------------------------------------------------------------
// Over shapes

/** One parameter tensor: its shape, role and the fans of the layer it belongs to. */
export interface ParamDef {
  shape: number[];
  fanIn: number;
  /** Inputs each output of the next layer sees: out * k * k for a convolution. */
  fanOut: number;
  layer: "dense" | "conv";
  bias: boolean;
}

/** What running an architecture over shapes found. */
export interface ShapeWalk {
  params: ParamDef[];
  /**
   * Values per example of the tensors the forward pass makes, every op's output counted; a
   * normalisation counts the four tensors it makes, a window mean its reshapes. A flatten
   * counts nothing (tfjs counts a reshape's bytes again, core/model_size.ts allows for it).
   */
  activations: number;
}

const elements = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** A Net over shapes that records the parameters and the intermediate values. */
export function shapeNet(walk: ShapeWalk): Net<Shape> {
  const made = (s: Shape, times = 1) => {
    walk.activations += times * elements(s);
    return s;
  };
  return {
    conv([h, w, c], out, k, { stride = 1, pad = 0, bias = true } = {}) {
      const [kh, kw] = pair(k, 1), [sh, sw] = pair(stride, 1);
      const size = (n: number, kk: number, s: number) =>
        pad === "same" ? Math.ceil(n / s) : Math.floor((n + 2 * pad - kk) / s) + 1;
      const oh = size(h, kh, sh), ow = size(w, kw, sw);
      if (oh < 1 || ow < 1) throw new Error(`image too small for a ${kh}x${kw} conv`);
      const fans = { fanIn: kh * kw * c, fanOut: kh * kw * out, layer: "conv" as const };
      walk.params.push({ shape: [kh, kw, c, out], ...fans, bias: false });
      if (bias) walk.params.push({ shape: [out], ...fans, bias: true });
      return made([oh, ow, out], bias ? 2 : 1);
    },
    dense(x, out) {
      walk.params.push(...denseDefs(elements(x), out));
      return made([out], 2);
    },
    activation: (x) => made(x),
    pool([h, w, c], how, [kh, kw]) {
      if (h < kh || w < kw) throw new Error(`image too small for ${kh}x${kw} pooling`);
      const out = [Math.floor(h / kh), Math.floor(w / kw), c];
      // A window mean is reshapes and means (engine/models.ts): the input's reshape, the rows'
      // mean and its reshape, then the output.
      if (how === "avg") made([h * w * c + 2 * out[0] * w * c]);
      return made(out);
    },
    norm: (x) => made(x, 4),
    add: (a) => made(a),
    globalAvgPool: ([, , c]) => made([c]),
    flatten: (x) => [elements(x)],
    channels: (x) => x[x.length - 1],
  };
}

export function denseDefs(fanIn: number, fanOut: number): ParamDef[] {
  const fans = { fanIn, fanOut, layer: "dense" as const };
  return [{ shape: [fanIn, fanOut], ...fans, bias: false }, {
    shape: [fanOut],
    ...fans,
    bias: true,
  }];
}
