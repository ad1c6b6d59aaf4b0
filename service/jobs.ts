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
  type JobRecord,
  type JobState,
  type NodeInfo,
  type Page,
  type Storage,
  type StoredEvent,
} from "../store/mod.ts";
import { decodeCursor } from "../store/mod.ts";
import { nowIso, randomId, sha256Hex } from "../store/ids.ts";
import type { ServiceConfig } from "./config.ts";
import type { DatasetService } from "./datasets.ts";
import type { Evaluators } from "./evaluators.ts";
import { resolveSearchConfig, type SearchRequest } from "./search_request.ts";
import { invalid, notFound, ServiceError } from "./errors.ts";
import { Job } from "./job.ts";
import type { Logger } from "./log.ts";
import { checkSearchMemory, type MemoryPlan, memoryPlan } from "./memory.ts";
import { MODEL_KINDS } from "../core/model_kinds.ts";
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

export class JobManager {
  /** The jobs this node runs now. */
  readonly #live = new Map<string, Job>();
  #stopping = false;
  #claiming = false;
  #claimAgain = false;
  #timer?: ReturnType<typeof setInterval>;
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
    const earlier = idempotencyKey && await this.#replay(owner, idempotencyKey, requestHash);
    if (earlier) return { job: earlier, replayed: true };
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
    const { record, ref, info } = await this.datasets.refFor(owner, body.dataset, body.task);
    const given = await this.datasets.givenSplits(owner, info, body);
    const config = { ...resolveSearchConfig(body, ref), ...given };
    if (MODEL_KINDS[config.model.kind].needsImages && !info.imageShape) {
      throw invalid(
        `model '${config.model.kind}' needs image data; dataset ${record.id} has no image shape ` +
          `(upload images as an IDX pair, or NumPy features of shape [n, height, width])`,
        { pointer: "/model/kind" },
      );
    }
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
      await this.storage.jobs.insert(job, { type: "state", data: { state: "queued" } });
    } catch (e) {
      // Two requests with one key at once: the second insert hits the unique index.
      const again = e instanceof DuplicateKeyError && idempotencyKey &&
        await this.#replay(owner, idempotencyKey, requestHash);
      if (again) return { job: again, replayed: true };
      throw e;
    }
    this.log.info("search", { id: job.id, owner, state: "queued", dataset: record.id });
    this.#schedule();
    return { job: await this.get(owner, job.id), replayed: false };
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
    state?: JobState,
    cursor?: string,
  ): Promise<Page<JobRecord>> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) {
      throw invalid("the cursor is not one this service issued", { parameter: "cursor" });
    }
    const page = await this.storage.jobs.list(owner, limit, state, after);
    return { ...page, items: page.items.map((j) => this.#withLiveProgress(j)) };
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
