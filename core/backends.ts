/**
 * The tensor backends by name, tensor-free: the CLI, the service's settings and the worker pool
 * name them without loading TensorFlow.js. engine/tensor/backend.ts starts them.
 */

export const BACKEND_CHOICES = ["auto", "webgpu", "wasm", "cpu"] as const;
/** `auto` takes WebGPU on a real GPU adapter, else wasm. */
export type BackendChoice = typeof BACKEND_CHOICES[number];
export type BackendName = Exclude<BackendChoice, "auto">;

export interface BackendInfo {
  name: BackendName;
  /** The GPU adapter's description when the backend is webgpu. */
  adapter?: string;
  /** The OpenBLAS library doing wasm's matrix products, when one was found (native_blas.ts). */
  nativeMatMul?: string;
}
