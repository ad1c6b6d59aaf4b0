/**
 * The registry of model kinds: what the rest of the code needs to know about a kind without
 * loading its tensor code. The architectures are core/architectures.ts's, run over tensors by the
 * engine (engine/models.ts); everything that asks "is this a dense stack", "can candidates be
 * stacked", "does it need images", "how large is it" asks here.
 */
import {
  type ArchitectureKind,
  ARCHITECTURES,
  denseDefs,
  sequential,
  shapeNet,
  type ShapeWalk,
} from "./architectures.ts";
import {
  denseStackHidden,
  describeLayers,
  type Layer,
  type LayerIssue,
  layerShapes,
} from "./layers.ts";

/**
 * How a model's first weights are drawn (engine/models.ts). `pytorch` is PyTorch's default layer
 * initialisation, uniform in +-1/sqrt(fan-in) for weights and biases; the other two are what the
 * published code applies to its models' weights, with dense biases set to zero and convolution
 * biases left at PyTorch's default, as there.
 */
export const INIT_SCHEMES = ["pytorch", "xavier-uniform", "kaiming-normal"] as const;
export type InitScheme = typeof INIT_SCHEMES[number];
/** The values of the `model.init` setting: a scheme, or `auto`, the kind's published one. */
export const INIT_SETTINGS = ["auto", ...INIT_SCHEMES] as const;
export type InitSetting = typeof INIT_SETTINGS[number];

export interface ModelKindSpec {
  /**
   * Dense models are ReLU stacks of matrix products; convolutional ones read rows as images;
   * `layers` is the user's own list (`model.layers`), which may be either (`isDenseStack`).
   * Dense stacks are what the closed-form backward pass, the stacked engine (several candidates'
   * copies of the model in one computation) and the fused WebGPU engine compute.
   */
  family: "dense" | "conv" | "layers";
  /** Each input row is read as an image of the dataset's image shape. */
  needsImages: boolean;
  /** Takes the `model.hidden` widths. */
  hasHidden: boolean;
  /** Takes the `model.layers` list. */
  hasLayers: boolean;
  /** The initialisation the published code gives this kind (`model.init` = `auto`). */
  init: InitScheme;
  description: string;
}

export const MODEL_KINDS = {
  linear: {
    family: "dense",
    needsImages: false,
    hasHidden: false,
    hasLayers: false,
    init: "xavier-uniform",
    description: "logistic regression (classification) or linear regression",
  },
  mlp: {
    family: "dense",
    needsImages: false,
    hasHidden: true,
    hasLayers: false,
    init: "xavier-uniform",
    description: "a multilayer perceptron with ReLU hidden layers of `model.hidden` widths",
  },
  lenet5: {
    family: "conv",
    needsImages: true,
    hasHidden: false,
    hasLayers: false,
    init: "xavier-uniform",
    description: "LeNet-5: two 5x5 convolutions with max pooling, then 120-84 dense layers",
  },
  allconv: {
    family: "conv",
    needsImages: true,
    hasHidden: false,
    hasLayers: false,
    init: "kaiming-normal",
    description: "a small all-convolutional network in the spirit of AllCNN-C",
  },
  resnet18: {
    family: "conv",
    needsImages: true,
    hasHidden: false,
    hasLayers: false,
    init: "kaiming-normal",
    description: "ResNet-18 for 32x32 images, with group normalisation",
  },
  sequential: {
    family: "layers",
    needsImages: false,
    hasHidden: false,
    hasLayers: true,
    init: "xavier-uniform",
    description: "the user's own layer list (`model.layers`), as a Keras or TF.js Sequential " +
      "model: Dense, Conv2D, pooling, Flatten, activations",
  },
} as const satisfies Record<string, ModelKindSpec>;

export type ModelKind = keyof typeof MODEL_KINDS;

/** Every kind, in the registry's order (the order the CLI and the API list them). */
export const MODEL_KIND_NAMES = Object.keys(MODEL_KINDS) as ModelKind[];

export function modelKind(kind: ModelKind): ModelKindSpec {
  const spec: ModelKindSpec | undefined = MODEL_KINDS[kind];
  if (!spec) throw new Error(`unknown model kind '${kind}'; known: ${MODEL_KIND_NAMES.join(", ")}`);
  return spec;
}

/** What a model is, as plain data: enough for any worker to build it. */
export interface ModelSpec {
  kind: ModelKind;
  inputs: number;
  outputs: number;
  /** Hidden layer widths (kinds with `hasHidden`; empty for the others). */
  hidden: number[];
  /**
   * [height, width, channels] of an input row, whose pixels are stored in h, w, c order (the
   * datasets' layout). Required by the kinds that `needsImages`, absent for the others; a
   * sequential model reads rows as images when the data has this shape.
   */
  imageShape?: [number, number, number];
  /** The layers of a `sequential` model (kinds with `hasLayers`). */
  layers?: Layer[];
  /** How its weights start; absent, `pytorch` (models described before the setting). */
  init?: InitScheme;
}

/** The model settings this module reads (`Settings["model"]`, without importing it). */
export interface ModelSettings {
  kind: ModelKind;
  hidden: number[];
  layers?: Layer[];
  init?: InitSetting;
}

/** The scheme a `model.init` setting stands for on a kind: `auto` is the kind's published one. */
export function initFor(kind: ModelKind, init: InitSetting = "auto"): InitScheme {
  return init === "auto" ? modelKind(kind).init : init;
}

