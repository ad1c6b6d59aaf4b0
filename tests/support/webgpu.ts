/** One fused kernel run once on given buffers, for tests of the WGSL the engine generates. */
import { KernelCache, readBack, STEP_WORDS, storage } from "../../engine/webgpu/device.ts";
import type { KernelSpec } from "../../engine/webgpu/device.ts";

/**
 * Runs `spec` once over `grid` with its storage bindings filled from `inputs` (in binding order),
 * then one output buffer of `outputFloats` floats, and returns that output.
 */
export async function dispatchOnce(
  device: GPUDevice,
  spec: KernelSpec,
  grid: [number, number, number],
  inputs: Float32Array[],
  outputFloats: number,
): Promise<Float32Array> {
  const cache = new KernelCache(device);
  const { pipeline, layout } = cache.pipeline(spec);
  const out = storage(device, outputFloats);
  const buffers = [...inputs.map((data) => storage(device, data.length, data)), out];
  const group = device.createBindGroup({
    layout,
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const step = device.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM });
  const steps = device.createBindGroup({
    layout: cache.stepLayout,
    entries: [{ binding: 0, resource: { buffer: step, size: STEP_WORDS * 4 } }],
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setBindGroup(0, steps, [0]);
  pass.setPipeline(pipeline);
  pass.setBindGroup(1, group);
  pass.dispatchWorkgroups(...grid);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const [values] = await readBack(device, [{ buffer: out, floats: outputFloats }]);
  for (const b of [...buffers, step]) b.destroy();
  return values;
}
