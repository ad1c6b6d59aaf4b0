/**
 * The GPUDevice of the fused engine, and the few things every fused kernel shares: buffers,
 * compute pipelines with an explicit layout, and a counter of dispatches.
 *
 * The engine opens its own device rather than borrowing tfjs-backend-webgpu's: with `--backend
 * auto` a worker runs tfjs on wasm and measures the fused engine against it (candidate_ops.ts),
 * so the fused engine must run where tfjs has no WebGPU backend at all; and with its own device
 * its submissions never interleave with tfjs's batched command encoder. Measured on the software
 * adapter, opening the device costs 30 to 375 ms once per worker, and a dispatch costs the CPU
 * the same on either device (bench/fused.ts).
 */

export interface FusedDevice {
  device: GPUDevice;
  /** The adapter's description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  adapter: string;
  /** The software adapter (no GPU): correct, and slow. */
  fallback: boolean;
}

let opened: Promise<FusedDevice | undefined> | undefined;

function gpu(): GPU | undefined {
  return (navigator as Navigator & { gpu?: GPU }).gpu;
}

/**
 * This thread's device, opened once; undefined where there is no WebGPU adapter. The adapter's
 * largest storage bindings are asked for: a stack's parameters and the training rows are each
 * one binding.
 */
export function fusedDevice(): Promise<FusedDevice | undefined> {
  opened ??= (async () => {
    const g = gpu();
    if (!g) return undefined;
    try {
      const adapter = await g.requestAdapter({ powerPreference: "high-performance" });
      if (!adapter) return undefined;
      const device = await adapter.requestDevice({
        requiredLimits: {
          maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
          maxBufferSize: adapter.limits.maxBufferSize,
          maxStorageBuffersPerShaderStage: Math.min(
            16,
            adapter.limits.maxStorageBuffersPerShaderStage,
          ),
          maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
        },
      });
      const info = adapter.info;
      return {
        device,
        adapter: info.description || info.vendor || "gpu",
        fallback: info.isFallbackAdapter,
      };
    } catch {
      return undefined;
    }
  })();
  return opened;
}

/** Dispatches issued by fused kernels on this thread, for the benchmark's counts. */
export const dispatchCounter = { count: 0 };

export type BindingKind = "read" | "write";

/** A compute shader's storage bindings (group 1), in binding order. */
export interface KernelSpec {
  /** Cache key: equal keys are the same shader. */
  key: string;
  code: string;
  bindings: BindingKind[];
}

/**
 * Every fused shader sees the same group 0, a uniform slot per step chosen by a dynamic
 * offset, so a step's slot is bound once and stays bound across the step's pipelines; group 1
 * holds the kernel's own storage buffers, bound once per stack.
 */
export class KernelCache {
  readonly device: GPUDevice;
  readonly stepLayout: GPUBindGroupLayout;
  readonly #pipelines = new Map<
    string,
    { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }
  >();
  /** Milliseconds spent creating shader modules and pipelines. */
  compileMs = 0;

  constructor(device: GPUDevice) {
    this.device = device;
    this.stepLayout = device.createBindGroupLayout({
      entries: [{
        binding: 0,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform", hasDynamicOffset: true },
      }],
    });
  }

  pipeline(spec: KernelSpec): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    const hit = this.#pipelines.get(spec.key);
    if (hit) return hit;
    const t0 = performance.now();
    const layout = this.device.createBindGroupLayout({
      entries: spec.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: kind === "read" ? "read-only-storage" : "storage" },
      })),
    });
    const module = this.device.createShaderModule({ code: spec.code });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.stepLayout, layout] }),
      compute: { module, entryPoint: "main" },
    });
    this.compileMs += performance.now() - t0;
    const entry = { pipeline, layout };
    this.#pipelines.set(spec.key, entry);
    return entry;
  }
}

/**
 * The WGSL declaration of group 0 (a step's uniform slot) that every fused shader carries; the
 * offsets are in float32 elements, so that no kernel depends on the stack's size.
 */
export const STEP_UNIFORM = `
struct Step {
  row: u32,    // first training row of the step's batch
  vrow: u32,   // first validation row
  check: u32,  // where the step records per-candidate values, or NONE
  init: u32,   // offset of the shared initial parameters in inits
  src: u32,    // offset of the parameters the step reads in th
  dst: u32,    // offset of the parameters it writes
  first: u32,  // 1 at a trajectory's first step: no velocity, no accumulated adjoint yet
  rows: u32,   // rows of a metric chunk
  bc1: f32,    // Adam's bias corrections 1 - beta^t
  bc2: f32,
  pad0: u32,
  pad1: u32,
}
const NONE = 0xffffffffu;
@group(0) @binding(0) var<uniform> st: Step;
`;

/** Words (and bytes) of one Step. */
export const STEP_WORDS = 12;
export const STEP_BYTES = STEP_WORDS * 4;
/** `check` of a step that records nothing. */
export const NONE = 0xffffffff;

/** A storage buffer of `floats` float32 values (at least one), optionally filled. */
export function storage(
  device: GPUDevice,
  floats: number,
  data?: Float32Array | Uint32Array,
): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(4, floats * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  if (data) device.queue.writeBuffer(buffer, 0, data as unknown as ArrayBuffer);
  return buffer;
}

