/**
 * Where a search's candidates are evaluated, as a Job sees it: a runner per job (core's
 * CandidateRunner plus describe and finalRuns). On one process (SQLite) that is the local worker
 * pool; on nodes sharing PostgreSQL it is the shared queue (service/cluster.ts), whose requests
 * any node's pool runs (service/executor.ts). The search is the same either way: its decisions
 * are taken in population order, whoever computed each candidate.
 */
import type { JobContext } from "../core/runner.ts";
import type { BackendName } from "../core/backends.ts";
import type { JobRunner, WorkerPool } from "../workers/pool.ts";

/** The stored datasets a job reads, by role: a node that lacks their files fetches them by id. */
export interface DatasetIds {
  dataset: string;
  /** The user's own validation and test sets, where the search names them. */
  validation?: string;
  test?: string;
}

export interface EvaluatorJob {
  context: JobContext;
  datasetIds: DatasetIds;
}

export interface Evaluators {
  readonly backend: BackendName;
  readonly adapter?: string;
  readonly tfjsVersion: string;
  /** How many requests run at once here: a search cuts its stacks by it. */
  readonly parallelism: number;
  /** `onFailure` is called once if the job's data cannot be prepared. */
  forJob(job: EvaluatorJob, onFailure?: (error: Error) => void): JobRunner;
  /** The job was cancelled or failed: work still queued or running for it anywhere is dropped. */
  cancel(jobId: string): Promise<void>;
  /** The job finished: what was kept of its requests can go. */
  forget(jobId: string): Promise<void>;
}

/** The local pool: closing a runner already drops its work, and nothing is kept. */
export function localEvaluators(pool: WorkerPool): Evaluators {
  return {
    get backend() {
      return pool.backend;
    },
    get adapter() {
      return pool.adapter;
    },
    get tfjsVersion() {
      return pool.tfjsVersion;
    },
    parallelism: pool.parallelism,
    forJob: ({ context }, onFailure) => pool.forJob(context, onFailure),
    cancel: () => Promise.resolve(),
    forget: () => Promise.resolve(),
  };
}
