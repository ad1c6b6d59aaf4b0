/**
 * Every setting of the method, with the defaults of the authors' implementation
 * (../shared/docs/method.md). A search's configuration is these settings plus data, model,
 * budget and seed; nothing else changes what a search computes.
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
