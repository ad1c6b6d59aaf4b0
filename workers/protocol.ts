/**
 * Messages between the pool (workers/pool.ts) and each worker (workers/candidate_worker.ts).
 * Everything here is structured-clone safe: trees are plain arrays, results plain objects.
 */
import type { Tree } from "../core/expr/tree.ts";
import type { DatasetRef, SplitSettings } from "../core/prepare.ts";
import type {
  EvaluatorConfig,
  FitnessCalibration,
  FitnessItem,
  LocalSearchItem,
  TimedFitness,
  TimedLocalSearch,
  TimedScreen,
  TuneResult,
} from "../engine/runner.ts";
import type { FinalSeedRuns, FinalSettings } from "../core/final.ts";
import type { DataSummary } from "../core/result.ts";
import type { BackendChoice, BackendName } from "../core/backends.ts";

/**
 * What a worker needs to evaluate candidates of one job: small plain data (never the data set
 * itself). Every request carries it, so a worker that has never seen the job, or has evicted it,
 * rebuilds the evaluator from the request alone; preparation is deterministic, so every worker
 * holds identical data.
 */
export interface JobContext {
  /** Unique per job: workers cache one evaluator per id. */
  id: string;
  dataset: DatasetRef;
  split: SplitSettings;
  config: EvaluatorConfig;
}

/** First message to a worker: choose and start the tensor backend. */
export interface InitMessage {
  type: "init";
  backend: BackendChoice;
  /** Evaluators a worker keeps at once; the least recently used is disposed beyond that. */
  maxContexts: number;
}

export type InitReply =
  | { type: "ready"; backend: BackendName; adapter?: string; tfjs: string; initMs: number }
  | { type: "init-error"; error: string };

export type CandidateRequest =
  | { kind: "describe" }
  | { kind: "screen"; tree: Tree }
  | { kind: "tune"; tree: Tree; phiSeed: number }
  /** Local search of a batch of candidates, stacked where the model allows. */
  | { kind: "local-search"; items: LocalSearchItem[] }
  /** Fitness of a batch of candidates, trained together where the model allows. */
  | { kind: "fitness"; items: FitnessItem[] }
  /** Batched against one-at-a-time fitness, measured once per job context on the worker. */
  | { kind: "calibrate" }
  | { kind: "final"; tree: Tree; phi: number[]; settings: FinalSettings; seed: number };

export type RequestKind = CandidateRequest["kind"];

export type RequestMessage = CandidateRequest & {
  type: "request";
  id: number;
  context: JobContext;
};

/** The job is over: drop its evaluator now rather than when it is evicted. */
export interface ReleaseMessage {
  type: "release";
  contextId: string;
}

export type ResultPayload =
  | DataSummary
  | TimedScreen
  | TuneResult
  | TimedLocalSearch[]
  | TimedFitness[]
  | FitnessCalibration
  | FinalSeedRuns;

export type ResponseMessage =
  | { type: "response"; id: number; ok: true; result: ResultPayload }
  | {
    type: "response";
    id: number;
    ok: false;
    error: string;
    /** The job's data could not be loaded or prepared: retrying cannot help, the job is lost. */
    contextFailed?: boolean;
  };

export type ToWorker = InitMessage | RequestMessage | ReleaseMessage;
export type FromWorker = InitReply | ResponseMessage;

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
