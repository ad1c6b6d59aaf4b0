/**
 * Tensors saved for the backward pass share their buffer instead of being copied.
 *
 * Why: for every op recorded on a gradient tape, tfjs-core's `Engine.clone` copies each saved
 * input or output through an Identity kernel (a real copy on wasm, plus a kernel launch) so that
 * the caller may dispose the original. Tensors are immutable, so one more reference to the same
 * buffer gives the same guarantee: the buffer lives until both are disposed, which is what the
 * cpu backend's own Identity kernel does. An unrolled 5-step MLP hypergradient ran 565 of these
 * copies out of 1,652 kernels; sharing measured 20-25 % less CPU time per hypergradient on wasm
 * (bench/experiments.ts with the `copyclone` variant restores the copy for a comparison).
 *
 * The tape node that `clone` records is kept as tfjs writes it (gradient: a float32 cast of dy),
 * so gradients, first or second order, flow exactly as before; only the copy is gone.
 *
 * This replaces a method of tfjs-core's engine, not a public API: it is applied only to the exact
 * tfjs-core version it was written against (deno.json pins it), and only if the engine still has
 * the members it uses; otherwise tfjs's own clone stays and `sharingSavedTensors()` says so.
 */
import * as tf from "@tensorflow/tfjs";

const WRITTEN_FOR = "4.22.0";

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}

/** The members of tfjs-core's Engine (engine.ts) this module reads or replaces. */
interface EngineInternals {
  clone(x: tf.Tensor): tf.Tensor;
  makeTensorFromTensorInfo(info: TensorInfo): tf.Tensor;
  addTapeNode(
    scopeName: string,
    inputs: Record<string, tf.Tensor>,
    outputs: tf.Tensor[],
    gradientsFunc: (dy: tf.Tensor) => Record<string, () => tf.Tensor>,
    saved: tf.Tensor[],
    attrs: Record<string, unknown>,
  ): void;
  state: {
    activeScope: { name: string };
    tensorInfo: { get(dataId: object): { backend: { incRef(dataId: object): void } } };
  };
}

const engine = tf.engine() as unknown as EngineInternals;
const tfjsClone = engine.clone;

function sharedClone(this: EngineInternals, x: tf.Tensor): tf.Tensor {
  this.state.tensorInfo.get(x.dataId).backend.incRef(x.dataId);
  const y = this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype });
  // As tfjs-core's clone: the gradient of the copy is dy cast to float32.
  const grad = (dy: tf.Tensor) => ({ x: () => tf.cast(dy, "float32") });
  this.addTapeNode(this.state.activeScope.name, { x }, [y], grad, [], {});
  return y;
}

function applicable(): boolean {
  return tf.version_core === WRITTEN_FOR && typeof engine.makeTensorFromTensorInfo === "function" &&
    typeof engine.addTapeNode === "function" && engine.state?.tensorInfo !== undefined;
}

/** Turns buffer sharing on (the default once tf.ts is imported) or back to tfjs's copy. */
export function shareSavedTensors(on: boolean): boolean {
  const share = on && applicable();
  engine.clone = share ? sharedClone : tfjsClone;
  return share;
}

/** Whether saved tensors currently share their buffer. */
export function sharingSavedTensors(): boolean {
  return engine.clone === sharedClone;
}
