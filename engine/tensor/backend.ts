/**
 * Backend choice, in one place. `auto` takes WebGPU only on a real (non-fallback) adapter: on a
 * machine without a GPU Deno offers a software adapter (llvmpipe) that is slower than wasm.
 */
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "./tf.ts";
import { enableNativeMatMul } from "./native_blas.ts";

import type { BackendChoice, BackendInfo, BackendName } from "../../core/backends.ts";

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

async function realGpuAdapter(): Promise<string | undefined> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return undefined;
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter || adapter.info.isFallbackAdapter) return undefined;
    return adapter.info.description || adapter.info.vendor || "gpu";
  } catch {
    return undefined;
  }
}

/** Selects and initialises a backend; throws when an explicitly named one cannot start. */
export async function initBackend(choice: BackendChoice = "auto"): Promise<BackendInfo> {
  let name: BackendName;
  let adapter: string | undefined;
  if (choice === "auto") {
    adapter = await realGpuAdapter();
    name = adapter ? "webgpu" : "wasm";
  } else {
    name = choice;
  }
  if (name === "wasm") pointWasmAtPackage();
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) {
      if (choice === "auto" && name === "webgpu") return initBackend("wasm");
      throw new Error(`backend '${name}' could not be initialised`);
    }
  }
  await tf.ready();
  const nativeMatMul = name === "wasm" ? enableNativeMatMul() : undefined;
  if (name === "webgpu" && !adapter) {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    adapter = (await gpu?.requestAdapter())?.info.description;
  }
  return { name, adapter, nativeMatMul };
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
