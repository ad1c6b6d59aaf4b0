/**
 * The service's storage as small asynchronous interfaces, one per kind of record, each with its
 * contract (Optuna's storages/_base.py is the model: the service is written against these, every
 * engine implements them, and tests/store_conformance.test.ts runs one suite against each). Two
 * engines: SQLite (store/sqlite/, one process) and PostgreSQL (store/postgres/, any number of
 * nodes).
 *
 * Rules every interface keeps:
 * - **Atomic.** Each method is one step: it happens whole or not at all (a process killed halfway
 *   leaves the state before it), and a reader never sees half of it.
 * - **One owner per running job.** A running job is run by the node that claimed it last, for as
 *   long as it renews its lease (`JobLease`). Every write only the owner may make names the lease
 *   and is refused, returning false, once the lease is lost (it expired and another node claimed
 *   the job, or the job was released): a node that stalled past its lease, or a process left
 *   over, writes nothing, so one job never has two runs stored.
 * - **Ordered events.** The events of one job are totally ordered by id, ids only grow, and an
 *   event is visible only with all events of its job below its id: a reader that has seen id N
 *   never later meets an event of that job below N.
 * - **Signals after commit.** A write that adds events wakes `events.wait` of that job in every
 *   process using the storage; one that makes a job claimable (submitted, released) wakes the
 *   `jobs` channel; a cancel request wakes `cancel` with the job's id.
 */
import type { Progress } from "../core/progress.ts";
import type { SearchState } from "../core/search.ts";
import type { CursorKey } from "./cursor.ts";
import type {
  DatasetRecord,
  JobError,
  JobFilter,
  JobRecord,
  JobState,
  Page,
  StoredEvent,
} from "./types.ts";

export interface NewEvent {
  type: string;
  data: unknown;
}

/** A node's hold on a running job; `run` counts the claims, so a stale holder is told apart. */
export interface JobLease {
  jobId: string;
  node: string;
  run: number;
}

/** What `renew` finds of a job a node holds. */
export interface HeldJob {
  jobId: string;
  run: number;
  cancelRequested: boolean;
}

/** Thrown by `JobStore.insert` when the owner already used the idempotency key, and by
 * `DatasetStore.insert` when the owner already has a dataset of the same content. */
export class DuplicateKeyError extends Error {
  override name = "DuplicateKeyError";
}

/**
 * Search jobs and their results. The queue is the jobs table itself: `claim` takes the oldest
 * queued job, or a running one whose owner's lease has expired, and makes the caller its owner.
 */
