/**
 * The search jobs of the service: accepting them (limits, idempotency), and this node's share of
 * the queue. The queue is the store's (JobStore.claim): each node runs at most `maxRunningJobs`
 * searches, claiming the oldest queued one, or one whose owner stopped renewing its lease (it
 * died, or was stopped), which then resumes from its last checkpoint. A node renews the leases of
 * its searches every third of the lease; one it failed to renew is stopped here as lost. Each
 * running search is a `Job` (service/job.ts), which owns its state, progress and stopping.
 */
import {
  DuplicateKeyError,
  FINISHED_STATES,
  type JobFilter,
  type JobRecord,
  type NewEvent,
  type NodeInfo,
  type Page,
  type StartingPoint,
  type Storage,
  type StoredEvent,
  TooManyLabels,
} from "../store/mod.ts";
import { decodeCursor } from "../store/mod.ts";
import { nowIso, randomId, sha256Hex } from "../store/ids.ts";
import type { ServiceConfig } from "./config.ts";
import type { DatasetService } from "./datasets.ts";
import type { Evaluators } from "./evaluators.ts";
import {
  checkModel,
  type ContinueRequest,
  givenIds,
  MAX_LABELS,
  resolveSearchConfig,
  type SearchRequest,
} from "./search_request.ts";
import { invalid, notFound, ServiceError } from "./errors.ts";
import { isBundled } from "./datasets.ts";
import { type SearchConfig, stoppedBy, warmStartLosses } from "../core/search.ts";
import { Job } from "./job.ts";
import type { Logger } from "./log.ts";
import { checkSearchMemory, type MemoryPlan, memoryPlan } from "./memory.ts";
import { initialProgress, reduceProgress } from "../core/progress.ts";
import {
  type CandidateRecord,
  candidateRecords,
  type RankedLoss,
  rankLosses,
  type SearchResult,
  upgradeResult,
} from "../core/result.ts";

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

/** A queued job ends `cancelled` here, unless a node has claimed it; true if it did. */
export function endQueued(storage: Storage, job: JobRecord): Promise<boolean> {
  if (job.state !== "queued") return Promise.resolve(false);
  return storage.jobs.cancelQueued(
    job.id,
    reduceProgress(job.progress, { kind: "finished" }),
    { type: "finished", data: { state: "cancelled", error: null, stopped: null } },
  );
}

/** Seconds a client is told to wait: for a search to end, for a restart. */
const LIMIT_RETRY_S = 30;
const SHUTDOWN_RETRY_S = 10;

/** How often finished searches past their retention are looked for (and once at start). */
const RETENTION_SWEEP_MS = 3600_000;
/** Searches deleted per statement of a sweep. */
const RETENTION_BATCH = 100;
const DAY_MS = 24 * 3600_000;

const shuttingDown = () =>
  new ServiceError(
    "unavailable",
    "Shutting down",
    "the service is shutting down",
    [],
    SHUTDOWN_RETRY_S,
  );