/** The shape of the data a model is built for. */
export interface ModelData {
  task: "classification" | "regression";
  inputs: number;
  nClasses?: number;
  imageShape?: [number, number, number];
}

/** The model a search trains on data of this shape: outputs are classes, or 1 for regression. */
export function modelSpecFor(model: ModelSettings, data: ModelData): ModelSpec {
  const kind = modelKind(model.kind);
  if (kind.needsImages && !data.imageShape) {
    throw new Error(
      `model '${model.kind}' needs image data (a dataset with an image shape, such as mnist)`,
    );
  }
  const images = kind.needsImages || (kind.hasLayers && data.imageShape);
  return {
    kind: model.kind,
    inputs: data.inputs,
    outputs: data.task === "classification" ? data.nClasses ?? 2 : 1,
    hidden: kind.hasHidden ? model.hidden : [],
    ...(images ? { imageShape: data.imageShape } : {}),
    ...(kind.hasLayers ? { layers: model.layers ?? [] } : {}),
    init: initFor(model.kind, model.init),
  };
}

/**
 * The hidden widths of a model that is a ReLU dense stack (linear, mlp, or a sequential list of
 * Dense layers with ReLU between them and a linear last one), or undefined: the models the
 * closed-form backward pass, the stacked engine and the fused WebGPU engine compute.
 */
export function denseHidden(model: Pick<ModelSpec, "kind" | "hidden" | "layers">):
  | number[]
  | undefined {
  const kind = modelKind(model.kind);
  if (kind.family === "dense") return kind.hasHidden ? model.hidden : [];
  if (kind.family === "layers") return denseStackHidden(model.layers ?? []);
  return undefined;
}

/** Several candidates' copies of the model can be trained in one stacked computation. */
export function isDenseStack(model: Pick<ModelSpec, "kind" | "hidden" | "layers">): boolean {
  return denseHidden(model) !== undefined;
}

/** The input shape a model reads a row as: the image, or the flat row. */
function inputShape(spec: ModelSpec): number[] {
  const shape = spec.imageShape;
  if (!shape) {
    if (modelKind(spec.kind).needsImages) {
      throw new Error(`model ${spec.kind} needs the image shape of its inputs`);
    }
    return [spec.inputs];
  }
  if (shape[0] * shape[1] * shape[2] !== spec.inputs) {
    throw new Error(`image shape ${shape.join("x")} does not hold ${spec.inputs} inputs`);
  }
  return shape;
}

/**
 * Problems of a sequential model's layers on this data, each with its path from the root of the
 * settings (["model", "layers", "3", "filters"]); none for the other kinds.
 */
export function modelIssues(model: ModelSettings, data: ModelData): LayerIssue[] {
  if (!modelKind(model.kind).hasLayers) return [];
  const spec = modelSpecFor(model, data);
  return layerShapes(spec.layers ?? [], inputShape(spec), spec.outputs).issues.map((i) => ({
    path: ["model", "layers", ...i.path],
    detail: i.detail,
  }));
}

/**
 * The model run over shapes: its parameters, in order, and the values per example its forward
 * pass makes. Throws on a model that cannot be built (an image too small for a kind; a sequential
 * model with `modelIssues`).
 */
export function walkModel(spec: ModelSpec): ShapeWalk {
  const walk: ShapeWalk = { params: [], activations: 0 };
  const kind = modelKind(spec.kind);
  const x = inputShape(spec);
  if (kind.family === "conv") {
    ARCHITECTURES[spec.kind as ArchitectureKind](shapeNet(walk), x, spec.outputs);
  } else if (kind.family === "layers") {
    const issues = layerShapes(spec.layers ?? [], x, spec.outputs).issues;
    if (issues.length) {
      const at = issues[0].path.length ? `layer ${issues[0].path.join(".")}` : "the layer list";
      throw new Error(`sequential model: ${at} ${issues[0].detail}`);
    }
    sequential(shapeNet(walk), x, spec.layers ?? []);
  } else {
    const widths = [spec.inputs, ...(kind.hasHidden ? spec.hidden : []), spec.outputs];
    walk.params = widths.slice(1).flatMap((fanOut, i) => denseDefs(widths[i], fanOut));
    // Each layer's product and its bias sum, and the ReLU of the hidden ones.
    walk.activations = widths.slice(1).reduce(
      (n, w, i) => n + w * (i < widths.length - 2 ? 3 : 2),
      0,
    );
  }
  return walk;
}

/** Number of trainable scalars. */
export function parameterCount(spec: ModelSpec): number {
  return walkModel(spec).params.reduce((n, d) => n + d.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * A one-line description for logs, e.g. "mlp 784-100-10", "lenet5 28x28x1-10" or
 * "sequential 28x28x1: Conv2D(8, 3x3, relu), MaxPooling2D(2x2), Flatten, Dense(10)".
 */
export function describeModel(spec: ModelSpec): string {
  const kind = modelKind(spec.kind);
  if (kind.family === "layers") {
    const input = spec.imageShape ? spec.imageShape.join("x") : String(spec.inputs);
    return `${spec.kind} ${input}: ${describeLayers(spec.layers ?? [])}`;
  }
  if (kind.family === "conv") return `${spec.kind} ${inputShape(spec).join("x")}-${spec.outputs}`;
  const hidden = kind.hasHidden ? spec.hidden : [];
  return `${spec.kind} ${[spec.inputs, ...hidden, spec.outputs].join("-")}`;
}
