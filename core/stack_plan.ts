/**
 * How a generation's local searches and fitness trainings are split into batches that
 * engine/stacked.ts runs together, given the `candidateBatch` setting and, for "auto", a calibration
 * measured on the job's own model and data (engine/stacking.ts). Free of tensor code: the
 * search decides on the service's main thread.
 */
import type { CandidateStack } from "./settings.ts";

/** Candidates the calibration trains together, and the SGD steps it times. */
export const CALIBRATION_K = 4;
export const CALIBRATION_STEPS = 25;
/**
 * Batching is chosen only when it beats one at a time by this factor: a short measurement on a
 * busy machine moves by several percent, and a batch makes the generation wait for all its
 * local searches before any fitness starts.
 */
export const CALIBRATION_THRESHOLD = 1.2;
/** Most candidates "auto" trains together: the largest K measured (2.9x on an H100 at 16). */
export const AUTO_CANDIDATE_BATCH = 16;

/** Batched against one-at-a-time fitness training, measured once per job. */
export interface FitnessCalibration {
  /** Candidates trained each way, and SGD steps each. */
  k: number;
  steps: number;
  /** Wall time of the K candidates one after another, and of the K together (best of rounds). */
  oneAtATimeMs: number;
  batchedMs: number;
  /** oneAtATimeMs / batchedMs. */
  speedup: number;
  /** Whether the search batches: speedup >= CALIBRATION_THRESHOLD. */
  batch: boolean;
  /** The backend that was measured. */
  backend: string;
}

/** How one generation's candidates ran; what they computed is the same either way. */
export interface CandidateBatchStats {
  setting: CandidateStack;
  /** Most candidates trained together in this generation (1: one at a time). */
  largest: number;
  /** Fitness requests of more than one candidate. */
  batches: number;
  /** With "auto": the measurement the decision rests on. */
  calibration?: FitnessCalibration;
  /** Why batching was off where the setting asked for it. */
  note?: string;
}

/**
 * Items in order, in chunks of at most `k` and at most ceil(n / workers), so that every worker
 * gets a share of the generation. Chunks are cut in order, never by timing: on wasm and WebGPU a
 * batch's rounding depends on its width, and a search must not depend on scheduling.
 */
export function candidateChunks<T>(items: T[], k: number, workers: number): T[][] {
  const size = chunkSize(items.length, k, workers);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The candidates per chunk for `n` ready ones: 1 means one at a time. */
export function chunkSize(n: number, k: number, workers: number): number {
  return Math.max(1, Math.min(k, Math.ceil(n / Math.max(1, workers))));
}

/** One line on how a search's candidates ran, for summaries; undefined when none recorded. */
export function describeCandidateBatching(
  history: { candidateBatch?: CandidateBatchStats }[],
): string | undefined {
  const stats = history.flatMap((g) => (g.candidateBatch ? [g.candidateBatch] : []));
  if (stats.length === 0) return undefined;
  const batches = stats.reduce((n, s) => n + s.batches, 0);
  const largest = Math.max(...stats.map((s) => s.largest));
  const how = batches > 0
    ? `${batches} batch${batches === 1 ? "" : "es"} of up to ${largest} candidates`
    : "one candidate at a time";
  const last = stats[stats.length - 1];
  const c = stats.find((s) => s.calibration)?.calibration;
  const why = [`setting ${last.setting}`];
  if (c) {
    why.push(
      `${c.k} candidates together ran ${c.speedup.toFixed(2)}x as fast on ${c.backend}` +
        (c.batch ? "" : `, below ${CALIBRATION_THRESHOLD}x`),
    );
  }
  const note = stats.find((s) => s.note)?.note;
  if (note) why.push(note);
  return `Local search and fitness: ${how} (${why.join("; ")})`;
}
