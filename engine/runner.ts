/**
 * Where candidates are evaluated. The search asks a runner for a screen and a tuning per
 * candidate (or, when candidates are batched, local search and fitness per batch) and does not
 * care whether they run here (InProcessRunner) or in a pool of workers (workers/pool.ts): results
 * depend only on the tree, the configuration and the seed.
 */
import {
  CandidateEvaluator,
  type FitnessResult,
  type LocalSearchResult,
  type ScreenResult,
} from "./evaluator.ts";
import type { Tree } from "../core/expr/tree.ts";
import type { ModelSpec } from "./models.ts";
import type { PreparedData } from "../core/prepare.ts";
import type { EvaluationSettings } from "../core/settings.ts";
import {
  calibrateFitnessBatching,
  type FitnessItem,
  fitnessOfItems,
  type LocalSearchItem,
  localSearchOfItems,
  type TimedFitness,
  type TimedLocalSearch,
} from "./stacking.ts";
import type { FitnessCalibration } from "../core/stack_plan.ts";

export type { FitnessItem, LocalSearchItem, TimedFitness, TimedLocalSearch } from "./stacking.ts";
export type { FitnessCalibration } from "../core/stack_plan.ts";

export interface TuneResult {
  local: LocalSearchResult;
  fitness: FitnessResult;
  /** Wall time of each stage, milliseconds. */
  localSearchMs: number;
  fitnessMs: number;
}

export interface TimedScreen extends ScreenResult {
  screenMs: number;
}

export interface CandidateRunner {
  /** Rejection screen and gradient signature. */
  screen(tree: Tree): Promise<TimedScreen>;
  /** Local search of phi, then fitness with the tuned phi. */
  tune(tree: Tree, phiSeed: number): Promise<TuneResult>;
  /** Local search of each (tree, phi seed), stacked where the model allows: the same results. */
  localSearch(items: LocalSearchItem[]): Promise<TimedLocalSearch[]>;
  /** Fitness of each (tree, phi), trained together where the model allows: the same results. */
  fitness(items: FitnessItem[]): Promise<TimedFitness[]>;
  /**
   * Batched against one-at-a-time fitness on this job's model and data (MLP and linear only),
   * measured at the first call; later calls return that measurement.
   */
  calibrateFitness(): Promise<FitnessCalibration>;
  /** How many candidates it evaluates at once. */
  readonly parallelism: number;
  close(): Promise<void>;
}

/** Everything a runner needs to rebuild the evaluator: plain data, safe to post to a worker. */
export interface EvaluatorConfig {
  model: ModelSpec;
  evaluation: EvaluationSettings;
  seed: number;
}

export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

export async function screenCandidate(ev: CandidateEvaluator, tree: Tree): Promise<TimedScreen> {
  const [result, screenMs] = await timed(() => ev.screen(tree));
  return { ...result, screenMs };
}

export async function tuneCandidate(
  ev: CandidateEvaluator,
  tree: Tree,
  phiSeed: number,
): Promise<TuneResult> {
  const [local, localSearchMs] = await timed(() => ev.localSearch(tree, phiSeed));
  const [fitness, fitnessMs] = await timed(() => ev.fitness(tree, local.phi));
  return { local, fitness, localSearchMs, fitnessMs };
}

/** Evaluates one candidate at a time on this thread's backend. */
export class InProcessRunner implements CandidateRunner {
  readonly parallelism = 1;
  readonly #evaluator: CandidateEvaluator;
  /** Requests run one after another: interleaved async tensor work would share one backend. */
  #queue: Promise<unknown> = Promise.resolve();
  #calibration?: Promise<FitnessCalibration>;

  constructor(data: PreparedData, config: EvaluatorConfig) {
    this.#evaluator = new CandidateEvaluator(data, config.model, config.evaluation, config.seed);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  screen(tree: Tree): Promise<TimedScreen> {
    return this.#serial(() => screenCandidate(this.#evaluator, tree));
  }

  tune(tree: Tree, phiSeed: number): Promise<TuneResult> {
    return this.#serial(() => tuneCandidate(this.#evaluator, tree, phiSeed));
  }

  localSearch(items: LocalSearchItem[]): Promise<TimedLocalSearch[]> {
    return this.#serial(() => localSearchOfItems(this.#evaluator, items));
  }

  fitness(items: FitnessItem[]): Promise<TimedFitness[]> {
    return this.#serial(() => fitnessOfItems(this.#evaluator, items));
  }

  calibrateFitness(): Promise<FitnessCalibration> {
    return this.#calibration ??= this.#serial(() => calibrateFitnessBatching(this.#evaluator));
  }

  close(): Promise<void> {
    this.#evaluator.dispose();
    return Promise.resolve();
  }
}
