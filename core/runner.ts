/**
 * Where candidates are evaluated, seen from the search: plain data in, plain data out. The
 * operations themselves are one table on the tensor side (engine/candidate_ops.ts), served by a
 * worker or called on this thread (engine/runner.ts); the search does not care which, because a
 * result depends only on the tree, the job's settings and its seed.
 */
import type { Tree } from "./expr/tree.ts";
import type { ModelSpec } from "./model_kinds.ts";
import type { EvaluationSettings } from "./settings.ts";
import type { DatasetRef, PreprocessingSettings, SplitSettings } from "./prepare.ts";
import type { CandidateOps } from "../engine/candidate_ops.ts";
import type { EngineChoice } from "./backends.ts";

/** Everything a worker needs to rebuild a job's evaluator: small plain data. */
export interface EvaluatorConfig {
  model: ModelSpec;
  evaluation: EvaluationSettings;
  seed: number;
}

/**
 * A job as a worker meets it: every request carries it, so a worker that has never seen the job,
 * or has evicted it, rebuilds its data and evaluator from the request alone; preparation is
 * deterministic, so every worker holds identical data.
 */
export interface JobContext {
  /** Unique per job: workers cache one prepared job per id. */
  id: string;
  dataset: DatasetRef;
  /** The user's own validation and test sets, in place of the internal split. */
  validation?: DatasetRef;
  test?: DatasetRef;
  split: SplitSettings;
  preprocessing: PreprocessingSettings;
  config: EvaluatorConfig;
  /**
   * How the job's dense stacks run, once decided (workers/pool.ts adds it after the job's
   * calibration), so that every worker computes alike; absent: tfjs.
   */
  engine?: EngineChoice;
}

export interface ScreenResult {
  rejected: boolean;
  /** Why a candidate was rejected. */
  reason?: string;
  /** Task metric of the untrained predictions, and after optimising them under the loss. */
  metricBefore: number;
  metricAfter: number;
  /** Rounded per-example gradient norms on the probe batch: equal signatures, same signal. */
  gradientSignature?: string;
}

export interface TimedScreen extends ScreenResult {
  screenMs: number;
}

export interface LocalSearchResult {
  phi: number[];
  /** Validation task loss at each meta-step, for convergence plots. */
  metaLosses: number[];
  /** Meta-steps actually taken (fewer when a hypergradient was not finite). */
  steps: number;
}

export interface FitnessResult {
  /** Task metric on the validation split, or Infinity when training diverged. */
  fitness: number;
  diverged: boolean;
  /** Task loss (cross-entropy or squared error) of the trained model on the same rows: the
   * continuous tie-breaker. Absent when training diverged. */
  taskLoss?: number;
  /** SGD steps trained, every fold's counted: the speed that estimates later trainings. */
  steps?: number;
}

/**
 * The runner could not run a request for reasons of its own (no worker left, workers lost again
 * and again by no fault of the request): never a candidate's failure. The search stops, failed
 * with this reason, instead of recording it against candidates.
 */
export class RunnerUnavailable extends Error {
  override name = "RunnerUnavailable";
}

/** Errors that stop a search rather than fail a candidate: a cancel, or no runner to run on. */
export function stopsSearch(e: unknown): boolean {
  const name = (e as Error)?.name;
  return name === "AbortError" || name === "RunnerUnavailable";
}

/** Fitness given to candidates that are rejected or whose training diverges: worse than any. */
export const WORST_FITNESS = Number.POSITIVE_INFINITY;

/** A candidate that passed the screen: its tree and the seed of its weights' initial noise. */
export interface CandidateItem {
  tree: Tree;
  phiSeed: number;
}

/** What local search and fitness made of one candidate; a failure says why. */
export type CandidateOutcome =
  | {
    ok: true;
    local: LocalSearchResult;
    fitness: FitnessResult;
    /** The scale the tuned loss was multiplied by (`normalizeScale`), when it was. */
    scale?: number;
    /** Wall time of each stage; a stack's is shared out equally among its candidates. */
    localSearchMs: number;
    fitnessMs: number;
  }
  | { ok: false; error: string };

/** A fitness training at a given length (a promotion to a longer rung), or why it failed. */
export type TimedFitness =
  | { ok: true; fitness: FitnessResult; fitnessMs: number }
  | { ok: false; error: string };

/** Every operation of a table, answering asynchronously. */
// deno-lint-ignore no-explicit-any
export type Async<O extends Record<string, (...args: any[]) => unknown>> = {
  [K in keyof O]: (...args: Parameters<O[K]>) => Promise<Awaited<ReturnType<O[K]>>>;
};

/** What the search asks of a runner: the candidate operations it uses, wherever they run. */
export type CandidateRunner =
  & Pick<Async<CandidateOps>, "screen" | "localSearchAndFitness" | "fitnessAt" | "calibrate">
  & {
    /** How many requests it runs at once. */
    readonly parallelism: number;
    close(): Promise<void>;
  };