export class JobManager {
  /** The jobs this node runs now. */
  readonly #live = new Map<string, Job>();
  #stopping = false;
  #claiming = false;
  #claimAgain = false;
  #timer?: ReturnType<typeof setInterval>;
  #retention?: ReturnType<typeof setInterval>;
  readonly #unlisten: (() => void)[] = [];
  readonly #memory: MemoryPlan | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly evaluators: Evaluators,
    private readonly datasets: DatasetService,
    private readonly config: ServiceConfig,
    private readonly node: NodeInfo,
    private readonly log: Logger,
    /** What each heartbeat says of this node (its workers' state too). */
    private readonly beatInfo: () => NodeInfo = () => node,
  ) {
    this.#memory = memoryPlan(config);
  }

  /** Claims work now, whenever a job becomes claimable, and at every heartbeat. */
  start(): void {
    this.#unlisten.push(this.storage.listen("jobs", () => this.#schedule()));
    this.#unlisten.push(this.storage.listen("cancel", (id) => this.#live.get(id)?.stop("cancel")));
    this.#timer = setInterval(() => this.#heartbeat(), this.config.leaseMs / 3);
    if (this.config.retentionDays > 0) {
      this.#retention = setInterval(() => this.#sweepQuietly(), RETENTION_SWEEP_MS);
      this.#sweepQuietly();
    }
    // A beat now, not a third of the lease from now: the one made before the workers started may
    // be older than a lease already (a slow start), and the node would look gone meanwhile.
    void this.#heartbeat();
  }

  /** Searches this node runs now. */
  get running(): number {
    return this.#live.size;
  }

  async #heartbeat(): Promise<void> {
    if (this.#stopping) return;
    try {
      await this.storage.nodes.beat(this.beatInfo());
      const held = new Map(
        (await this.storage.jobs.renew(this.node.id, this.config.leaseMs)).map((h) => [h.jobId, h]),
      );
      for (const job of this.#live.values()) {
        const h = held.get(job.id);
        if (!h || h.run !== job.lease.run) job.stop("lost");
        else if (h.cancelRequested) job.stop("cancel");
      }
    } catch (e) {
      this.log.error("heartbeat failed", { node: this.node.id, error: (e as Error).message });
    }
    this.#schedule();
  }

  /** Accepts a search; `replayed` when the idempotency key named an earlier, identical one. */
  async submit(
    owner: string,
    body: SearchRequest,
    idempotencyKey?: string,
  ): Promise<{ job: JobRecord; replayed: boolean }> {
    if (this.#stopping) throw shuttingDown();
    const requestHash = await sha256Hex(canonicalJson(body));
    const earlier = idempotencyKey && await this.#replay(owner, idempotencyKey, requestHash);
    if (earlier) return { job: earlier, replayed: true };
    await this.#checkActive(owner);
    const { record, ref, info } = await this.datasets.refFor(owner, body.dataset, body.task);
    const given = await this.datasets.givenSplits(owner, info, body);
    const config: SearchConfig = { ...resolveSearchConfig(body, ref), ...given };
    checkModel(config, info, this.config.limits);
    if (body.warmStart) config.warmStart = await this.#warmStart(owner, body.warmStart, config);
    // Every worker that runs the search loads its own validation and test sets too.
    const givenRows = await this.datasets.rowsOf(owner, [body.validation, body.test]);
    checkSearchMemory(
      this.#memory,
      config,
      { info: { ...info, rows: info.rows + givenRows }, format: record.format },
      this.evaluators.parallelism,
      this.evaluators.backend,
    );
    const job: JobRecord = {
      id: randomId("srch"),
      owner,
      name: body.name ?? null,
      labels: body.labels ?? {},
      continues: null,
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
    return await this.#insert(job, { type: "state", data: { state: "queued" } });
  }

  /** Stores a new job and schedules it; a concurrent request with its key gets the first one. */
  async #insert(
    job: JobRecord,
    event: NewEvent,
    start?: StartingPoint,
  ): Promise<{ job: JobRecord; replayed: boolean }> {
    const { owner, idempotencyKey: key, requestHash } = job;
    try {
      await this.storage.jobs.insert(job, event, start);
    } catch (e) {
      // Two requests with one key at once: the second insert hits the unique index.
      const again = e instanceof DuplicateKeyError && key &&
        await this.#replay(owner, key, requestHash);
      if (again) return { job: again, replayed: true };
      throw e;
    }
    this.log.info("search", {
      id: job.id,
      owner,
      state: "queued",
      dataset: job.datasetId,
      continues: job.continues?.search,
    });
    this.#schedule();
    return { job: await this.get(owner, job.id), replayed: false };
  }

  async #checkActive(owner: string): Promise<void> {
    const active = await this.storage.jobs.countActive(owner);
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
  }

  /** The losses another search of the owner's seeds this one with (its ranking so far). */
  async #warmStart(
    owner: string,
    from: NonNullable<SearchRequest["warmStart"]>,
    config: SearchConfig,
  ): Promise<NonNullable<SearchConfig["warmStart"]>> {
    const pointer = "/warmStart/search";
    // Another key's search is unknown here, as everywhere.
    if (!await this.storage.jobs.get(owner, from.search)) {
      throw invalid(`unknown search '${from.search}' to warm-start from`, { pointer });
    }
    const state = await this.storage.checkpoints.latest(from.search);
    const losses = state ? warmStartLosses(state, config, from.losses) : [];
    if (losses.length === 0) {
      throw invalid(
        `search ${from.search} has no ranked loss ${
          state ? "within this search's height limit (gp.maxHeight)" : "yet"
        } to warm-start from`,
        { pointer },
      );
    }
    return { search: from.search, losses };
  }

  /**
   * A new search that continues a finished one for more generations: from that one's last
   * checkpoint, with its settings, seed and data, and `budget.generations` raised by
   * `generations`. The search continued is left as it is. What it computes is what one search
   * of the total generations computes (the state carries every random number), the final
   * comparison included; only the times differ.
   */
  async continue(
    owner: string,
    id: string,
    body: ContinueRequest,
    idempotencyKey?: string,
  ): Promise<{ job: JobRecord; replayed: boolean }> {
    if (this.#stopping) throw shuttingDown();
    const requestHash = await sha256Hex(canonicalJson({ continue: id, ...body }));
    const earlier = idempotencyKey && await this.#replay(owner, idempotencyKey, requestHash);
    if (earlier) return { job: earlier, replayed: true };
    const parent = await this.get(owner, id);
    if (!FINISHED_STATES.includes(parent.state)) {
      throw new ServiceError(
        "conflict",
        "Not finished",
        `search ${id} is ${parent.state}; continue it once it has finished (or cancel it first)`,
      );
    }
    const from = await this.storage.checkpoints.latest(id);
    if (!from) {
      throw new ServiceError(
        "conflict",
        "Nothing to continue",
        `search ${id} ${parent.state} before it finished a generation: start a new search`,
      );
    }
    await this.#checkActive(owner);
    const given = givenIds(parent.request);
    for (const dataset of [parent.datasetId, given.validation, given.test]) {
      if (dataset === undefined || isBundled(dataset)) continue;
      if (!await this.storage.datasets.get(owner, dataset)) {
        throw new ServiceError(
          "conflict",
          "Dataset deleted",
          `search ${id} read dataset ${dataset}, which was deleted since`,
        );
      }
    }
    const generations = from.generation + body.generations;
    const max = this.config.limits.maxGenerations;
    if (generations > max) {
      throw invalid(
        `/generations: ${from.generation} finished plus ${body.generations} is ${generations}; ` +
          `the limit is ${max} generations (this service's limit)`,
        { pointer: "/generations" },
      );
    }
    const raised = {
      generations,
      ...(body.maxEvaluations !== undefined ? { maxEvaluations: body.maxEvaluations } : {}),
      ...(body.maxSeconds !== undefined ? { maxSeconds: body.maxSeconds } : {}),
    };
    const config: SearchConfig = {
      ...parent.config,
      budget: { ...parent.config.budget, ...raised },
    };
    // A budget used up already would end it before its first new generation.
    const why = stoppedBy(config, from);
    if (why === "max-evaluations" || why === "max-seconds") {
      const field = why === "max-evaluations" ? "maxEvaluations" : "maxSeconds";
      const used = why === "max-evaluations"
        ? `${from.evaluations} evaluations`
        : `${Math.round(from.elapsedMs / 1000)} s`;
      throw invalid(
        `/${field}: search ${id} has used ${used} of its budget.${field} ` +
          `(${config.budget[field]}), which counts the whole search; raise it with ${field}`,
        { pointer: `/${field}` },
      );
    }
    const request = parent.request as Record<string, unknown>;
    const continues = { search: id, generation: from.generation };
    const job: JobRecord = {
      id: randomId("srch"),
      owner,
      name: body.name ?? parent.name,
      labels: body.labels ?? parent.labels,
      continues,
      state: "queued",
      datasetId: parent.datasetId,
      dataInfo: parent.dataInfo,
      // The request one search of all these generations would have sent.
      request: {
        ...request,
        budget: { ...(request.budget as Record<string, unknown> | undefined), ...raised },
      },
      config,
      requestHash,
      idempotencyKey: idempotencyKey ?? null,
      progress: initialProgress(generations),
      error: null,
      cancelRequested: false,
      createdAt: nowIso(),
      startedAt: null,
      finishedAt: null,
    };
    return await this.#insert(
      job,
      { type: "state", data: { state: "queued", continues } },
      { state: from, stats: from.history.at(-1) ?? {} },
    );
  }

  async #replay(owner: string, key: string, hash: string): Promise<JobRecord | undefined> {
    const earlier = await this.storage.jobs.byIdempotencyKey(owner, key);
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
    return await this.get(owner, earlier.id);
  }

  /** The stored job, with its live progress when this node runs it. */
  async get(owner: string, id: string): Promise<JobRecord> {
    const job = await this.storage.jobs.get(owner, id);
    if (!job) throw notFound("search", id);
    return this.#withLiveProgress(job);
  }

  async list(
    owner: string,
    limit: number,
    filter: JobFilter = {},
    cursor?: string,
  ): Promise<Page<JobRecord>> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) {
      throw invalid("the cursor is not one this service issued", { parameter: "cursor" });
    }
    const page = await this.storage.jobs.list(owner, limit, filter, after);
    return { ...page, items: page.items.map((j) => this.#withLiveProgress(j)) };
  }

  /** A new name (null removes it) and labels merged in (a null value removes one). */
  async relabel(
    owner: string,
    id: string,
    change: { name?: string | null; labels?: Record<string, string | null> },
  ): Promise<JobRecord> {
    let job;
    try {
      job = await this.storage.jobs.relabel(owner, id, change, MAX_LABELS);
    } catch (e) {
      if (e instanceof TooManyLabels) {
        throw invalid(`/labels: ${e.message}`, { pointer: "/labels" });
      }
      throw e;
    }
    if (!job) throw notFound("search", id);
    return this.#withLiveProgress(job);
  }

  /**
   * Deletes a search with everything stored of it: its events, checkpoints (its candidates
   * with them), result and report, and on PostgreSQL its evaluation requests. A queued or
   * running one is cancelled first, wherever it runs, and given `waitMs` to stop; whatever
   * its node does after, its writes are refused, since the row is gone (store/storage.ts).
   */
  async delete(owner: string, id: string, waitMs: number): Promise<void> {
    const job = await this.get(owner, id); // 404 for another owner's search
    if (!FINISHED_STATES.includes(job.state)) {
      await this.cancel(owner, id);
      await this.stopped(id, waitMs);
    }
    if (!await this.storage.jobs.delete(owner, id)) throw notFound("search", id);
    await this.#forget(id);
    this.log.info("search", { id, owner, state: "deleted" });
  }

  /** What the evaluation queue holds of a deleted search goes too. */
  async #forget(id: string): Promise<void> {
    try {
      await this.evaluators.cancel(id);
      await this.evaluators.forget(id);
    } catch (e) {
      this.log.error("evaluation requests not dropped", { id, error: String(e) });
    }
  }

  /**
   * Deletes the finished searches that ended more than `retentionDays` before `now`, oldest
   * first; their ids. Every node may sweep: a search is deleted once.
   */
  async sweepExpired(now = Date.now()): Promise<string[]> {
    if (this.config.retentionDays <= 0) return [];
    const before = new Date(now - this.config.retentionDays * DAY_MS).toISOString();
    const deleted: string[] = [];
    while (true) {
      const ids = await this.storage.jobs.deleteFinishedBefore(before, RETENTION_BATCH);
      for (const id of ids) await this.#forget(id);
      deleted.push(...ids);
      if (ids.length < RETENTION_BATCH) break;
    }
    if (deleted.length) {
      this.log.info("retention", {
        deleted: deleted.length,
        before,
        retentionDays: this.config.retentionDays,
      });
    }
    return deleted;
  }

  #sweepQuietly(): void {
    this.sweepExpired().catch((e) =>
      this.log.error("retention sweep failed", { error: (e as Error).message })
    );
  }

  #withLiveProgress(job: JobRecord): JobRecord {
    const live = this.#live.get(job.id);
    return live && job.state === "running" ? { ...job, progress: live.progress } : job;
  }

  /**
   * Cancels a queued or running search, wherever it runs; a finished one is left as it is. A
   * queued one ends here at once; a running one is stopped by the node that runs it.
   */
  async cancel(owner: string, id: string): Promise<JobRecord> {
    const job = await this.get(owner, id); // 404 for another owner's search
    const live = this.#live.get(id);
    if (live) {
      live.stop("cancel");
    } else if (job.state === "queued" || job.state === "running") {
      const ended = await endQueued(this.storage, job);
      // Running elsewhere, or claimed meanwhile: its owner sees the request and stops it.
      if (!ended) await this.storage.jobs.requestCancel(owner, id);
    }
    return await this.get(owner, id);
  }

  /** Resolves when the search has stopped, or after withinMs (cancel-to-stopped measurements). */
  async stopped(id: string, withinMs: number): Promise<void> {
    const live = this.#live.get(id);
    const deadline = Date.now() + withinMs;
    if (live) {
      await Promise.race([live.ended, new Promise((r) => setTimeout(r, withinMs))]);
      return;
    }
    while (Date.now() < deadline) {
      const job = await this.storage.jobs.getById(id);
      if (!job || FINISHED_STATES.includes(job.state)) return;
      await this.storage.events.wait(id, Math.max(1, deadline - Date.now()));
    }
  }

  async result(owner: string, id: string): Promise<{ job: JobRecord; result?: SearchResult }> {
    const job = await this.get(owner, id);
    const result = await this.storage.jobs.result<SearchResult>(id);
    return { job, result: result && upgradeResult(result) };
  }

  /** The ranked losses: from the result once the search ended, from its last checkpoint before. */
  async ranked(
    owner: string,
    id: string,
  ): Promise<{ job: JobRecord; losses: RankedLoss[]; result?: SearchResult }> {
    const { job, result } = await this.result(owner, id);
    if (result) return { job, losses: result.losses, result };
    const state = await this.storage.checkpoints.latest(id);
    return { job, losses: state ? rankLosses(state) : [] };
  }

  /** The distinct losses a search met, from its last checkpoint (kept once it has finished). */
  async candidates(
    owner: string,
    id: string,
  ): Promise<{ job: JobRecord; candidates: CandidateRecord[] }> {
    const job = await this.get(owner, id);
    const state = await this.storage.checkpoints.latest(id);
    return { job, candidates: state ? candidateRecords(state) : [] };
  }

  /** A search's events after an id, in order (404 for another owner's search). */
  async eventsAfter(
    owner: string,
    id: string,
    afterId: number,
    limit?: number,
  ): Promise<StoredEvent[]> {
    if (!await this.storage.jobs.get(owner, id)) throw notFound("search", id);
    return await this.storage.events.after(id, afterId, limit);
  }

  /** Resolves when the search may have a new event (stored by any node), or after timeoutMs. */
  waitForEvents(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.storage.events.wait(id, timeoutMs, signal);
  }

  /** How many searches are in each state, over every owner (metrics). */
  countByState(): Promise<Record<string, number>> {
    return this.storage.jobs.countByState();
  }

  /** Queued or running searches on a dataset (which may not be deleted meanwhile), as their
   * training set or as their own validation or test set. */
  activeUsing(datasetId: string): Promise<number> {
    return this.storage.jobs.activeUsing(datasetId);
  }

  /**
   * Stops this node's jobs without finishing them: their leases are released, and another node,
   * or this one at its next start, resumes each from its last checkpoint.
   */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    clearInterval(this.#retention);
    for (const u of this.#unlisten) u();
    const running = [...this.#live.values()];
    for (const job of running) job.stop("shutdown");
    await Promise.all(running.map((j) => j.ended));
  }

  /** Claims jobs while this node has room; one claim at a time, again if asked meanwhile. */
  async #schedule(): Promise<void> {
    if (this.#claiming) {
      this.#claimAgain = true;
      return;
    }
    this.#claiming = true;
    try {
      do {
        this.#claimAgain = false;
        while (!this.#stopping && this.#live.size < this.config.maxRunningJobs) {
          const claimed = await this.storage.jobs.claim(this.node.id, this.config.leaseMs);
          if (!claimed || this.#stopping) {
            if (claimed) await this.storage.jobs.release(claimed.lease);
            break;
          }
          this.#run(
            new Job(
              { storage: this.storage, evaluators: this.evaluators, log: this.log },
              claimed.job,
              claimed.lease,
            ),
          );
        }
      } while (this.#claimAgain && !this.#stopping);
    } catch (e) {
      this.log.error("claiming searches failed", {
        node: this.node.id,
        error: (e as Error).message,
      });
    } finally {
      this.#claiming = false;
    }
  }

  #run(job: Job): void {
    this.#live.set(job.id, job);
    job.run()
      .catch((e) =>
        this.log.error("search crashed", { id: job.id, error: (e as Error).stack ?? String(e) })
      )
      .finally(() => {
        this.#live.delete(job.id);
        this.#schedule();
      });
  }
}
