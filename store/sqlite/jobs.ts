/**
 * Jobs, checkpoints and events in SQLite. Writes that go together are one `BEGIN IMMEDIATE`
 * transaction; SQLite has one writer at a time, so commit order is id order and the events of a
 * job are always seen in order. Leases count in milliseconds of this process's clock: only one
 * service process uses the file (store/sqlite/lock.ts).
 */
import type { Db } from "./db.ts";
import { encodeCursor } from "../cursor.ts";
import type { CursorKey } from "../cursor.ts";
import { nowIso } from "../ids.ts";
import type { SearchState } from "../../core/search.ts";
import type { Progress } from "../../core/progress.ts";
import type { JobError, JobFilter, JobRecord, JobState, Page, StoredEvent } from "../types.ts";
import {
  eventFromRow,
  jobFromRow,
  jobParams,
  json,
  mergeLabels,
  pageOf,
  parseJson,
} from "../rows.ts";
import {
  type CheckpointStore,
  DuplicateKeyError,
  type EventStore,
  type HeldJob,
  type JobLease,
  type JobStore,
  type NewEvent,
  type StartingPoint,
} from "../storage.ts";
import type { Signals } from "../signals.ts";

/** Writes one event; its id. */
function insertEvent(db: Db, id: string, e: NewEvent): number {
  return db.run(
    "INSERT INTO events (job_id, type, data, created_at) VALUES (:id, :type, :data, :at)",
    { id, type: e.type, data: json(e.data), at: nowIso() },
  ).lastInsertRowid;
}

function insertCheckpoint(db: Db, id: string, { state, stats }: StartingPoint): void {
  db.run(
    `INSERT INTO checkpoints (job_id, generation, state, stats, created_at)
     VALUES (:id, :generation, :state, :stats, :at)`,
    { id, generation: state.generation, state: json(state), stats: json(stats), at: nowIso() },
  );
}

/** Whether the lease still holds the job (inside the writing transaction). */
function holds(db: Db, lease: JobLease): boolean {
  return db.get(
    `SELECT 1 AS ok FROM jobs WHERE id = :id AND node = :node AND run = :run
       AND state = 'running'`,
    { id: lease.jobId, node: lease.node, run: lease.run },
  ) !== undefined;
}

/**
 * The owner's writes of a running job, in one transaction if the lease still holds it: `first`,
 * then the job's progress (when given) and its events; the event streams are woken after commit.
 */
function underLease(
  db: Db,
  signals: Signals,
  lease: JobLease,
  progress: Progress | undefined,
  events: NewEvent[],
  first = () => {},
): boolean {
  const id = lease.jobId;
  const ok = db.tx(() => {
    if (!holds(db, lease)) return false;
    first();
    if (progress) {
      db.run("UPDATE jobs SET progress = :progress WHERE id = :id", {
        id,
        progress: json(progress),
      });
    }
    for (const e of events) insertEvent(db, id, e);
    return true;
  });
  if (ok) signals.emit("events", id);
  return ok;
}

export class SqliteJobs implements JobStore {
  constructor(private readonly db: Db, private readonly signals: Signals) {}

  insert(job: JobRecord, event: NewEvent, start?: StartingPoint): Promise<void> {
    try {
      this.db.tx(() => {
        this.db.run(
          `INSERT INTO jobs (id, owner, name, labels, continues, state, dataset_id, data_info,
             request, config, request_hash, idempotency_key, progress, error, cancel_requested,
             created_at, started_at, finished_at)
           VALUES (:id, :owner, :name, :labels, :continues, :state, :datasetId, :dataInfo,
             :request, :config, :requestHash, :idempotencyKey, :progress, NULL, 0, :createdAt,
             NULL, NULL)`,
          jobParams(job),
        );
        if (start) insertCheckpoint(this.db, job.id, start);
        insertEvent(this.db, job.id, event);
      });
    } catch (e) {
      if (/UNIQUE constraint failed: jobs\.owner, jobs\.idempotency_key/.test(String(e))) {
        return Promise.reject(new DuplicateKeyError(`idempotency key ${job.idempotencyKey}`));
      }
      return Promise.reject(e);
    }
    this.signals.emit("events", job.id);
    this.signals.emit("jobs", job.id);
    return Promise.resolve();
  }

