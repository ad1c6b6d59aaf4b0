/**
 * The tensor backends by name, tensor-free: the CLI, the service's settings and the worker pool
 * name them without loading TensorFlow.js. engine/tensor/backend.ts starts them.
 */

export const BACKEND_CHOICES = ["auto", "webgpu", "wasm", "cpu"] as const;
/**
 * `auto`: tfjs on wasm, and, where a WebGPU adapter exists, the fused WebGPU engine for dense
 * models, taken per job when a short calibration measures it faster (engine/candidate_ops.ts).
 * `webgpu`: tfjs on WebGPU, and the fused engine for everything it supports. `wasm` and `cpu`:
 * tfjs alone (cpu is the reference).
 */
export type BackendChoice = typeof BACKEND_CHOICES[number];
export type BackendName = Exclude<BackendChoice, "auto">;

export interface BackendInfo {
  /** The backend tfjs runs on. */
  name: BackendName;
  /** The GPU adapter's description when the backend is webgpu. */
  adapter?: string;
  /** The OpenBLAS library doing wasm's matrix products, when one was found (native_blas.ts). */
  nativeMatMul?: string;
  /** The adapter the fused WebGPU engine may use (auto and webgpu only), as "llvmpipe (...)";
   * `fusedFallback` when it is the software adapter. */
  fused?: string;
  fusedFallback?: boolean;
}

/** How a job's dense stacks run: the fused WebGPU engine, or tfjs on the backend. */
export type EngineChoice = "fused" | "tfjs";

/** Whether a backend choice may use the fused engine, and whether it must measure first. */
export function fusedPolicy(choice: BackendChoice): "never" | "measure" | "always" {
  return choice === "auto" ? "measure" : choice === "webgpu" ? "always" : "never";
}
