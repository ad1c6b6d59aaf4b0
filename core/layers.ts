/**
 * A model of the user's own: a list of layers in the spirit of a Keras or TF.js `Sequential`
 * model (`model.kind` = `sequential`, `model.layers`). Plain data, tensor-free: the layer types
 * and their fields, the JSON Schema a request's list is checked against, and the checks that
 * need the data's shape (a Dense layer on an image, a kernel larger than its input, a last layer
 * that does not give the model's outputs), each with the JSON pointer of the field at fault.
 * core/architectures.ts runs the list, over shapes (parameters, memory) and over tensors (through
 * engine/models.ts).
 *
 * Layers read images as [height, width, channels] (TF.js's default, channels last); a flat row is
 * [features]. The last layer gives the logits (classification: one per class, the loss applies
 * the softmax) or the predictions (regression: one).
 */

/** Element-wise activations: each is differentiated twice by the engine (engine/tensor). */
export const ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid", "softplus"] as const;
export type Activation = typeof ACTIVATIONS[number];

export const LAYER_TYPES = [
  "Dense",
  "Conv2D",
  "MaxPooling2D",
  "AveragePooling2D",
  "GlobalAveragePooling2D",
  "Flatten",
  "Activation",
] as const;
export type LayerType = typeof LAYER_TYPES[number];

/** A size of a window or a stride: one number for both axes, or [height, width]. */
export type Size2 = number | [number, number];

export interface DenseLayer {
  type: "Dense";
  units: number;
  /** Default `linear`, as in Keras. */
  activation?: Activation;
}

export interface Conv2DLayer {
  type: "Conv2D";
  filters: number;
  kernelSize: Size2;
  /** Default 1. */
  strides?: Size2;
  /** Default `valid` (no padding); `same` pads so that the output is ceil(input / stride). */
  padding?: "valid" | "same";
  activation?: Activation;
}

export interface PoolingLayer {
  type: "MaxPooling2D" | "AveragePooling2D";
  /** Default 2. */
  poolSize?: Size2;
  /** Default `poolSize`, the only strides allowed (non-overlapping windows). */
  strides?: Size2;
  padding?: "valid";
}

export interface GlobalAveragePooling2DLayer {
  type: "GlobalAveragePooling2D";
}

export interface FlattenLayer {
  type: "Flatten";
}

export interface ActivationLayer {
  type: "Activation";
  activation: Activation;
}

export type Layer =
  | DenseLayer
  | Conv2DLayer
  | PoolingLayer
  | GlobalAveragePooling2DLayer
  | FlattenLayer
  | ActivationLayer;

/** Most layers in a list, and the largest sizes a field takes. */
export const MAX_LAYERS = 64;
const MAX_UNITS = 65_536;
const MAX_FILTERS = 4096;
const MAX_WINDOW = 64;

/** Why a Dropout layer is refused (in the schema's words and in docs/method.md). */
export const DROPOUT_REFUSAL = "Dropout is not supported: every training here is a deterministic " +
  "function of the loss's weights, which local search differentiates through";

export const pair = (s: Size2 | undefined, dflt: number): [number, number] =>
  s === undefined ? [dflt, dflt] : typeof s === "number" ? [s, s] : [s[0], s[1]];

// ---------------------------------------------------------------------------------------------
// Schema

type Schema = Record<string, unknown>;

const size2 = (max: number, description: string): Schema => ({
  anyOf: [
    { type: "integer", minimum: 1, maximum: max },
    {
      type: "array",
      minItems: 2,
      maxItems: 2,
      items: { type: "integer", minimum: 1, maximum: max },
    },
  ],
  description,
  "x-expected": `a whole number from 1 to ${max}, or [height, width] of two`,
});

const activation = (description: string): Schema => ({
  type: "string",
  enum: [...ACTIVATIONS],
  description,
});

const layer = (
  type: LayerType,
  description: string,
  fields: Record<string, Schema>,
  required: string[] = [],
): [string, Schema] => [`${type}Layer`, {
  type: "object",
  description,
  additionalProperties: false,
  required: ["type", ...required],
  properties: { type: { type: "string", const: type }, ...fields },
}];

const LAST = "The last layer gives the model's outputs: no softmax (the loss applies it).";

/**
 * The schema of each layer type, named `<type>Layer`: the OpenAPI document's components, which
 * a layer's schema refers to (every validator of settings resolves them, core/settings_schema.ts).
 */
