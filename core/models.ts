/**
 * Models as pure functions of a parameter list: `forward(params, x)`. Parameters are plain
 * tensors rather than tf.Variables so that an SGD step can be differentiated through.
 */
import { tf } from "./tensor/tf.ts";

export type ModelKind = "linear" | "mlp";

export interface ModelSpec {
  kind: ModelKind;
  inputs: number;
  outputs: number;
  /** Hidden layer widths of the MLP (ignored by linear). */
  hidden: number[];
}

export const DEFAULT_HIDDEN = [100];

export type Params = tf.Tensor[];

interface Layer {
  fanIn: number;
  fanOut: number;
}

function layers(spec: ModelSpec): Layer[] {
  const widths = spec.kind === "linear"
    ? [spec.inputs, spec.outputs]
    : [spec.inputs, ...spec.hidden, spec.outputs];
  return widths.slice(1).map((fanOut, i) => ({ fanIn: widths[i], fanOut }));
}

/** Number of trainable scalars. */
export function parameterCount(spec: ModelSpec): number {
  return layers(spec).reduce((n, l) => n + l.fanIn * l.fanOut + l.fanOut, 0);
}

/**
 * Host-side initial values, PyTorch's default for linear layers: weights and biases uniform in
 * +-1/sqrt(fanIn). Drawn from the caller's seeded source so that runs are reproducible on any
 * backend.
 */
export function initialValues(spec: ModelSpec, uniform01: () => number): Float32Array[] {
  const out: Float32Array[] = [];
  for (const { fanIn, fanOut } of layers(spec)) {
    const bound = 1 / Math.sqrt(fanIn);
    const draw = () => (2 * uniform01() - 1) * bound;
    out.push(Float32Array.from({ length: fanIn * fanOut }, draw));
    out.push(Float32Array.from({ length: fanOut }, draw));
  }
  return out;
}

export function paramShapes(spec: ModelSpec): number[][] {
  return layers(spec).flatMap(({ fanIn, fanOut }) => [[fanIn, fanOut], [fanOut]]);
}

export function toParams(spec: ModelSpec, values: Float32Array[]): Params {
  const shapes = paramShapes(spec);
  return values.map((v, i) => tf.tensor(v, shapes[i]));
}

/** Logits (classification) or predictions (regression) for a batch x of shape [B, inputs]. */
// `spec` is unused by the MLP (its shape lives in the parameters) but kept so that every model
// (convolutional ones to come) has the same signature.
export function forward(_spec: ModelSpec, params: Params, x: tf.Tensor2D): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  const n = params.length / 2;
  for (let i = 0; i < n; i++) {
    const z = tf.add(tf.matMul(h, params[2 * i] as tf.Tensor2D), params[2 * i + 1]) as tf.Tensor2D;
    h = i < n - 1 ? tf.relu(z) : z;
  }
  return h;
}
