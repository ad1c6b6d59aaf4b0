/**
 * One evaluation worker: it serves the candidate operations (engine/candidate_ops.ts) through the
 * project's one worker protocol (workers/protocol.ts). Init starts the tensor backend; every
 * request names its job, and the worker prepares that job's data and evaluator the first time it
 * meets it (preparation is deterministic, so every worker holds identical data and nothing large
 * is posted). A few jobs are cached, least recently used evicted, so several jobs can share the
 * worker without reloading their data on every request. After every request the backend is
 * checked (engine/tensor/faults.ts): a worker whose backend faulted says so, and is replaced.
 */
import { initBackend } from "../engine/tensor/backend.ts";
import { backendHealth, watchBackend } from "../engine/tensor/faults.ts";
import { tf } from "../engine/tensor/tf.ts";
import {
  type CandidateOps,
  candidateOps,
  disposeJob,
  type PreparedJob,
  prepareJob,
} from "../engine/candidate_ops.ts";
import type { JobContext } from "../core/runner.ts";
import type { BackendChoice, BackendInfo } from "../core/backends.ts";
import { serveOps } from "./protocol.ts";

export interface CandidateWorkerOptions {
  backend: BackendChoice;
  /** Jobs a worker keeps prepared at once; the least recently used is disposed beyond that. */
  maxContexts: number;
}

export type CandidateWorkerInfo = BackendInfo & { tfjs: string; initMs: number };

/** Insertion order is recency order: a hit is deleted and set again. */
const jobs = new Map<string, { ops: CandidateOps; job: PreparedJob }>();
let maxContexts = 4;
let backend: BackendChoice = "auto";

function release(id: string): void {
  const entry = jobs.get(id);
  if (!entry) return;
  jobs.delete(id);
  void disposeJob(entry.job);
}

serveOps<CandidateWorkerInfo, JobContext>({
  async init(options) {
    const t0 = performance.now();
    const o = options as CandidateWorkerOptions;
    maxContexts = Math.max(1, o.maxContexts);
    backend = o.backend;
    const info = await initBackend(o.backend);
    watchBackend();
    return { ...info, tfjs: tf.version.tfjs, initMs: performance.now() - t0 };
  },
  async opsFor(ctx) {
    if (!ctx) throw new Error("a candidate request must name its job");
    const hit = jobs.get(ctx.id);
    if (hit) {
      jobs.delete(ctx.id);
      jobs.set(ctx.id, hit);
      // The pool's decision, once the job has one, is every worker's.
      if (ctx.engine) hit.job.engine = ctx.engine;
      return hit.ops;
    }
    let job;
    try {
      job = await prepareJob(ctx, backend);
    } catch (e) {
      throw new Error(`could not prepare the data of job ${ctx.id}: ${(e as Error).message}`);
    }
    job.engine = ctx.engine;
    const entry = { ops: candidateOps(job), job };
    jobs.set(ctx.id, entry);
    while (jobs.size > maxContexts) release(jobs.keys().next().value!);
    return entry.ops;
  },
  release,
  health: backendHealth,
});