export const LAYER_SCHEMAS: Record<string, Schema> = Object.fromEntries([
  layer("Dense", "A fully connected layer on a flat input (put Flatten after images).", {
    units: { type: "integer", minimum: 1, maximum: MAX_UNITS },
    activation: activation(`Applied to the outputs; default \`linear\`. ${LAST}`),
  }, ["units"]),
  layer("Conv2D", "A 2-D convolution with a bias, on images [height, width, channels].", {
    filters: { type: "integer", minimum: 1, maximum: MAX_FILTERS },
    kernelSize: size2(MAX_WINDOW, "The window, [height, width] or one size for both."),
    strides: size2(MAX_WINDOW, "Default 1."),
    padding: {
      type: "string",
      enum: ["valid", "same"],
      description: "`valid` (default): no padding; `same`: zeros around, so that the " +
        "output is ceil(input / stride).",
    },
    activation: activation("Default `linear`."),
  }, ["filters", "kernelSize"]),
  ...(["MaxPooling2D", "AveragePooling2D"] as const).map((type) =>
    layer(
      type,
      `${type === "MaxPooling2D" ? "Maximum" : "Mean"} of non-overlapping windows; rows ` +
        "and columns past the last whole window are dropped.",
      {
        poolSize: size2(MAX_WINDOW, "Default 2."),
        strides: size2(
          MAX_WINDOW,
          "Default and only value: `poolSize` (the engine differentiates twice through " +
            "non-overlapping windows only).",
        ),
        padding: { type: "string", enum: ["valid"], description: "Only `valid`." },
      },
    )
  ),
  layer(
    "GlobalAveragePooling2D",
    "The mean of each channel over the image: a flat output.",
    {},
  ),
  layer("Flatten", "An image as a flat vector, in height, width, channel order.", {}),
  layer("Activation", "An activation on its own.", {
    activation: activation("The function."),
  }, ["activation"]),
]);

const ref = (name: string) => `#/components/schemas/${name}`;

/** The JSON Schema of one layer: one of the layer types, told apart by `type`. */
export function layerSchema(): Schema {
  return {
    oneOf: LAYER_TYPES.map((t) => ({ $ref: ref(`${t}Layer`) })),
    discriminator: {
      propertyName: "type",
      mapping: Object.fromEntries(LAYER_TYPES.map((t) => [t, ref(`${t}Layer`)])),
    },
    // What an error says a layer's `type` must be (read by core/settings_schema.ts).
    "x-expected": `one of ${LAYER_TYPES.join(", ")} (${DROPOUT_REFUSAL})`,
  };
}

/** The schema of `model.layers`. */
export function layersSchema(): Schema {
  return {
    type: "array",
    maxItems: MAX_LAYERS,
    items: layerSchema(),
  };
}

// ---------------------------------------------------------------------------------------------
// Shapes

/** [height, width, channels] for an image, [n] for a flat vector. */
export type Shape = number[];

export const isImage = (s: Shape) => s.length === 3;
export const showShape = (s: Shape) => (isImage(s) ? s.join("x") : `${s[0]} values`);

/** A problem with a layer: the path below the list (["3", "filters"]) and what is wrong. */
export interface LayerIssue {
  path: string[];
  detail: string;
}

/** Output [height, width] of a convolution or pooling window along both axes. */
export function windowOutput(
  [h, w]: Shape,
  [kh, kw]: [number, number],
  [sh, sw]: [number, number],
  padding: "valid" | "same",
): [number, number] {
  if (padding === "same") return [Math.ceil(h / sh), Math.ceil(w / sw)];
  return [Math.floor((h - kh) / sh) + 1, Math.floor((w - kw) / sw) + 1];
}

/**
 * The shape after each layer, from the input's, or the first problem (the layers after it are
 * not meaningful). `outputs` is what the last layer must give.
 */
