/**
 * The search jobs of the service: accepting them (limits, idempotency), the queue (at most
 * `maxRunningJobs` run at once, sharing the worker pool; the rest wait in submission order),
 * cancellation, and resumption of interrupted jobs when the service starts again.
 */
import {
  FINISHED_STATES,
  type JobRecord,
  type JobState,
  type Page,
  type Store,
} from "../store/mod.ts";
import { decodeCursor } from "../store/mod.ts";
import { nowIso, randomId, sha256Hex } from "../store/ids.ts";
import type { SearchResult } from "../core/result.ts";
import type { WorkerPool } from "../workers/pool.ts";
import type { ServiceConfig } from "./config.ts";
import type { DatasetService } from "./datasets.ts";
import type { EventHub } from "./event_hub.ts";
import { resolveSearchConfig, type SearchRequest } from "./search_request.ts";
import { invalid, notFound, ServiceError } from "./errors.ts";
import { runJob, type RunningJob } from "./job_run.ts";
import { MODEL_KINDS } from "../core/model_kinds.ts";
import { initialProgress, reduceProgress } from "../core/progress.ts";

/** JSON with sorted keys, so that equal bodies hash alike whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export class JobManager {
  readonly #running = new Map<string, RunningJob>();
  #queue: string[] = [];
  #stopping = false;

  constructor(
    private readonly store: Store,
    private readonly pool: WorkerPool,
    private readonly datasets: DatasetService,
    private readonly hub: EventHub,
    private readonly config: ServiceConfig,
  ) {}

  /** Interrupted jobs (running when the service stopped) resume first, then the queue. */
  start(): void {
    for (const job of this.store.jobs.inState("running")) this.store.jobs.requeue(job.id);
    this.#queue = this.store.jobs.inState("queued").map((j) => j.id);
    this.#schedule();
  }

  /** Accepts a search; `replayed` when the idempotency key named an earlier, identical one. */
  async submit(
    owner: string,
    body: SearchRequest,
    idempotencyKey?: string,
  ): Promise<{ job: JobRecord; replayed: boolean }> {
    if (this.#stopping) {
      throw new ServiceError("unavailable", "Shutting down", "the service is shutting down");
    }
    const requestHash = await sha256Hex(canonicalJson(body));
    const earlier = idempotencyKey && this.#replay(owner, idempotencyKey, requestHash);
    if (earlier) return { job: earlier, replayed: true };
    const active = this.store.jobs.countActive(owner);
    const limit = this.config.limits.maxActiveJobsPerKey;
    if (active >= limit) {
      throw new ServiceError(
        "limit",
        "Too many searches",
        `this key has ${active} queued or running searches; the limit is ${limit} per key. ` +
          `Wait for one to finish or cancel one.`,
      );
    }
    const { record, ref, info } = await this.datasets.refFor(owner, body.dataset, body.task);
    const config = resolveSearchConfig(body, ref);
    if (MODEL_KINDS[config.model.kind].needsImages && !info.imageShape) {
      throw invalid(
        `model '${config.model.kind}' needs image data; dataset ${record.id} has no image shape ` +
          `(upload images as an IDX pair, or NumPy features of shape [n, height, width])`,
        { pointer: "/model/kind" },
      );
    }
    const job: JobRecord = {
      id: randomId("srch"),
      owner,
      state: "queued",
      datasetId: record.id,
      dataInfo: info,
      request: body,
      config,
      requestHash,
      idempotencyKey: idempotencyKey ?? null,
      progress: initialProgress(config.budget.generations),
      error: null,
      cancelRequested: false,
      createdAt: nowIso(),
      startedAt: null,
      finishedAt: null,
    };
    try {
      this.store.jobs.insert(job, { type: "state", data: { state: "queued" } });
    } catch (e) {
      // Two requests with one key at once: the second insert hits the unique index.
      const again = idempotencyKey && this.#replay(owner, idempotencyKey, requestHash);
      if (again) return { job: again, replayed: true };
      throw e;
    }
    this.#queue.push(job.id);
    this.#schedule();
    return { job: this.get(owner, job.id), replayed: false };
  }

  #replay(owner: string, key: string, hash: string): JobRecord | undefined {
    const earlier = this.store.jobs.byIdempotencyKey(owner, key);
    if (!earlier) return undefined;
    if (earlier.requestHash !== hash) {
      throw new ServiceError(
        "invalid",
        "Idempotency key reused",
        `the Idempotency-Key '${key}' was used for search ${earlier.id} with a different ` +
          `request body; use a new key for a new search`,
        [{ detail: "used before with another body", parameter: "Idempotency-Key" }],
      );
    }
    return this.get(owner, earlier.id);
  }

  /** The stored job with its live progress when it is running. */
  get(owner: string, id: string): JobRecord {
    const job = this.store.jobs.get(owner, id);
    if (!job) throw notFound("search", id);
    const live = this.#running.get(id);
    return live && job.state === "running" ? { ...job, progress: live.progress } : job;
  }

  list(owner: string, limit: number, state?: JobState, cursor?: string): Page<JobRecord> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) {
      throw invalid("the cursor is not one this service issued", { parameter: "cursor" });
    }
    const page = this.store.jobs.list(owner, limit, state, after);
    return {
      ...page,
      items: page.items.map((j) => {
        const live = this.#running.get(j.id);
        return live && j.state === "running" ? { ...j, progress: live.progress } : j;
      }),
    };
  }

  /** Cancels a queued or running search; a finished one is left as it is. */
  cancel(owner: string, id: string): JobRecord {
    const job = this.get(owner, id);
    if (FINISHED_STATES.includes(job.state)) return job;
    this.store.jobs.requestCancel(owner, id);
    const live = this.#running.get(id);
    if (live) {
      live.stop = { reason: "cancel" };
      live.controller.abort();
      // Drops the job's queued requests and abandons those in flight at once, so the search
      // loop (which awaits them) stops within milliseconds.
      void live.runner?.close();
    } else {
      this.#queue = this.#queue.filter((q) => q !== id);
      const progress = reduceProgress(job.progress, { kind: "finished" });
      this.store.jobs.finish(id, "cancelled", progress, null, undefined, {
        type: "finished",
        data: { state: "cancelled", error: null, stopped: null },
      });
      this.hub.notify(id);
    }
    return this.get(owner, id);
  }

  /** Resolves when a running job has stopped (for cancel-to-stopped measurements). */
  async stopped(id: string): Promise<void> {
    await this.#running.get(id)?.done;
  }

  result(owner: string, id: string): { job: JobRecord; result?: SearchResult } {
    const job = this.get(owner, id);
    return { job, result: this.store.jobs.result<SearchResult>(id) };
  }

  runningCount(): number {
    return this.#running.size;
  }

  /**
   * Stops the running jobs without finishing them: they stay `running` in the store and resume
   * from their last checkpoint when the service starts again.
   */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    const all = [...this.#running.values()];
    for (const r of all) {
      r.stop = { reason: "shutdown" };
      r.controller.abort();
      void r.runner?.close();
    }
    await Promise.all(all.map((r) => r.done));
  }

  #schedule(): void {
    while (!this.#stopping && this.#running.size < this.config.maxRunningJobs) {
      const id = this.#queue.shift();
      if (id === undefined) return;
      const job = this.store.jobs.getById(id);
      if (!job || job.state !== "queued") continue;
      if (job.cancelRequested) {
        this.store.jobs.finish(
          id,
          "cancelled",
          reduceProgress(job.progress, { kind: "finished" }),
          null,
          undefined,
          {
            type: "finished",
            data: { state: "cancelled", error: null, stopped: null },
          },
        );
        continue;
      }
      const running: RunningJob = {
        id,
        controller: new AbortController(),
        stop: {},
        progress: job.progress,
      };
      this.#running.set(id, running);
      running.done = runJob({ store: this.store, pool: this.pool, hub: this.hub }, job, running)
        .catch((e) => console.error(`search ${id}: ${(e as Error).stack ?? e}`))
        .finally(() => {
          this.#running.delete(id);
          this.#schedule();
        });
    }
  }
}