export interface JobStore {
  /**
   * The job with its first event, and with `start` the checkpoint it starts from (a search that
   * continues another: that one's last state), together. Rejects with DuplicateKeyError on a
   * reused idempotency key.
   */
  insert(job: JobRecord, event: NewEvent, start?: StartingPoint): Promise<void>;
  get(owner: string, id: string): Promise<JobRecord | undefined>;
  /** For the service, which acts for every owner. */
  getById(id: string): Promise<JobRecord | undefined>;
  byIdempotencyKey(owner: string, key: string): Promise<JobRecord | undefined>;
  /** Newest first, after the cursor, those the filter keeps. */
  list(
    owner: string,
    limit: number,
    filter?: JobFilter,
    after?: CursorKey,
  ): Promise<Page<JobRecord>>;
  /**
   * A new name (null removes it) and labels (a null value removes the label); the job after.
   * Rejects with TooManyLabels, changing nothing, when more than `maxLabels` would result.
   */
  relabel(
    owner: string,
    id: string,
    change: { name?: string | null; labels?: Record<string, string | null> },
    maxLabels?: number,
  ): Promise<JobRecord | undefined>;
  /**
   * Removes the job and everything stored of it (events, checkpoints, result) at once; true if it
   * existed. Signals `cancel` with its id, so that a node still running it stops (its writes are
   * refused from now on: nothing of it comes back), and wakes its event streams.
   */
  delete(owner: string, id: string): Promise<boolean>;
  /** Deletes, as `delete`, up to `limit` finished jobs that finished before `before` (ISO
   * time), oldest first; their ids. Queued and running jobs are never deleted. */
  deleteFinishedBefore(before: string, limit: number): Promise<string[]>;
  /** Queued plus running jobs of an owner. */
  countActive(owner: string): Promise<number>;
  countByState(): Promise<Record<string, number>>;
  /** Queued or running jobs on a dataset: as their training set, or as their own validation or
   * test set (the request's `validation` and `test`). */
  activeUsing(datasetId: string): Promise<number>;
  /**
   * Makes `node` the owner of the oldest claimable job (queued, or running with an expired
   * lease), in submission order, and returns it with its lease; undefined when none is. Two
   * concurrent claims never get the same job.
   */
  claim(node: string, leaseMs: number): Promise<{ job: JobRecord; lease: JobLease } | undefined>;
  /** Extends the leases `node` still holds; returns those jobs (a job missing was lost). */
  renew(node: string, leaseMs: number): Promise<HeldJob[]>;
  /** Running jobs whose lease `node` holds. */
  held(node: string): Promise<number>;
  /** Ends a lease now (a node shutting down): the job stays running, for the next claim. */
  release(lease: JobLease): Promise<void>;
  /** The owner's first write: progress and the `state` event. False if the lease was lost. */
  markRunning(lease: JobLease, progress: Progress, event: NewEvent): Promise<boolean>;
  /** Records a cancel request; true if the job was still queued or running. */
  requestCancel(owner: string, id: string): Promise<boolean>;
  /**
   * Records a cancel request on every queued or running job of the owner (its key was revoked),
   * each signalled on `cancel` as `requestCancel` does; the ids of those jobs.
   */
  requestCancelAll(owner: string): Promise<string[]>;
  /** A queued job ends `cancelled` with its event, only if no node has claimed it. */
  cancelQueued(id: string, progress: Progress, event: NewEvent): Promise<boolean>;
  /**
   * The end of a job: state, progress, error or result, and the finishing event together; its
   * checkpoints but the last are dropped (the result holds the whole history). False if the lease
   * was lost.
   */
  finish(
    lease: JobLease,
    state: JobState,
    progress: Progress,
    error: JobError | null,
    result: unknown | undefined,
    event: NewEvent,
  ): Promise<boolean>;
  result<T>(id: string): Promise<T | undefined>;
}

/** The checkpoint a new job starts from: a generation's state and its statistics. */
export interface StartingPoint {
  state: SearchState;
  stats: unknown;
}

/** A checkpoint per finished generation: what a run resumes from, on any node. */
export interface CheckpointStore {
  /** One finished generation: checkpoint, job progress and events together. False: lease lost. */
  save(
    lease: JobLease,
    state: SearchState,
    stats: unknown,
    progress: Progress,
    events: NewEvent[],
  ): Promise<boolean>;
  /** The checkpoint of the highest generation. */
  latest(jobId: string): Promise<SearchState | undefined>;
  count(jobId: string): Promise<number>;
}

