/**
 * The candidate operations on this thread's backend, for the CLI's `--workers 0`, the
 * reproduction's units and tests: the same table a worker serves (engine/candidate_ops.ts),
 * called one request at a time, since interleaved tensor work would share one backend.
 */
import type { Async, CandidateRunner, EvaluatorConfig } from "../core/runner.ts";
import type { PreparedData } from "../core/prepare.ts";
import type { BackendChoice } from "../core/backends.ts";
import { CandidateEvaluator } from "./evaluator.ts";
import { type CandidateOps, candidateOps, disposeJob, type PreparedJob } from "./candidate_ops.ts";
import { tf } from "./tensor/tf.ts";

export class InProcessRunner implements CandidateRunner {
  readonly parallelism = 1;
  readonly #job: PreparedJob;
  readonly #ops: CandidateOps;
  #queue: Promise<unknown> = Promise.resolve();

  /** `backend`: what this thread was started with (default: tfjs's backend, so no fused engine
   * unless that is webgpu); with `auto` the job calibrates the fused engine itself. */
  constructor(data: PreparedData, config: EvaluatorConfig, backend?: BackendChoice) {
    const evaluator = new CandidateEvaluator(data, config.model, config.evaluation, config.seed);
    this.#job = {
      data,
      evaluator,
      backend: backend ?? (tf.getBackend() as BackendChoice),
      decidesAlone: true,
    };
    this.#ops = candidateOps(this.#job);
  }

  #serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  readonly screen: Async<CandidateOps>["screen"] = (tree) =>
    this.#serial(() => this.#ops.screen(tree));

  readonly localSearchAndFitness: Async<CandidateOps>["localSearchAndFitness"] = (items) =>
    this.#serial(() => this.#ops.localSearchAndFitness(items));

  readonly fitnessAt: Async<CandidateOps>["fitnessAt"] = (losses, steps) =>
    this.#serial(() => this.#ops.fitnessAt(losses, steps));

  readonly calibrate: Async<CandidateOps>["calibrate"] = () =>
    this.#serial(() => this.#ops.calibrate());

  readonly finalRuns: Async<CandidateOps>["finalRuns"] = (tree, phi, settings, run) =>
    this.#serial(() => this.#ops.finalRuns(tree, phi, settings, run));

  close(): Promise<void> {
    return disposeJob(this.#job);
  }
}
