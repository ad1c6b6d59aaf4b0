/**
 * The candidate operations on this thread's backend, for the CLI's `--workers 0`, the
 * reproduction's units and tests: the same table a worker serves (engine/candidate_ops.ts),
 * called one request at a time, since interleaved tensor work would share one backend.
 */
import type { Async, CandidateRunner, EvaluatorConfig } from "../core/runner.ts";
import type { PreparedData } from "../core/prepare.ts";
import { CandidateEvaluator } from "./evaluator.ts";
import { type CandidateOps, candidateOps } from "./candidate_ops.ts";

export class InProcessRunner implements CandidateRunner {
  readonly parallelism = 1;
  readonly #evaluator: CandidateEvaluator;
  readonly #ops: CandidateOps;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(data: PreparedData, config: EvaluatorConfig) {
    this.#evaluator = new CandidateEvaluator(data, config.model, config.evaluation, config.seed);
    this.#ops = candidateOps({ data, evaluator: this.#evaluator });
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
    this.#evaluator.dispose();
    return Promise.resolve();
  }
}
