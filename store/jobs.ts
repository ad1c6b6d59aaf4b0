/**
 * Search jobs with their checkpoints, events and results. The writes that go together (a
 * generation's checkpoint with the job's progress and its events; a job's end with its result)
 * are single transactions, so a reader, or a restart after a kill, sees all of one or none.
 */
import { type Db, json, parseJson, type Row } from "./db.ts";
import { type CursorKey, encodeCursor } from "./cursor.ts";
import { nowIso } from "./ids.ts";
import type { SearchConfig, SearchState } from "../core/search.ts";
import { upgradeSettings } from "../core/settings.ts";
import type { Progress } from "../core/progress.ts";
import type { JobError, JobRecord, JobState, Page, StoredEvent } from "./types.ts";

export interface NewEvent {
  type: string;
  data: unknown;
}

/** A stored configuration, from whichever version wrote it, in today's shape. */
function storedConfig(raw: SearchConfig): SearchConfig {
  return { ...upgradeSettings(raw as unknown as Record<string, unknown>), dataset: raw.dataset };
}

function fromRow(r: Row): JobRecord {
  return {
    id: r.id as string,
    owner: r.owner as string,
    state: r.state as JobState,
    datasetId: r.dataset_id as string,
    dataInfo: parseJson(r.data_info),
    request: parseJson(r.request),
    config: storedConfig(parseJson(r.config)),
    requestHash: r.request_hash as string,
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    progress: parseJson(r.progress),
    error: r.error === null ? null : parseJson<JobError>(r.error),
    cancelRequested: r.cancel_requested === 1,
    createdAt: r.created_at as string,
    startedAt: (r.started_at as string | null) ?? null,
    finishedAt: (r.finished_at as string | null) ?? null,
  };
}

export class JobStore {
  constructor(private readonly db: Db) {}

  /** Inserts a job and its first event together. */
  insert(job: JobRecord, event: NewEvent): void {
    this.db.tx(() => {
      this.db.run(
        `INSERT INTO jobs (id, owner, state, dataset_id, data_info, request, config, request_hash,
           idempotency_key, progress, error, cancel_requested, created_at, started_at, finished_at)
         VALUES (:id, :owner, :state, :datasetId, :dataInfo, :request, :config, :requestHash,
           :idempotencyKey, :progress, NULL, 0, :createdAt, NULL, NULL)`,
        {
          id: job.id,
          owner: job.owner,
          state: job.state,
          datasetId: job.datasetId,
          dataInfo: json(job.dataInfo),
          request: json(job.request),
          config: json(job.config),
          requestHash: job.requestHash,
          idempotencyKey: job.idempotencyKey,
          progress: json(job.progress),
          createdAt: job.createdAt,
        },
      );
      this.#event(job.id, event);
    });
  }

  get(owner: string, id: string): JobRecord | undefined {
    const r = this.db.get("SELECT * FROM jobs WHERE id = :id AND owner = :owner", { id, owner });
    return r && fromRow(r);
  }

  /** For the job manager, which acts for every owner. */
  getById(id: string): JobRecord | undefined {
    const r = this.db.get("SELECT * FROM jobs WHERE id = :id", { id });
    return r && fromRow(r);
  }

  byIdempotencyKey(owner: string, key: string): JobRecord | undefined {
    const r = this.db.get(
      "SELECT * FROM jobs WHERE owner = :owner AND idempotency_key = :key",
      { owner, key },
    );
    return r && fromRow(r);
  }

  /** Newest first. */
  list(owner: string, limit: number, state?: JobState, after?: CursorKey): Page<JobRecord> {
    const rows = this.db.all(
      `SELECT * FROM jobs WHERE owner = :owner AND (:state IS NULL OR state = :state)
         AND (:at IS NULL OR (created_at, id) < (:at, :id))
       ORDER BY created_at DESC, id DESC LIMIT :limit`,
      {
        owner,
        state: state ?? null,
        at: after?.createdAt ?? null,
        id: after?.id ?? null,
        limit: limit + 1,
      },
    ).map(fromRow);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return rows.length > limit ? { items, nextCursor: encodeCursor(last) } : { items };
  }

  /** Jobs in a state, oldest first (the queue order). */
  inState(state: JobState): JobRecord[] {
    return this.db.all("SELECT * FROM jobs WHERE state = :state ORDER BY created_at, id", {
      state,
    }).map(fromRow);
  }