export function layerShapes(
  layers: readonly Layer[],
  input: Shape,
  outputs: number,
): { shapes: Shape[]; issues: LayerIssue[] } {
  const shapes: Shape[] = [];
  const issue = (i: number, field: string, detail: string) => ({
    shapes,
    issues: [{ path: [String(i), field], detail }],
  });
  if (layers.length === 0) {
    return {
      shapes,
      issues: [{ path: [], detail: "is empty; a sequential model needs at least one layer" }],
    };
  }
  let shape = input;
  for (const [i, l] of layers.entries()) {
    const image = isImage(shape);
    const needsImage = (what: string) =>
      issue(
        i,
        "type",
        `is ${l.type}, which needs an image [height, width, channels] ${what}; its input is ` +
          `${showShape(shape)}${
            i === 0 ? " (the dataset has no image shape)" : ", flat after an earlier layer"
          }`,
      );
    switch (l.type) {
      case "Dense":
        if (image) {
          return issue(
            i,
            "type",
            `is Dense, which needs a flat input; its input is an image ${showShape(shape)}: ` +
              "put a Flatten (or GlobalAveragePooling2D) layer before it",
          );
        }
        shape = [l.units];
        break;
      case "Conv2D": {
        if (!image) return needsImage("to convolve");
        const k = pair(l.kernelSize, 1), s = pair(l.strides, 1);
        const padding = l.padding ?? "valid";
        if (padding === "valid" && (k[0] > shape[0] || k[1] > shape[1])) {
          return issue(
            i,
            "kernelSize",
            `(${k.join("x")}) is larger than its input image ${showShape(shape)} with padding ` +
              "valid: use a smaller kernel, padding same, or less downsampling before it",
          );
        }
        const [oh, ow] = windowOutput(shape, k, s, padding);
        shape = [oh, ow, l.filters];
        break;
      }
      case "MaxPooling2D":
      case "AveragePooling2D": {
        if (!image) return needsImage("to pool");
        const k = pair(l.poolSize, 2);
        if (l.strides !== undefined) {
          const s = pair(l.strides, 2);
          if (s[0] !== k[0] || s[1] !== k[1]) {
            return issue(
              i,
              "strides",
              `(${s.join("x")}) must equal poolSize (${k.join("x")}): only non-overlapping ` +
                "windows are differentiated twice by the engine",
            );
          }
        }
        if (k[0] > shape[0] || k[1] > shape[1]) {
          return issue(
            i,
            "poolSize",
            `(${k.join("x")}) is larger than its input image ${showShape(shape)}`,
          );
        }
        shape = [Math.floor(shape[0] / k[0]), Math.floor(shape[1] / k[1]), shape[2]];
        break;
      }
      case "GlobalAveragePooling2D":
        if (!image) return needsImage("to average");
        shape = [shape[2]];
        break;
      case "Flatten":
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case "Activation":
        break;
    }
    shapes.push(shape);
  }
  const last = layers.length - 1;
  if (isImage(shape)) {
    return issue(
      last,
      "type",
      `is ${layers[last].type}, whose output is an image ${showShape(shape)}; the model must ` +
        `end with ${outputs} value${outputs === 1 ? "" : "s"}: add Flatten and Dense(${outputs})`,
    );
  }
  if (shape[0] !== outputs) {
    const l = layers[last];
    const what = outputs === 1 ? "1, the regression's one prediction" : `${outputs}, one per class`;
    if (l.type === "Dense") {
      return issue(
        last,
        "units",
        `must be ${what}: the last layer gives the model's outputs (got ${l.units})`,
      );
    }
    return {
      shapes,
      issues: [{
        path: [],
        detail: `ends with ${shape[0]} values; the model must give ${what}: end with ` +
          `Dense(${outputs})`,
      }],
    };
  }
  return { shapes, issues: [] };
}

/**
 * Whether the list is a plain ReLU dense stack (Dense layers, ReLU between them, a linear last
 * one, Flatten anywhere): the model of the `mlp` kind, which the closed-form backward pass, the
 * stacked engine and the fused WebGPU engine compute. Its hidden widths, or undefined.
 */
export function denseStackHidden(layers: readonly Layer[]): number[] | undefined {
  const dense = layers.filter((l) => l.type !== "Flatten");
  if (dense.length === 0 || dense.some((l) => l.type !== "Dense")) return undefined;
  const units = (dense as DenseLayer[]).map((l, i) =>
    (l.activation ?? "linear") === (i === dense.length - 1 ? "linear" : "relu") ? l.units : -1
  );
  return units.includes(-1) ? undefined : units.slice(0, -1);
}

/** One line: `Conv2D(8, 3x3, relu), MaxPooling2D(2x2), Flatten, Dense(10)`. */
export function describeLayers(layers: readonly Layer[]): string {
  const act = (a?: Activation) => (a && a !== "linear" ? `, ${a}` : "");
  return layers.map((l) => {
    switch (l.type) {
      case "Dense":
        return `Dense(${l.units}${act(l.activation)})`;
      case "Conv2D": {
        const s = pair(l.strides, 1);
        return `Conv2D(${l.filters}, ${pair(l.kernelSize, 1).join("x")}${
          s[0] === 1 && s[1] === 1 ? "" : `, stride ${s.join("x")}`
        }${l.padding === "same" ? ", same" : ""}${act(l.activation)})`;
      }
      case "MaxPooling2D":
      case "AveragePooling2D":
        return `${l.type}(${pair(l.poolSize, 2).join("x")})`;
      case "Activation":
        return `Activation(${l.activation})`;
      default:
        return l.type;
    }
  }).join(", ");
}
