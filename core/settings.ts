/**
 * Every setting of the method, with the defaults of the authors' implementation
 * (../shared/docs/method.md). A search's configuration is these settings plus data, model,
 * budget and seed; nothing else changes what a search computes. One setting here is not the
 * method's: `candidateBatch` only says how fast local search and fitness run.
 */
import type { InnerOptimizer, UnrollOptions } from "./train.ts";

export interface ScreenSettings {
  /** Run the rejection screen before local search. */
  enabled: boolean;
  /** Training examples whose predictions become free parameters. */
  examples: number;
  /** Adam steps on those predictions (1000 in the method; 100 were used for MNIST). */
  steps: number;
  lr: number;
}

export interface GradientEquivalenceSettings {
  enabled: boolean;
  /** Examples in the fixed probe batch. */
  probeSize: number;
  /** Per-example gradient norms are compared after rounding to this many decimals. */
  decimals: number;
}

export interface LocalSearchSettings {
  /** Off gives GP-LFL: the plain symbolic loss with every weight 1. */
  enabled: boolean;
  metaSteps: number;
  /** Differentiable inner SGD steps per meta-step (T). */
  unrollSteps: number;
  /** Adam learning rate on phi. */
  metaLr: number;
  /** Exact by default; truncated or first-order for large T (recorded in the result's config). */
  unroll: UnrollOptions;
}

export interface EvaluationSettings {
  screen: ScreenSettings;
  gradientEquivalence: GradientEquivalenceSettings;
  localSearch: LocalSearchSettings;
  /** The inner optimiser: unrolled steps, fitness training and final training all use it. */
  inner: InnerOptimizer;
  /** SGD steps of the partial training that measures fitness. */
  fitnessSteps: number;
  batchSize: number;
  /**
   * A speed setting, not a method one: how local search and fitness treat a generation's
   * candidates. "off" one at a time; K (>= 2) up to K together in one stacked computation
   * (core/batched.ts, MLP and linear models only); "auto" batches only where a calibration on the
   * job's own model and data (fitness training, as the proxy for both) measures it faster. On the cpu backend the results are bitwise the same either way;
   * on wasm and WebGPU a batched product may round differently in the last bits, so a run there
   * that must repeat bit for bit pins "off" or K rather than a measurement. Absent (a
   * configuration written before it existed) means "auto".
   */
  candidateBatch?: CandidateBatch;
}

export type CandidateBatch = "auto" | "off" | number;

/** The largest fixed K accepted: each candidate of a batch holds its own copy of the model. */
export const MAX_CANDIDATE_BATCH = 64;

/** The setting in force: "auto" where a configuration predates it. */
export function candidateBatchOf(
  settings: Pick<EvaluationSettings, "candidateBatch">,
): CandidateBatch {
  return settings.candidateBatch ?? "auto";
}

/** Parses `auto`, `off` or an integer K from 2 to MAX_CANDIDATE_BATCH; throws with what is wrong. */
export function parseCandidateBatch(text: string): CandidateBatch {
  if (text === "auto" || text === "off") return text;
  const k = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(k) || k < 2 || k > MAX_CANDIDATE_BATCH) {
    throw new Error(
      `must be auto, off or a whole number of candidates from 2 to ${MAX_CANDIDATE_BATCH}, got '${text}'`,
    );
  }
  return k;
}

/** method.md's general defaults (SGD with Nesterov momentum 0.9 and weight decay 5e-4). */
export const DEFAULT_EVALUATION: EvaluationSettings = {
  screen: { enabled: true, examples: 100, steps: 1000, lr: 0.01 },
  gradientEquivalence: { enabled: true, probeSize: 100, decimals: 2 },
  localSearch: {
    enabled: true,
    metaSteps: 250,
    unrollSteps: 1,
    metaLr: 0.001,
    unroll: { mode: "exact" },
  },
  inner: { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  fitnessSteps: 500,
  batchSize: 128,
  candidateBatch: "auto",
};

/** The published MNIST settings: plain SGD, and a 100-step rejection screen. */
export const MNIST_EVALUATION: EvaluationSettings = {
  ...DEFAULT_EVALUATION,
  screen: { ...DEFAULT_EVALUATION.screen, steps: 100 },
  inner: { lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 },
};

export function defaultEvaluationFor(datasetName: string): EvaluationSettings {
  return datasetName === "mnist" ? MNIST_EVALUATION : DEFAULT_EVALUATION;
}