  get(owner: string, id: string): Promise<JobRecord | undefined> {
    const r = this.db.get("SELECT * FROM jobs WHERE id = :id AND owner = :owner", { id, owner });
    return Promise.resolve(r && jobFromRow(r));
  }

  getById(id: string): Promise<JobRecord | undefined> {
    const r = this.db.get("SELECT * FROM jobs WHERE id = :id", { id });
    return Promise.resolve(r && jobFromRow(r));
  }

  byIdempotencyKey(owner: string, key: string): Promise<JobRecord | undefined> {
    const r = this.db.get(
      "SELECT * FROM jobs WHERE owner = :owner AND idempotency_key = :key",
      { owner, key },
    );
    return Promise.resolve(r && jobFromRow(r));
  }

  list(
    owner: string,
    limit: number,
    filter: JobFilter = {},
    after?: CursorKey,
  ): Promise<Page<JobRecord>> {
    const params: Record<string, string | number | null> = {
      owner,
      state: filter.state ?? null,
      name: filter.name ?? null,
      at: after?.createdAt ?? null,
      id: after?.id ?? null,
      limit: limit + 1,
    };
    // Each label condition with parameters of its own: the keys are JSON paths, never SQL.
    const labels = (filter.labels ?? []).map(([key, value], i) => {
      params[`path${i}`] = `$.${JSON.stringify(key)}`;
      if (value === undefined) return `AND json_type(labels, :path${i}) IS NOT NULL`;
      params[`value${i}`] = value;
      return `AND json_extract(labels, :path${i}) = :value${i}`;
    }).join(" ");
    const rows = this.db.all(
      `SELECT * FROM jobs WHERE owner = :owner AND (:state IS NULL OR state = :state)
         AND (:name IS NULL OR name = :name) ${labels}
         AND (:at IS NULL OR (created_at, id) < (:at, :id))
       ORDER BY created_at DESC, id DESC LIMIT :limit`,
      params,
    ).map(jobFromRow);
    return Promise.resolve(pageOf(rows, limit, encodeCursor));
  }

  relabel(
    owner: string,
    id: string,
    change: { name?: string | null; labels?: Record<string, string | null> },
    maxLabels = Infinity,
  ): Promise<JobRecord | undefined> {
    const relabel = () =>
      this.db.tx(() => {
        const row = this.db.get("SELECT * FROM jobs WHERE id = :id AND owner = :owner", {
          id,
          owner,
        });
        if (!row) return undefined;
        const job = jobFromRow(row);
        const name = change.name === undefined ? job.name : change.name;
        const labels = mergeLabels(job.labels, change.labels, maxLabels);
        this.db.run("UPDATE jobs SET name = :name, labels = :labels WHERE id = :id", {
          id,
          name,
          labels: json(labels),
        });
        return { ...job, name, labels };
      });
    try {
      return Promise.resolve(relabel());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  delete(owner: string, id: string): Promise<boolean> {
    // The events, checkpoints and result go with the row (ON DELETE CASCADE).
    const ok = this.db.run("DELETE FROM jobs WHERE id = :id AND owner = :owner", { id, owner })
      .changes > 0;
    if (ok) this.#deleted([id]);
    return Promise.resolve(ok);
  }

  deleteFinishedBefore(before: string, limit: number): Promise<string[]> {
    const ids = this.db.all<{ id: string }>(
      `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
         WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < :before
         ORDER BY finished_at, id LIMIT :limit)
       RETURNING id`,
      { before, limit },
    ).map((r) => r.id);
    this.#deleted(ids);
    return Promise.resolve(ids);
  }

  /** Whoever still runs or follows a deleted job learns it now. */
  #deleted(ids: string[]): void {
    for (const id of ids) {
      this.signals.emit("cancel", id);
      this.signals.emit("events", id);
    }
  }

  countActive(owner: string): Promise<number> {
    return Promise.resolve(
      this.db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM jobs WHERE owner = :owner AND state IN ('queued', 'running')",
        { owner },
      )!.n,
    );
  }

