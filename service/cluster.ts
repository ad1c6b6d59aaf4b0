/**
 * A job's runner on the shared evaluation queue: each request (the job's context, the operation,
 * its arguments) becomes a queued row that any node's worker pool runs (service/executor.ts),
 * and the answer comes back here. A request is named by its operation and arguments, so the
 * search's next owner after a crash meets the requests the dead owner made: their answers, or
 * their leases, which expire and go to another node.
 */
import type { CandidateOps } from "../engine/candidate_ops.ts";
import { remote } from "../workers/protocol.ts";
import { RunnerUnavailable } from "../core/runner.ts";
import type { JobRunner, WorkerPool } from "../workers/pool.ts";
import type { EvaluationQueue } from "../store/mod.ts";
import { encodeData } from "../store/codec.ts";
import { sha256Hex } from "../store/ids.ts";
import type { EvaluatorJob, Evaluators } from "./evaluators.ts";

function cancelled(jobId: string): Error {
  const e = new Error(`job ${jobId} was stopped`);
  e.name = "AbortError";
  return e;
}

export class QueueEvaluators implements Evaluators {
  constructor(private readonly queue: EvaluationQueue, private readonly pool: WorkerPool) {}

  get backend() {
    return this.pool.backend;
  }

  get adapter() {
    return this.pool.adapter;
  }

  get tfjsVersion() {
    return this.pool.tfjsVersion;
  }

  /** This node's worker count: a search cuts its stacks alike whichever node owns it. */
  get parallelism() {
    return this.pool.parallelism;
  }

  forJob({ context, datasetIds }: EvaluatorJob, onFailure?: (error: Error) => void): JobRunner {
    const jobId = context.id;
    const stop = new AbortController();
    let failure: Error | undefined;
    const send = async (op: string, args: unknown[]): Promise<unknown> => {
      if (failure) throw failure;
      if (stop.signal.aborted) throw cancelled(jobId);
      const key = `${op}:${await sha256Hex(JSON.stringify(encodeData(args)))}`;
      let answer;
      try {
        answer = await this.queue.request(
          { jobId, datasetIds, key, context, op, args },
          stop.signal,
        );
      } catch (e) {
        if (stop.signal.aborted) throw cancelled(jobId);
        throw e;
      }
      if (answer.ok) return answer.result;
      // The nodes' doing, not the candidate's: the search stops instead of failing it.
      if (answer.unavailable) throw new RunnerUnavailable(answer.error);
      if (answer.contextFailed) {
        if (!failure) {
          failure = new Error(answer.error);
          onFailure?.(failure);
        }
        throw failure;
      }
      throw new Error(answer.error);
    };
    return remote<CandidateOps, Omit<JobRunner, keyof CandidateOps>>(send, {
      contextId: jobId,
      parallelism: this.parallelism,
      get failure() {
        return failure;
      },
      // Only this node stops waiting: the requests stay, for whoever owns the job next.
      close: () => {
        stop.abort();
        return Promise.resolve();
      },
    });
  }

  cancel(jobId: string): Promise<void> {
    return this.queue.cancel(jobId);
  }

  forget(jobId: string): Promise<void> {
    return this.queue.forget(jobId);
  }
}
