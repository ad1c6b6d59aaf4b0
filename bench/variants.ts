/**
 * Kernel patches for experiments (bench/experiments.ts, bench/profile.ts --variant): speed
 * changes not yet in core/, applied to this process only. A variant joins names with "+":
 *   base      nothing patched
 *   nocopy    wasm Identity and same-dtype Cast share the input's buffer instead of copying it
 *             (tfjs clones every tensor it saves for the backward pass through Identity)
 * (The native OpenBLAS matMul and the transposed-operand gradient that were measured here are
 * now engine/tensor/native_blas.ts, on by default where OpenBLAS exists: LOSSMITH_BLAS=none turns
 * them off for a comparison.)
 *   copyclone tfjs's own clone of each tensor saved for the backward pass (an Identity kernel, a
 *             copy on wasm), instead of engine/tensor/saved_tensors.ts's shared buffer
 *   oldconv   the convolutions as before engine/tensor/native_conv.ts: XNNPACK's forward one
 *             and conv_kernels.ts's compositions from it for the two gradients
 */
import { tf } from "../engine/tensor/tf.ts";
import { shareSavedTensors } from "../engine/tensor/saved_tensors.ts";
import { disableNativeConv } from "../engine/tensor/native_conv.ts";

// deno-lint-ignore no-explicit-any
type KernelArgs = any;
interface Info {
  dataId: object;
  shape: number[];
  dtype: string;
}

function replaceKernel(kernelName: string, kernelFunc: (args: KernelArgs) => unknown): void {
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as tf.KernelFunc });
}

/** The input itself with one more reference: what tfjs's cpu backend does for Identity. */
function share({ inputs: { x }, backend }: KernelArgs): Info {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function noCopy(): void {
  const cast = tf.getKernel("Cast", "wasm")!.kernelFunc;
  replaceKernel("Identity", share);
  replaceKernel("Cast", (a) => a.inputs.x.dtype === a.attrs.dtype ? share(a) : cast(a));
}

/** Applies a variant (after initBackend("wasm")); returns it normalised. */
export function applyVariant(variant: string): string {
  const parts = new Set(variant.split("+"));
  const known = new Set(["base", "nocopy", "copyclone", "oldconv"]);
  for (const p of parts) if (!known.has(p)) throw new Error(`unknown variant part '${p}'`);
  if (parts.has("nocopy")) noCopy();
  if (parts.has("copyclone")) shareSavedTensors(false);
  if (parts.has("oldconv")) disableNativeConv();
  return [...parts].join("+");
}
