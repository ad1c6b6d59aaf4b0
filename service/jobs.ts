/**
 * The search jobs of the service: accepting them (limits, idempotency), the queue (at most
 * `maxRunningJobs` run at once, sharing the worker pool; the rest wait in submission order),
 * and resumption of interrupted jobs when the service starts again. Each unfinished job is a
 * `Job` (service/job.ts), which owns its state, progress and stopping.
 */
import {
  type JobRecord,
  type JobState,
  type Page,
  type Store,
  type StoredEvent,
} from "../store/mod.ts";
import { decodeCursor } from "../store/mod.ts";
import { nowIso, randomId, sha256Hex } from "../store/ids.ts";
import type { WorkerPool } from "../workers/pool.ts";
import type { ServiceConfig } from "./config.ts";
import type { DatasetService } from "./datasets.ts";
import type { EventHub } from "./event_hub.ts";
import { resolveSearchConfig, type SearchRequest } from "./search_request.ts";
import { invalid, notFound, ServiceError } from "./errors.ts";
import { Job } from "./job.ts";
import type { Logger } from "./log.ts";
import { checkSearchMemory, type MemoryPlan, memoryPlan } from "./memory.ts";
import { MODEL_KINDS } from "../core/model_kinds.ts";
import { initialProgress } from "../core/progress.ts";
import { type RankedLoss, rankLosses, type SearchResult } from "../core/result.ts";

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

/** Seconds a client is told to wait: for a search to end, for a restart. */
const LIMIT_RETRY_S = 30;
const SHUTDOWN_RETRY_S = 10;
/** How often the store is read for cancels asked for elsewhere. */
const CANCEL_POLL_MS = 1000;

export class JobManager {
  /** Every unfinished job, queued or running. */
  readonly #live = new Map<string, Job>();
  #queue: Job[] = [];
  #stopping = false;
  readonly #memory: MemoryPlan | undefined;
  #poll?: ReturnType<typeof setInterval>;

  constructor(
    private readonly store: Store,
    private readonly pool: WorkerPool,
    private readonly datasets: DatasetService,
    private readonly hub: EventHub,
    private readonly config: ServiceConfig,
    private readonly log: Logger,
  ) {
    this.#memory = memoryPlan(config);
  }

  /** Interrupted jobs (running when the service stopped) resume first, then the queue. */
  start(): void {
    for (const job of this.store.jobs.inState("running")) this.store.jobs.requeue(job.id);
    for (const job of this.store.jobs.inState("queued")) this.#enqueue(job);
    this.#schedule();
    // Cancels asked for from another process (`deno task keys revoke` cancels the key's
    // searches in the database) reach the running jobs within CANCEL_POLL_MS.
    this.#poll = setInterval(() => {
      for (const id of this.store.jobs.cancelRequestedIds()) this.#live.get(id)?.stop("cancel");
    }, CANCEL_POLL_MS);
  }

  /** Accepts a search; `replayed` when the idempotency key named an earlier, identical one. */
  async submit(
    owner: string,
    body: SearchRequest,
    idempotencyKey?: string,
  ): Promise<{ job: JobRecord; replayed: boolean }> {
    if (this.#stopping) {
      throw new ServiceError(
        "unavailable",
        "Shutting down",
        "the service is shutting down",
        [],
        SHUTDOWN_RETRY_S,
      );
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
        [],
        LIMIT_RETRY_S,
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
    checkSearchMemory(
      this.#memory,
      config,
      { info, format: record.format },
      this.pool.parallelism,
      this.pool.backend,
    );
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
    this.log.info("search", { id: job.id, owner, state: "queued", dataset: record.id });
    this.#enqueue(job);
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
    return this.#withLiveProgress(job);
  }

  list(owner: string, limit: number, state?: JobState, cursor?: string): Page<JobRecord> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) {
      throw invalid("the cursor is not one this service issued", { parameter: "cursor" });
    }
    const page = this.store.jobs.list(owner, limit, state, after);
    return { ...page, items: page.items.map((j) => this.#withLiveProgress(j)) };
  }

  #withLiveProgress(job: JobRecord): JobRecord {
    const live = this.#live.get(job.id);
    return live && job.state === "running" ? { ...job, progress: live.progress } : job;
  }

  /** Cancels a queued or running search; a finished one is left as it is. */
  cancel(owner: string, id: string): JobRecord {
    this.get(owner, id); // 404 for another owner's search
    this.#live.get(id)?.stop("cancel");
    return this.get(owner, id);
  }

  /** Resolves when a running job has stopped (for cancel-to-stopped measurements). */
  async stopped(id: string): Promise<void> {
    await this.#live.get(id)?.ended;
  }

  result(owner: string, id: string): { job: JobRecord; result?: SearchResult } {
    const job = this.get(owner, id);
    return { job, result: this.store.jobs.result<SearchResult>(id) };
  }

  /** The ranked losses: from the result once the search ended, from its last checkpoint before. */
  ranked(
    owner: string,
    id: string,
  ): { job: JobRecord; losses: RankedLoss[]; result?: SearchResult } {
    const { job, result } = this.result(owner, id);
    if (result) return { job, losses: result.losses, result };
    const state = this.store.jobs.latestCheckpoint(id);
    return { job, losses: state ? rankLosses(state) : [] };
  }

  /** A search's events after an id, in order (404 for another owner's search). */
  eventsAfter(owner: string, id: string, afterId: number, limit?: number): StoredEvent[] {
    if (!this.store.jobs.get(owner, id)) throw notFound("search", id);
    return this.store.jobs.eventsAfter(id, afterId, limit);
  }

  /** How many searches are in each state, over every owner (metrics). */
  countByState(): Record<string, number> {
    return this.store.jobs.countByState();
  }

  /** Queued or running searches on a dataset (which may not be deleted meanwhile). */
  activeUsing(datasetId: string): number {
    return this.store.jobs.activeUsing(datasetId);
  }

  /**
   * Stops the running jobs without finishing them: they stay `running` in the store and resume
   * from their last checkpoint when the service starts again.
   */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#poll);
    const running = this.#running();
    for (const job of running) job.stop("shutdown");
    await Promise.all(running.map((j) => j.ended));
  }

  #running(): Job[] {
    return [...this.#live.values()].filter((j) => j.state === "running");
  }

  #enqueue(record: JobRecord): void {
    const job = new Job(
      { store: this.store, pool: this.pool, hub: this.hub, log: this.log },
      record,
    );
    this.#live.set(job.id, job);
    this.#queue.push(job);
    void job.ended.then(() => {
      this.#live.delete(job.id);
      this.#queue = this.#queue.filter((q) => q !== job);
      this.#schedule();
    });
  }

  #schedule(): void {
    while (!this.#stopping && this.#running().length < this.config.maxRunningJobs) {
      const job = this.#queue.shift();
      if (job === undefined) return;
      if (job.state !== "queued") continue;
      job.run().catch((e) =>
        this.log.error("search crashed", { id: job.id, error: (e as Error).stack ?? String(e) })
      );
    }
  }
}