/** Each job's events, for its event streams on any node. */
export interface EventStore {
  /** Events in order; with `progress`, the job's stored progress too. False: lease lost. */
  append(lease: JobLease, events: NewEvent[], progress?: Progress): Promise<boolean>;
  /** The job's events after an id, in id order. */
  after(jobId: string, afterId: number, limit?: number): Promise<StoredEvent[]>;
  /** Resolves when an event of the job may have been stored, after timeoutMs, or on abort. */
  wait(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Uploaded and registered datasets (the bundled ones are not stored). Where `keepsFiles`, the
 * storage keeps the files too, so that every node can read them (service/datasets.ts copies them
 * into its own folder on first use); otherwise they live in a folder every node sees.
 */
export interface DatasetStore {
  readonly keepsFiles: boolean;
  /** The record, with its files where the storage keeps them, together. Rejects with
   * DuplicateKeyError when the owner has a dataset of the same `contentHash`. */
  insert(record: DatasetRecord, files?: Record<string, Uint8Array>): Promise<void>;
  /** The owner's dataset of this content, if any. */
  byContentHash(owner: string, hash: string): Promise<DatasetRecord | undefined>;
  get(owner: string, id: string): Promise<DatasetRecord | undefined>;
  getById(id: string): Promise<DatasetRecord | undefined>;
  /** Oldest first, after the cursor. */
  list(owner: string, limit: number, after?: CursorKey): Promise<Page<DatasetRecord>>;
  /** The record and its stored files; true if it existed. */
  delete(owner: string, id: string): Promise<boolean>;
  /** The stored files by name (empty where the storage keeps none). */
  files(id: string): Promise<Record<string, Uint8Array>>;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

/**
 * API keys. The secret is shown once, when it is created; only its SHA-256 is kept, so a copy of
 * the database does not give access (a fast hash is right: the secret is 160 random bits).
 */
export interface KeyStore {
  /** The new key's id and its secret (the bearer token). */
  create(name: string): Promise<{ id: string; token: string }>;
  /** The owner id of a live key. */
  verify(token: string): Promise<string | undefined>;
  /** Live keys: with none, the service runs in local mode. */
  activeCount(): Promise<number>;
  list(): Promise<ApiKeyInfo[]>;
  /** True if a live key was revoked. */
  revoke(id: string): Promise<boolean>;
}

export interface NodeInfo {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  /** Where it listens, once it does. */
  url?: string;
  /** The state of its workers at its last heartbeat (service/mod.ts WorkersStatus). */
  workers?: "ok" | "degraded" | "down";
}

/** The processes using the storage, each refreshing its row while it lives. */
export interface NodeStore {
  /** Registers the node or refreshes its heartbeat. */
  beat(node: NodeInfo): Promise<void>;
  /** Nodes whose last heartbeat is more recent than `withinMs`. */
  live(withinMs: number): Promise<NodeInfo[]>;
  remove(id: string): Promise<void>;
}

/** A request for a candidate operation, as any node's worker pool runs it. */
export interface EvaluationRequest {
  jobId: string;
  /** The stored datasets the context reads, by role (service/evaluators.ts DatasetIds). */
  datasetIds: { dataset: string; validation?: string; test?: string };
  /** Names the computation within the job: equal keys, equal answers. */
  key: string;
  /** The job's context (core/runner.ts JobContext). */
  context: unknown;
  op: string;
  args: unknown[];
}

/** A request as a node holds it: leased until it answers or stops renewing. */
export interface EvaluationTask extends EvaluationRequest {
  id: string;
  /** Which attempt this lease is: answers and renewals of an older attempt are refused. */
  attempt: number;
}

export type EvaluationAnswer =
  | { ok: true; result: unknown }
  | {
    ok: false;
    error: string;
    contextFailed?: boolean;
    /** No node could run it (its leases were lost again and again): not the request's fault. */
    unavailable?: boolean;
  };

/**
 * The queue of candidate evaluations shared by the nodes of one database (PostgreSQL only).
 * Requests are deduplicated by (job, key): a search taken over by another node finds the answers
 * and leases of the requests its previous owner made. A lease that is not renewed expires and
 * the request goes to another node, a few times at most, then it is answered with an error.
 */
export interface EvaluationQueue {
  readonly leaseMs: number;
  /** Posts the request unless (job, key) is already there, and resolves with its answer. */
  request(request: EvaluationRequest, signal?: AbortSignal): Promise<EvaluationAnswer>;
  /** Leases up to `max` requests, oldest first. */
  take(max: number): Promise<EvaluationTask[]>;
  /** Extends the lease; false once it was lost (expired and re-leased, or cancelled). */
  renew(task: EvaluationTask): Promise<boolean>;
  /** Answers the request; false if this attempt had lost its lease. */
  answer(task: EvaluationTask, answer: EvaluationAnswer): Promise<boolean>;
  /** Drops the job's unanswered requests: their waiters reject, their holders' renewals fail. */
  cancel(jobId: string): Promise<void>;
  /** Deletes every request of the job (it finished). */
  forget(jobId: string): Promise<void>;
  /** Requests waiting for a node, and leased (the monitor's count, refreshed periodically). */
  depth(): Promise<{ queued: number; active: number }>;
  /** Calls `fn` when requests may be waiting, or when a job's requests were cancelled. */
  onReady(fn: () => void): () => void;
  onCancelled(fn: (jobId: string) => void): () => void;
}

export interface Storage {
  readonly engine: "sqlite" | "postgres";
  /** Where it is, for messages (a file, or a URL without its password). */
  readonly location: string;
  /** Only one service process may use it (SQLite): leases of earlier processes are void. */
  readonly singleProcess: boolean;
  readonly jobs: JobStore;
  readonly checkpoints: CheckpointStore;
  readonly events: EventStore;
  readonly datasets: DatasetStore;
  readonly keys: KeyStore;
  readonly nodes: NodeStore;
  /** Shared by several nodes; absent where one process runs everything. */
  readonly evaluations?: EvaluationQueue;
  /** Calls `fn` with the payload of each signal of the channel, from any process. */
  listen(channel: "jobs" | "cancel", fn: (payload: string) => void): () => void;
  close(): Promise<void>;
}