/** Reads back buffers (copied in one submission, mapped together). */
export async function readBack(
  device: GPUDevice,
  buffers: { buffer: GPUBuffer; floats: number }[],
): Promise<Float32Array[]> {
  const staging = buffers.map(({ floats }) =>
    device.createBuffer({
      size: Math.max(4, floats * 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    })
  );
  const encoder = device.createCommandEncoder();
  buffers.forEach(({ buffer, floats }, i) =>
    encoder.copyBufferToBuffer(buffer, 0, staging[i], 0, Math.max(4, floats * 4))
  );
  device.queue.submit([encoder.finish()]);
  await Promise.all(staging.map((s) => s.mapAsync(GPUMapMode.READ)));
  const out = staging.map((s, i) =>
    new Float32Array(s.getMappedRange().slice(0, buffers[i].floats * 4))
  );
  staging.forEach((s) => s.destroy());
  return out;
}

/** A kernel bound to one stack's buffers, ready to dispatch. */
export interface BoundKernel {
  /** What the profile calls it. */
  name: string;
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  grid: [number, number, number];
}

/** Wall time and dispatches per kernel, filled in by a profiling encoder. */
export type KernelProfile = Map<string, { ms: number; dispatches: number }>;

/**
 * Records a sequence of dispatches: each step selects its uniform slot (`use`), then runs its
 * kernels in one compute pass; `submit` sends what was recorded. With a profile, every dispatch
 * is instead submitted alone and waited for, and its wall time charged to its kernel: slow, for
 * finding where the time goes on a GPU (bench/fused.ts --profile).
 */
export class StepEncoder {
  readonly #device: GPUDevice;
  readonly #steps: GPUBindGroup;
  readonly #profile?: KernelProfile;
  #encoder: GPUCommandEncoder;
  #pass: GPUComputePassEncoder;
  #offset = 0;
  #pending: { offset: number; kernel: BoundKernel }[] = [];
  /**
   * Dispatches recorded; milliseconds spent recording them (the CPU cost of a dispatch, which
   * carries over from one adapter to another) and submitting them (on the software adapter a
   * submission may wait for the work before it).
   */
  dispatches = 0;
  encodeMs = 0;
  submitMs = 0;
  /** The first submission's time and dispatches: where a run's new buffers are zeroed. */
  firstSubmit?: { ms: number; dispatches: number };

  /** With `dry`, every dispatch has no workgroups: the CPU's whole cost, and no GPU work. */
  readonly #dry: boolean;

  constructor(device: GPUDevice, steps: GPUBindGroup, profile?: KernelProfile, dry = false) {
    this.#device = device;
    this.#steps = steps;
    this.#profile = profile;
    this.#dry = dry;
    this.#encoder = device.createCommandEncoder();
    this.#pass = this.#encoder.beginComputePass();
  }

  /** The uniform slot at `offset` bytes, for the dispatches that follow. */
  use(offset: number): void {
    const t0 = performance.now();
    this.#offset = offset;
    if (!this.#profile) this.#pass.setBindGroup(0, this.#steps, [offset]);
    this.encodeMs += performance.now() - t0;
  }

  run(kernel: BoundKernel): void {
    const t0 = performance.now();
    this.dispatches++;
    dispatchCounter.count++;
    if (this.#profile) {
      this.#pending.push({ offset: this.#offset, kernel });
      return;
    }
    this.#pass.setPipeline(kernel.pipeline);
    this.#pass.setBindGroup(1, kernel.group);
    if (this.#dry) this.#pass.dispatchWorkgroups(0, 0, 0);
    else this.#pass.dispatchWorkgroups(...kernel.grid);
    this.encodeMs += performance.now() - t0;
  }

  /** Submits what was recorded (it runs in order after everything submitted before). */
  async submit(): Promise<void> {
    if (this.#profile) {
      for (const { offset, kernel } of this.#pending.splice(0)) {
        const t0 = performance.now();
        const encoder = this.#device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        pass.setBindGroup(0, this.#steps, [offset]);
        pass.setPipeline(kernel.pipeline);
        pass.setBindGroup(1, kernel.group);
        pass.dispatchWorkgroups(...kernel.grid);
        pass.end();
        this.#device.queue.submit([encoder.finish()]);
        await this.#device.queue.onSubmittedWorkDone();
        const entry = this.#profile.get(kernel.name) ?? { ms: 0, dispatches: 0 };
        entry.ms += performance.now() - t0;
        entry.dispatches++;
        this.#profile.set(kernel.name, entry);
      }
      return;
    }
    const t0 = performance.now();
    this.#pass.end();
    this.#device.queue.submit([this.#encoder.finish()]);
    this.#encoder = this.#device.createCommandEncoder();
    this.#pass = this.#encoder.beginComputePass();
    this.#pass.setBindGroup(0, this.#steps, [this.#offset]);
    const ms = performance.now() - t0;
    this.submitMs += ms;
    this.firstSubmit ??= { ms, dispatches: this.dispatches };
  }

  /** Ends the last pass unsubmitted work included. */
  async finish(): Promise<void> {
    await this.submit();
    this.#pass.end();
  }
}