  countByState(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (
      const r of this.db.all<{ state: string; n: number }>(
        "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state",
      )
    ) out[r.state] = r.n;
    return Promise.resolve(out);
  }

  activeUsing(datasetId: string): Promise<number> {
    return Promise.resolve(
      this.db.get<{ n: number }>(
        `SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running')
           AND (dataset_id = :datasetId OR json_extract(request, '$.validation') = :datasetId
             OR json_extract(request, '$.test') = :datasetId)`,
        { datasetId },
      )!.n,
    );
  }

  claim(node: string, leaseMs: number): Promise<{ job: JobRecord; lease: JobLease } | undefined> {
    const now = Date.now();
    // Interrupted jobs first (they were submitted earlier), then the queue in submission order.
    const r = this.db.get(
      `UPDATE jobs SET state = 'running', node = :node, run = run + 1, lease_expires_at = :until
       WHERE id = (SELECT id FROM jobs
         WHERE state = 'queued' OR (state = 'running' AND lease_expires_at < :now)
         ORDER BY state = 'running' DESC, created_at, id LIMIT 1)
       RETURNING *`,
      { node, now, until: now + leaseMs },
    );
    if (!r) return Promise.resolve(undefined);
    const job = jobFromRow(r);
    return Promise.resolve({ job, lease: { jobId: job.id, node, run: Number(r.run) } });
  }

  renew(node: string, leaseMs: number): Promise<HeldJob[]> {
    const rows = this.db.all(
      `UPDATE jobs SET lease_expires_at = :until WHERE node = :node AND state = 'running'
       RETURNING id, run, cancel_requested`,
      { node, until: Date.now() + leaseMs },
    );
    return Promise.resolve(rows.map((r) => ({
      jobId: r.id as string,
      run: Number(r.run),
      cancelRequested: Boolean(r.cancel_requested),
    })));
  }

