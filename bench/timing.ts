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

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summary(times: number[], leaked: number): Timing {
  return {
    ms: times.reduce((a, b) => a + b, 0) / times.length,
    minMs: Math.min(...times),
    medianMs: median(times),
    repeats: times.length,
    leaked,
  };
}

/** The reference's side of a paired repetition: one of its repetitions, in ms. */
export type ReferenceRun = () => Promise<number>;

export interface PairedTiming {
  ours: Timing;
  /** The reference's repetitions, and the median of the paired ratios ours / reference. */
  reference?: Timing;
  ratio?: number;
  /** The workload's own figures (the fused engine's dispatch counts). */
  figures?: Record<string, number | string>;
}

/**
 * Warm-up (the reference warms up in its own setup), then `n` pairs: one repetition of ours,
 * then one of the reference's, each timed on its own, so that a change in the machine's load
 * between them hits both sides of a pair alike. A workload of several steps reports per step.
 */
export async function timeInterleaved(
  info: WorkloadInfo,
  n: number,
  reference?: ReferenceRun,
): Promise<PairedTiming> {
  if (!info.make) throw new Error("workload not implemented");
  const rep = await info.make();
  const steps = rep.steps ?? 1;
  try {
    // The reference warms up once; fast workloads get a few more runs here for V8's compiler.
    for (let i = 0; i < (info.slow ? 1 : 3); i++) await rep.run();
    const before = tf.memory().numTensors;
    const ours: number[] = [], theirs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await rep.run();
      ours.push((performance.now() - t0) / steps);
      if (reference) theirs.push(await reference());
    }
    const leaked = (tf.memory().numTensors - before) / n;
    const figures = await rep.figures?.();
    return {
      ours: summary(ours, leaked),
      ...(reference
        ? {
          reference: summary(theirs, 0),
          ratio: median(ours.map((t, i) => t / theirs[i])),
        }
        : {}),
      ...(figures ? { figures } : {}),
    };
  } finally {
    rep.dispose();
  }
}

/** Warm-up, then each repetition timed on its own (no reference). */
export async function timeWorkload(info: WorkloadInfo, n: number): Promise<Timing> {
  return (await timeInterleaved(info, n)).ours;
}
