/**
 * How a generation's candidates are cut into stacks that engine/stacked.ts computes together,
 * given the `execution.candidateStack` setting and, for "auto", a calibration measured once per
 * search on its own model and data (engine/candidate_ops.ts). Free of tensor code: the search
 * decides on the service's main thread.
 */
import type { CandidateStack } from "./settings.ts";
import type { EngineChoice } from "./backends.ts";

/** Candidates the calibration trains stacked, and the SGD steps it times. */
export const CALIBRATION_K = 4;
export const CALIBRATION_STEPS = 25;
/**
 * Stacking is chosen only when it beats one at a time by this factor: a short measurement on a
 * busy machine moves by several percent, and a stack makes the generation wait for all its
 * local searches before any fitness starts.
 */
export const CALIBRATION_THRESHOLD = 1.2;
/** Most candidates "auto" stacks: the largest K measured (2.9x on an H100 at 16). */
export const AUTO_STACK = 16;
/**
 * SGD steps the fused engine is timed for in the calibration, after a one-step warm-up that
 * compiles its kernels, unless two steps already put it three times above or below tfjs; its
 * time is scaled to CALIBRATION_STEPS. Fewer than tfjs's: on the software adapter a step of the
 * MNIST MLP takes about 0.1 s per candidate, and the measurement is per job.
 */
export const FUSED_CALIBRATION_STEPS = 10;

/** The fused WebGPU engine against tfjs, measured once per job where the backend allows it. */
export interface EngineCalibration {
  /** How the job's dense stacks run. */
  choice: EngineChoice;
  /** Why: measured faster or slower, the backend's rule, or what the fused engine refuses. */
  reason: string;
  /** The adapter the fused engine ran on. */
  adapter?: string;
  /** The K candidates' CALIBRATION_STEPS steps on the fused engine (scaled from the steps
   * timed), and tfjs's faster way of the two above; absent when not measured. */
  fusedMs?: number;
  tfjsMs?: number;
}

/** Stacked against one-at-a-time fitness training, measured once per search. */
export interface StackCalibration {
  /** Candidates trained each way, and SGD steps each. */
  k: number;
  steps: number;
  /** Wall time of the K candidates one after another, and of the K stacked (best of rounds). */
  oneAtATimeMs: number;
  stackedMs: number;
  /** oneAtATimeMs / stackedMs. */
  speedup: number;
  /** Whether the search stacks: speedup >= CALIBRATION_THRESHOLD. */
  stack: boolean;
  /** The backend that was measured. */
  backend: string;
  /** The fused engine against tfjs (absent in results from before it existed). */
  engine?: EngineCalibration;
}

/** How one generation's candidates ran; what they computed is the same either way. */
export interface StackStats {
  setting: CandidateStack;
  /** Most candidates computed together in this generation (1: one at a time). */
  largest: number;
  /** Requests of more than one candidate. */
  stacks: number;
  /** With "auto": the measurement the decision rests on. */
  calibration?: StackCalibration;
  /** Why stacking was off where the setting asked for it. */
  note?: string;
}

/**
 * Items in order, in stacks of at most `k` and at most ceil(n / workers), so that every worker
 * gets a share of the generation. Stacks are cut in order, never by timing: on wasm and WebGPU a
 * stack's rounding depends on its width, and a search must not depend on scheduling.
 */
export function cutStacks<T>(items: T[], k: number, workers: number): T[][] {
  const size = stackSize(items.length, k, workers);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The candidates per stack for `n` ready ones: 1 means one at a time. */
export function stackSize(n: number, k: number, workers: number): number {
  return Math.max(1, Math.min(k, Math.ceil(n / Math.max(1, workers))));
}

/**
 * A generation's stacking as a result from before it had its name recorded it (`candidateBatch`,
 * with `batches` and a calibration's `batchedMs` and `batch`), in today's shape.
 */
export function stackingOf(g: { stacking?: StackStats; candidateBatch?: unknown }):
  | StackStats
  | undefined {
  if (g.stacking) return g.stacking;
  const old = g.candidateBatch as
    | (Omit<StackStats, "stacks" | "calibration"> & {
      batches: number;
      calibration?: Omit<StackCalibration, "stackedMs" | "stack"> & {
        batchedMs: number;
        batch: boolean;
      };
    })
    | undefined;
  if (!old) return undefined;
  const { batches, calibration, ...rest } = old;
  return {
    ...rest,
    stacks: batches,
    ...(calibration
      ? {
        calibration: (({ batchedMs, batch, ...c }) => ({
          ...c,
          stackedMs: batchedMs,
          stack: batch,
        }))(calibration),
      }
      : {}),
  };
}

/** One line on how a search's candidates ran, for summaries; undefined when none recorded. */
export function describeStacking(
  history: { stacking?: StackStats; candidateBatch?: unknown }[],
): string | undefined {
  const stats = history.flatMap((g) => stackingOf(g) ?? []);
  if (stats.length === 0) return undefined;
  const stacks = stats.reduce((n, s) => n + s.stacks, 0);
  const largest = Math.max(...stats.map((s) => s.largest));
  const how = stacks > 0
    ? `${stacks} stack${stacks === 1 ? "" : "s"} of up to ${largest} candidates`
    : "one candidate at a time";
  const last = stats[stats.length - 1];
  const c = stats.find((s) => s.calibration)?.calibration;
  const why = [`setting ${last.setting}`];
  if (c?.engine?.choice === "fused") why.push(`fused WebGPU engine: ${c.engine.reason}`);
  else if (c) {
    why.push(
      `${c.k} candidates stacked ran ${c.speedup.toFixed(2)}x as fast on ${c.backend}` +
        (c.stack ? "" : `, below ${CALIBRATION_THRESHOLD}x`),
    );
    if (c.engine) why.push(`tfjs, not the fused engine: ${c.engine.reason}`);
  }
  const note = stats.find((s) => s.note)?.note;
  if (note) why.push(note);
  return `Local search and fitness: ${how} (${why.join("; ")})`;
}