  held(node: string): Promise<number> {
    return Promise.resolve(
      this.db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM jobs WHERE node = :node AND state = 'running'",
        { node },
      )!.n,
    );
  }

  release(lease: JobLease): Promise<void> {
    const changed = this.db.run(
      `UPDATE jobs SET lease_expires_at = 0 WHERE id = :id AND node = :node AND run = :run
         AND state = 'running'`,
      { id: lease.jobId, node: lease.node, run: lease.run },
    ).changes;
    if (changed) this.signals.emit("jobs", lease.jobId);
    return Promise.resolve();
  }

  markRunning(lease: JobLease, progress: Progress, event: NewEvent): Promise<boolean> {
    const ok = this.db.tx(() => {
      if (!holds(this.db, lease)) return false;
      this.db.run(
        `UPDATE jobs SET progress = :progress, started_at = COALESCE(started_at, :at)
         WHERE id = :id`,
        { id: lease.jobId, progress: json(progress), at: nowIso() },
      );
      insertEvent(this.db, lease.jobId, event);
      return true;
    });
    if (ok) this.signals.emit("events", lease.jobId);
    return Promise.resolve(ok);
  }

  requestCancel(owner: string, id: string): Promise<boolean> {
    const ok = this.db.run(
      `UPDATE jobs SET cancel_requested = 1 WHERE id = :id AND owner = :owner
         AND state IN ('queued', 'running')`,
      { id, owner },
    ).changes > 0;
    if (ok) this.signals.emit("cancel", id);
    return Promise.resolve(ok);
  }

  requestCancelAll(owner: string): Promise<string[]> {
    const ids = this.db.all<{ id: string }>(
      `UPDATE jobs SET cancel_requested = 1 WHERE owner = :owner
         AND state IN ('queued', 'running') RETURNING id`,
      { owner },
    ).map((r) => r.id);
    for (const id of ids) this.signals.emit("cancel", id);
    return Promise.resolve(ids);
  }

  cancelQueued(id: string, progress: Progress, event: NewEvent): Promise<boolean> {
    const ok = this.db.tx(() => {
      const changed = this.db.run(
        `UPDATE jobs SET state = 'cancelled', cancel_requested = 1, progress = :progress,
           finished_at = :at WHERE id = :id AND state = 'queued'`,
        { id, progress: json(progress), at: nowIso() },
      ).changes;
      if (changed) insertEvent(this.db, id, event);
      return changed > 0;
    });
    if (ok) this.signals.emit("events", id);
    return Promise.resolve(ok);
  }

  finish(
    lease: JobLease,
    state: JobState,
    progress: Progress,
    error: JobError | null,
    result: unknown | undefined,
    event: NewEvent,
  ): Promise<boolean> {
    const id = lease.jobId;
    const ok = this.db.tx(() => {
      if (!holds(this.db, lease)) return false;
      this.db.run(
        `UPDATE jobs SET state = :state, progress = :progress, error = :error, finished_at = :at,
           lease_expires_at = 0 WHERE id = :id`,
        { id, state, progress: json(progress), error: error && json(error), at: nowIso() },
      );
      if (result !== undefined) {
        this.db.run("INSERT OR REPLACE INTO results (job_id, result) VALUES (:id, :result)", {
          id,
          result: json(result),
        });
      }
      insertEvent(this.db, id, event);
      this.db.run(
        `DELETE FROM checkpoints WHERE job_id = :id
           AND generation < (SELECT MAX(generation) FROM checkpoints WHERE job_id = :id)`,
        { id },
      );
      return true;
    });
    if (ok) this.signals.emit("events", id);
    return Promise.resolve(ok);
  }

  result<T>(id: string): Promise<T | undefined> {
    const r = this.db.get<{ result: string }>("SELECT result FROM results WHERE job_id = :id", {
      id,
    });
    return Promise.resolve(r && parseJson<T>(r.result));
  }
}

export class SqliteCheckpoints implements CheckpointStore {
  constructor(private readonly db: Db, private readonly signals: Signals) {}

  save(
    lease: JobLease,
    state: SearchState,
    stats: unknown,
    progress: Progress,
    events: NewEvent[],
  ): Promise<boolean> {
    return Promise.resolve(
      underLease(
        this.db,
        this.signals,
        lease,
        progress,
        events,
        () => insertCheckpoint(this.db, lease.jobId, { state, stats }),
      ),
    );
  }

  latest(jobId: string): Promise<SearchState | undefined> {
    const r = this.db.get<{ state: string }>(
      "SELECT state FROM checkpoints WHERE job_id = :id ORDER BY generation DESC LIMIT 1",
      { id: jobId },
    );
    return Promise.resolve(r && parseJson<SearchState>(r.state));
  }

  count(jobId: string): Promise<number> {
    return Promise.resolve(
      this.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM checkpoints WHERE job_id = :id", {
        id: jobId,
      })!.n,
    );
  }
}

export class SqliteEvents implements EventStore {
  constructor(private readonly db: Db, private readonly signals: Signals) {}

  append(lease: JobLease, events: NewEvent[], progress?: Progress): Promise<boolean> {
    return Promise.resolve(underLease(this.db, this.signals, lease, progress, events));
  }

  after(jobId: string, afterId: number, limit = 500): Promise<StoredEvent[]> {
    return Promise.resolve(
      this.db.all(
        `SELECT * FROM events WHERE job_id = :id AND id > :after ORDER BY id LIMIT :limit`,
        { id: jobId, after: afterId, limit },
      ).map(eventFromRow),
    );
  }

  wait(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.signals.wait("events", jobId, timeoutMs, signal);
  }
}
