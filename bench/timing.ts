/** Timing of one workload, shared by run.ts and experiments.ts. */
import { tf } from "../engine/tensor/tf.ts";
import type { WorkloadInfo } from "./workloads.ts";

export interface Timing {
  /** Mean over the repetitions, the figure reported. */
  ms: number;
  minMs: number;
  medianMs: number;
  repeats: number;
  /** Tensors left behind per repetition (should be 0). */
  leaked: number;
}

/** Slow workloads get max(1, repeats / 10) repetitions, as in the PyTorch reference. */
export function repeatsFor(info: WorkloadInfo, repeats: number): number {
  return info.slow ? Math.max(1, Math.floor(repeats / 10)) : repeats;
}

/** Warm-up, then each repetition timed on its own. */
export async function timeWorkload(info: WorkloadInfo, n: number): Promise<Timing> {
  if (!info.make) throw new Error("workload not implemented");
  const rep = info.make();
  try {
    // The reference warms up once; fast workloads get a few more runs here for V8's JIT.
    for (let i = 0; i < (info.slow ? 1 : 3); i++) await rep.run();
    const before = tf.memory().numTensors;
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await rep.run();
      times.push(performance.now() - t0);
    }
    const leaked = (tf.memory().numTensors - before) / n;
    const sorted = [...times].sort((a, b) => a - b);
    return {
      ms: times.reduce((a, b) => a + b, 0) / n,
      minMs: sorted[0],
      medianMs: sorted[Math.floor(n / 2)],
      repeats: n,
      leaked,
    };
  } finally {
    rep.dispose();
  }
}
