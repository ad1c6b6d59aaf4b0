/**
 * How many GPU dispatches tfjs-backend-webgpu issues for one candidate's meta-step and one SGD
 * step of its fitness training (the MLP of bench/README.md, the stand-in loss), counted at the
 * WebGPU API: the figure the fused engine's dispatches per candidate are compared with.
 * Switches tfjs to WebGPU for the count; the caller starts its own backend afterwards.
 */
import { tf } from "../engine/tensor/tf.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { evaluator, LEARNED_PHI, LEARNED_TREE, type Repetition } from "./workloads.ts";

/** Counts the dispatches `fn` issues on tfjs-backend-webgpu; the counter is shared. */
async function counting<T>(fn: (count: () => number, reset: () => void) => Promise<T>): Promise<T> {
  if (!(await tf.setBackend("webgpu"))) throw new Error("tfjs-backend-webgpu did not start");
  await tf.ready();
  const proto = GPUComputePassEncoder.prototype;
  const original = proto.dispatchWorkgroups;
  let count = 0;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args) {
    count++;
    return original.apply(this, args);
  };
  try {
    return await fn(() => count, () => (count = 0));
  } finally {
    proto.dispatchWorkgroups = original;
  }
}

/**
 * Dispatches and wall time of one repetition of a tfjs workload on tfjs-backend-webgpu (after
 * warm-ups that compile its shaders): what LeNet-5's step costs there, against what the same
 * dispatches would cost prepared ahead (bench/fused.ts --lenet).
 */
export function tfjsWorkloadDispatches(
  make: () => Repetition,
): Promise<{ dispatches: number; ms: number }> {
  return counting(async (count, reset) => {
    const rep = make();
    try {
      for (let i = 0; i < 2; i++) await rep.run();
      reset();
      const t0 = performance.now();
      await rep.run();
      return { dispatches: count(), ms: performance.now() - t0 };
    } finally {
      rep.dispose();
    }
  });
}

export function tfjsDispatches(): Promise<{ metaStep: number; fitnessStep: number }> {
  return counting((count, reset) => perCandidate(count, reset));
}

async function perCandidate(count: () => number, reset: () => void) {
  const ev = evaluator();
  const loss = compileLoss(LEARNED_TREE, "classification");
  /** Dispatches of `fn(n + 1)` less those of `fn(n)`: one more step, whatever is fixed. */
  const perStep = async (fn: (steps: number) => Promise<unknown>) => {
    await fn(2); // compiles every shader
    reset();
    await fn(1);
    const one = count();
    reset();
    await fn(2);
    return count() - one;
  };
  try {
    return {
      metaStep: await perStep((n) => ev.localSearchOf(loss, LEARNED_PHI, n)),
      fitnessStep: await perStep((n) => ev.fitnessOf(loss, LEARNED_PHI, n)),
    };
  } finally {
    ev.dispose();
  }
}
