/**
 * How many GPU dispatches tfjs-backend-webgpu issues for one candidate's meta-step and one SGD
 * step of its fitness training (the MLP of bench/README.md, the stand-in loss), counted at the
 * WebGPU API: the figure the fused engine's dispatches per candidate are compared with.
 * Switches tfjs to WebGPU for the count; the caller starts its own backend afterwards.
 */
import { tf } from "../engine/tensor/tf.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import {
  B,
  C,
  CANDIDATE_SETTINGS,
  LEARNED_PHI,
  LEARNED_TREE,
  randomRows,
  SPEC,
  TRAIN_ROWS,
} from "./workloads.ts";

export async function tfjsDispatches(): Promise<{ metaStep: number; fitnessStep: number }> {
  if (!(await tf.setBackend("webgpu"))) throw new Error("tfjs-backend-webgpu did not start");
  await tf.ready();
  const proto = GPUComputePassEncoder.prototype;
  const original = proto.dispatchWorkgroups;
  let count = 0;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args) {
    count++;
    return original.apply(this, args);
  };
  const ev = new CandidateEvaluator(
    {
      task: "classification",
      nClasses: C,
      train: randomRows(TRAIN_ROWS, 1),
      validation: randomRows(B, 3),
    },
    SPEC,
    CANDIDATE_SETTINGS,
    0,
  );
  const loss = compileLoss(LEARNED_TREE, "classification");
  /** Dispatches of `fn(n + 1)` less those of `fn(n)`: one more step, whatever is fixed. */
  const perStep = async (fn: (steps: number) => Promise<unknown>) => {
    await fn(2); // compiles every shader
    count = 0;
    await fn(1);
    const one = count;
    count = 0;
    await fn(2);
    return count - one;
  };
  try {
    return {
      metaStep: await perStep((n) => ev.localSearchOf(loss, LEARNED_PHI, n)),
      fitnessStep: await perStep((n) => ev.fitnessOf(loss, LEARNED_PHI, n)),
    };
  } finally {
    proto.dispatchWorkgroups = original;
    ev.dispose();
  }
}
