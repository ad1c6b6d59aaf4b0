/**
 * Messages between the pool (workers/pool.ts) and each worker (workers/candidate_worker.ts).
 * Everything here is structured-clone safe: trees are plain arrays, results plain objects.
 */
import type { Tree } from "../core/expr/tree.ts";
import type { DatasetRef, SplitSettings } from "../core/prepare.ts";
import type { EvaluatorConfig, TimedScreen, TuneResult } from "../core/runner.ts";
import type { BackendChoice, BackendName } from "../core/tensor/backend.ts";

/** First message to a worker: enough to rebuild the evaluator, never the data itself. */
export interface InitMessage {
  type: "init";
  backend: BackendChoice;
  dataset: DatasetRef;
  split: SplitSettings;
  config: EvaluatorConfig;
}

export type InitReply =
  | { type: "ready"; backend: BackendName; adapter?: string; initMs: number }
  | { type: "init-error"; error: string };

export type CandidateRequest =
  | { kind: "screen"; tree: Tree }
  | { kind: "tune"; tree: Tree; phiSeed: number };

export type RequestMessage = CandidateRequest & { type: "request"; id: number };

export type ResultPayload = TimedScreen | TuneResult;

export type ResponseMessage =
  | { type: "response"; id: number; ok: true; result: ResultPayload }
  | { type: "response"; id: number; ok: false; error: string };

export type ToWorker = InitMessage | RequestMessage;
export type FromWorker = InitReply | ResponseMessage;

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
