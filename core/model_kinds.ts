/**
 * The registry of model kinds: what the rest of the code needs to know about a kind without
 * loading its tensor code. The architectures themselves live with the tensor engine
 * (engine/models.ts); everything that asks "is this dense", "can candidates be stacked", "does it
 * need images" asks here.
 */

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
  /** Dense models are stacks of matrix products; convolutional ones read rows as images. */
  family: "dense" | "conv";
  /** Several candidates' copies of the model can be trained in one stacked computation. */
  stackable: boolean;
  /** Each input row is read as an image of the dataset's image shape. */
  needsImages: boolean;
  /** Takes the `model.hidden` widths. */
  hasHidden: boolean;
  /** The initialisation the published code gives this kind (`model.init` = `auto`). */
  init: InitScheme;
  description: string;
}

export const MODEL_KINDS = {
  linear: {
    family: "dense",
    stackable: true,
    needsImages: false,
    hasHidden: false,
    init: "xavier-uniform",
    description: "logistic regression (classification) or linear regression",
  },
  mlp: {
    family: "dense",
    stackable: true,
    needsImages: false,
    hasHidden: true,
    init: "xavier-uniform",
    description: "a multilayer perceptron with ReLU hidden layers of `model.hidden` widths",
  },
  lenet5: {
    family: "conv",
    stackable: false,
    needsImages: true,
    hasHidden: false,
    init: "xavier-uniform",
    description: "LeNet-5: two 5x5 convolutions with max pooling, then 120-84 dense layers",
  },
  allconv: {
    family: "conv",
    stackable: false,
    needsImages: true,
    hasHidden: false,
    init: "kaiming-normal",
    description: "a small all-convolutional network in the spirit of AllCNN-C",
  },
  resnet18: {
    family: "conv",
    stackable: false,
    needsImages: true,
    hasHidden: false,
    init: "kaiming-normal",
    description: "ResNet-18 for 32x32 images, with group normalisation",
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
   * datasets' layout). Required by the kinds that `needsImages`, absent for the others.
   */
  imageShape?: [number, number, number];
  /** How its weights start; absent, `pytorch` (models described before the setting). */
  init?: InitScheme;
}

/** The scheme a `model.init` setting stands for on a kind: `auto` is the kind's published one. */
export function initFor(kind: ModelKind, init: InitSetting = "auto"): InitScheme {
  return init === "auto" ? modelKind(kind).init : init;
}

/** The model a search trains on data of this shape: outputs are classes, or 1 for regression. */
export function modelSpecFor(
  model: { kind: ModelKind; hidden: number[]; init?: InitSetting },
  data: {
    task: "classification" | "regression";
    inputs: number;
    nClasses?: number;
    imageShape?: [number, number, number];
  },
): ModelSpec {
  const kind = modelKind(model.kind);
  if (kind.needsImages && !data.imageShape) {
    throw new Error(
      `model '${model.kind}' needs image data (a dataset with an image shape, such as mnist)`,
    );
  }
  return {
    kind: model.kind,
    inputs: data.inputs,
    outputs: data.task === "classification" ? data.nClasses ?? 2 : 1,
    hidden: kind.hasHidden ? model.hidden : [],
    ...(kind.needsImages ? { imageShape: data.imageShape } : {}),
    init: initFor(model.kind, model.init),
  };
}
