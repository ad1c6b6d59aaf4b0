/**
 * Local search and fitness of several candidates on one thread's backend: together where the
 * model has a stacked forward pass (engine/stacked.ts), one after another otherwise; and the
 * calibration that tells whether training together is faster here, on the job's own model and
 * data.
 */
import { supportsBatching } from "./stacked.ts";
import type { CandidateEvaluator, FitnessResult, LocalSearchResult } from "./evaluator.ts";
import type { Tree } from "../core/expr/tree.ts";
import { tf } from "./tensor/tf.ts";
import {
  CALIBRATION_K,
  CALIBRATION_STEPS,
  CALIBRATION_THRESHOLD,
  type FitnessCalibration,
} from "../core/stack_plan.ts";

export interface FitnessItem {
  tree: Tree;
  phi: number[];
}

export interface LocalSearchItem {
  tree: Tree;
  phiSeed: number;
}

export interface TimedLocalSearch {
  local: LocalSearchResult;
  /** Wall time; a batch's is shared out equally among its candidates. */
  localSearchMs: number;
}

/**
 * Each item's result: all of them from one stacked computation when there are several and the
 * model allows, else one after another. Wall time is measured per call and a batch's is shared
 * out equally among its items.
 */
async function ofItems<I, R>(
  ev: CandidateEvaluator,
  items: I[],
  together: (items: I[]) => Promise<R[]>,
  alone: (item: I) => Promise<R>,
): Promise<{ result: R; ms: number }[]> {
  if (items.length > 1 && supportsBatching(ev.spec)) {
    const t0 = performance.now();
    const results = await together(items);
    const each = (performance.now() - t0) / items.length;
    return results.map((result) => ({ result, ms: each }));
  }
  const out: { result: R; ms: number }[] = [];
  for (const item of items) {
    const t0 = performance.now();
    const result = await alone(item);
    out.push({ result, ms: performance.now() - t0 });
  }
  return out;
}

/** `CandidateEvaluator.localSearch` of each item, stacked when the model allows. */
export async function localSearchOfItems(
  ev: CandidateEvaluator,
  items: LocalSearchItem[],
): Promise<TimedLocalSearch[]> {
  const timed = await ofItems(
    ev,
    items,
    (all) => ev.localSearchBatched(all.map((i) => i.tree), all.map((i) => i.phiSeed)),
    ({ tree, phiSeed }) => ev.localSearch(tree, phiSeed),
  );
  return timed.map(({ result, ms }) => ({ local: result, localSearchMs: ms }));
}

export interface TimedFitness {
  fitness: FitnessResult;
  /** Wall time; a batch's is shared out equally among its candidates. */
  fitnessMs: number;
}

/** `CandidateEvaluator.fitness` of each item, in one stacked computation when the model allows. */
export async function fitnessOfItems(
  ev: CandidateEvaluator,
  items: FitnessItem[],
): Promise<TimedFitness[]> {
  const timed = await ofItems(
    ev,
    items,
    (all) => ev.fitnessBatched(all.map((i) => i.tree), all.map((i) => i.phi)),
    ({ tree, phi }) => ev.fitness(tree, phi),
  );
  return timed.map(({ result, ms }) => ({ fitness: result, fitnessMs: ms }));
}

/** Squared error: trains on both tasks without diverging, so both ways do the full work. */
const CALIBRATION_TREE: Tree = ["square", "sub", "fx", "y"];
/** Steps of the warm-up: enough to compile every kernel and shader both ways use. */
const WARM_UP_STEPS = 2;
/** The best of two rounds, alternating the ways, so that a moment's load elsewhere counts less. */
const ROUNDS = 2;

export interface CalibrationOptions {
  k?: number;
  steps?: number;
}

/**
 * Times `k` candidates' fitness training (`steps` SGD steps and the validation metric), one at a
 * time and together, on the evaluator's model, data and initialisation, after a warm-up of each.
 */
export async function calibrateFitnessBatching(
  ev: CandidateEvaluator,
  { k = CALIBRATION_K, steps = CALIBRATION_STEPS }: CalibrationOptions = {},
): Promise<FitnessCalibration> {
  if (!supportsBatching(ev.spec)) {
    throw new Error(`fitness batching calibration: ${ev.spec.kind} models are never batched`);
  }
  const trees = Array.from({ length: k }, () => CALIBRATION_TREE);
  const phis = trees.map((t) => t.map(() => 1));
  const oneAtATime = async (n: number) => {
    for (let i = 0; i < k; i++) await ev.fitness(trees[i], phis[i], n);
  };
  const together = (n: number) => ev.fitnessBatched(trees, phis, n);
  const time = async (fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  await oneAtATime(WARM_UP_STEPS);
  await together(WARM_UP_STEPS);
  let oneAtATimeMs = Infinity, batchedMs = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    oneAtATimeMs = Math.min(oneAtATimeMs, await time(() => oneAtATime(steps)));
    batchedMs = Math.min(batchedMs, await time(() => together(steps)));
  }
  const speedup = oneAtATimeMs / batchedMs;
  return {
    k,
    steps,
    oneAtATimeMs,
    batchedMs,
    speedup,
    batch: speedup >= CALIBRATION_THRESHOLD,
    backend: tf.getBackend(),
  };
}