  countActive(owner: string): number {
    return this.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM jobs WHERE owner = :owner AND state IN ('queued', 'running')",
      { owner },
    )!.n;
  }

  countByState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (
      const r of this.db.all<{ state: string; n: number }>(
        "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state",
      )
    ) out[r.state] = r.n;
    return out;
  }

  /** Queued or running jobs that use a dataset. */
  activeUsing(datasetId: string): number {
    return this.db.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM jobs WHERE dataset_id = :datasetId
         AND state IN ('queued', 'running')`,
      { datasetId },
    )!.n;
  }

  markRunning(id: string, progress: Progress, event: NewEvent): void {
    this.db.tx(() => {
      this.db.run(
        `UPDATE jobs SET state = 'running', progress = :progress,
           started_at = COALESCE(started_at, :at) WHERE id = :id`,
        { id, progress: json(progress), at: nowIso() },
      );
      this.#event(id, event);
    });
  }

  /** A running job goes back to the queue (service restart): its checkpoints stay. */
  requeue(id: string): void {
    this.db.run("UPDATE jobs SET state = 'queued' WHERE id = :id AND state = 'running'", { id });
  }

  /** Sets the flag; true if the job was still queued or running. */
  requestCancel(owner: string, id: string): boolean {
    return this.db.run(
      `UPDATE jobs SET cancel_requested = 1 WHERE id = :id AND owner = :owner
         AND state IN ('queued', 'running')`,
      { id, owner },
    ).changes > 0;
  }

  /** Asks every queued or running search of an owner to stop (a revoked key); their count. */
  requestCancelAll(owner: string): number {
    return this.db.run(
      `UPDATE jobs SET cancel_requested = 1 WHERE owner = :owner
         AND state IN ('queued', 'running')`,
      { owner },
    ).changes;
  }

  /** Unfinished searches asked to stop, whoever asked (this process or another). */
  cancelRequestedIds(): string[] {
    return this.db.all<{ id: string }>(
      `SELECT id FROM jobs WHERE cancel_requested = 1 AND state IN ('queued', 'running')`,
    ).map((r) => r.id);
  }

  /** One finished generation: checkpoint, progress and events, all or nothing. */
  saveGeneration(
    id: string,
    state: SearchState,
    stats: unknown,
    progress: Progress,
    events: NewEvent[],
  ): void {
    this.db.tx(() => {
      this.db.run(
        `INSERT INTO checkpoints (job_id, generation, state, stats, created_at)
         VALUES (:id, :generation, :state, :stats, :at)`,
        { id, generation: state.generation, state: json(state), stats: json(stats), at: nowIso() },
      );
      this.db.run("UPDATE jobs SET progress = :progress WHERE id = :id", {
        id,
        progress: json(progress),
      });
      for (const e of events) this.#event(id, e);
    });
  }

  latestCheckpoint(id: string): SearchState | undefined {
    const r = this.db.get<{ state: string }>(
      "SELECT state FROM checkpoints WHERE job_id = :id ORDER BY generation DESC LIMIT 1",
      { id },
    );
    return r && parseJson<SearchState>(r.state);
  }

  /** A finished job keeps only its last checkpoint: its result holds the whole history. */
  pruneCheckpoints(id: string): void {
    this.db.run(
      `DELETE FROM checkpoints WHERE job_id = :id
         AND generation < (SELECT MAX(generation) FROM checkpoints WHERE job_id = :id)`,
      { id },
    );
  }

  checkpointCount(id: string): number {
    return this.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM checkpoints WHERE job_id = :id", {
      id,
    })!.n;
  }

  /** The end of a job: state, progress, error or result, and the finishing event together. */
  finish(
    id: string,
    state: JobState,
    progress: Progress,
    error: JobError | null,
    result: unknown | undefined,
    event: NewEvent,
  ): void {
    this.db.tx(() => {
      this.db.run(
        `UPDATE jobs SET state = :state, progress = :progress, error = :error, finished_at = :at
         WHERE id = :id`,
        { id, state, progress: json(progress), error: error && json(error), at: nowIso() },
      );
      if (result !== undefined) {
        this.db.run("INSERT OR REPLACE INTO results (job_id, result) VALUES (:id, :result)", {
          id,
          result: json(result),
        });
      }
      this.#event(id, event);
    });
  }

  result<T>(id: string): T | undefined {
    const r = this.db.get<{ result: string }>("SELECT result FROM results WHERE job_id = :id", {
      id,
    });
    return r && parseJson<T>(r.result);
  }

  appendEvent(id: string, event: NewEvent): number {
    return this.#event(id, event);
  }

  eventsAfter(id: string, afterId: number, limit = 500): StoredEvent[] {
    return this.db.all(
      `SELECT * FROM events WHERE job_id = :id AND id > :after ORDER BY id LIMIT :limit`,
      { id, after: afterId, limit },
    ).map((r) => ({
      id: r.id as number,
      jobId: r.job_id as string,
      type: r.type as string,
      data: parseJson(r.data),
      createdAt: r.created_at as string,
    }));
  }

  #event(id: string, e: NewEvent): number {
    return this.db.run(
      "INSERT INTO events (job_id, type, data, created_at) VALUES (:id, :type, :data, :at)",
      { id, type: e.type, data: json(e.data), at: nowIso() },
    ).lastInsertRowid;
  }
}
