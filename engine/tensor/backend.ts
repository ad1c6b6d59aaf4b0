/**
 * Backend choice, in one place. `auto` runs tfjs on wasm, whatever the machine: on a GPU host
 * tfjs-backend-webgpu is bound by the cost of each op (28 ms for an MLP step on an H200, 1.7 ms
 * on wasm), so the GPU is left to the fused engine (engine/webgpu/), which `auto` takes per job
 * when it measures faster. `webgpu` runs tfjs on WebGPU and the fused engine wherever it applies.
 */
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "./tf.ts";
import { enableNativeMatMul } from "./native_blas.ts";

import { fusedDevice } from "../webgpu/device.ts";
import {
  type BackendChoice,
  type BackendInfo,
  type BackendName,
  fusedPolicy,
} from "../../core/backends.ts";

export { BACKEND_CHOICES as BACKENDS } from "../../core/backends.ts";
export type { BackendChoice, BackendInfo, BackendName } from "../../core/backends.ts";

let wasmPathsSet = false;

function pointWasmAtPackage(): void {
  if (wasmPathsSet) return;
  // The package's .wasm files sit beside its entry point in dist/.
  const entry = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
  setWasmPaths(new URL("./", entry).href);
  wasmPathsSet = true;
}

/** Selects and initialises a backend; throws when an explicitly named one cannot start. */
export async function initBackend(choice: BackendChoice = "auto"): Promise<BackendInfo> {
  const name: BackendName = choice === "auto" ? "wasm" : choice;
  if (name === "wasm") pointWasmAtPackage();
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`backend '${name}' could not be initialised`);
  }
  await tf.ready();
  const nativeMatMul = name === "wasm" ? enableNativeMatMul() : undefined;
  let adapter: string | undefined;
  if (name === "webgpu") {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    adapter = (await gpu?.requestAdapter())?.info.description;
  }
  const fused = fusedPolicy(choice) === "never" ? undefined : await fusedDevice();
  return {
    name,
    adapter,
    nativeMatMul,
    ...(fused ? { fused: fused.adapter, fusedFallback: fused.fallback } : {}),
  };
}

/** Reads a tensor's values; `dataSync` is not allowed on WebGPU, so everything awaits. */
export async function read(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/** Computes a tensor in a tidy scope, reads it and disposes it. */
export async function compute(fn: () => tf.Tensor): Promise<Float32Array> {
  const t = tf.tidy(fn);
  try {
    return await read(t);
  } finally {
    t.dispose();
  }
}
