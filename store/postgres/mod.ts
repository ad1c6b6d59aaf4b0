/**
 * The PostgreSQL storage: one database shared by any number of nodes. Every write a running
 * job's owner makes first locks the job's row and checks the lease (`held`), in the transaction
 * of the write: a node that lost the lease writes nothing, and the writes of one job, its events
 * included, commit one after another, so event ids grow in commit order within a job. Signals go
 * out with NOTIFY inside the transaction, which PostgreSQL delivers at commit.
 */
import { PgDb, type Query } from "./db.ts";
import { migrate } from "./schema.ts";
import { EVALUATION_CHANNELS, PgBossEvaluations } from "./evaluations.ts";
import { type CursorKey, encodeCursor } from "../cursor.ts";
import { nowIso, randomId, sha256Hex } from "../ids.ts";
import {
  datasetFromRow,
  datasetParams,
  eventFromRow,
  jobFromRow,
  jobParams,
  json,
  mergeLabels,
  pageOf,
  parseJson,
} from "../rows.ts";
import type { SearchState } from "../../core/search.ts";
import type { Progress } from "../../core/progress.ts";
import type {
  DatasetRecord,
  JobError,
  JobFilter,
  JobRecord,
  JobState,
  Page,
  StoredEvent,
} from "../types.ts";
import {
  type ApiKeyInfo,
  type CheckpointStore,
  type DatasetStore,
  DuplicateKeyError,
  type EventStore,
  type HeldJob,
  type JobLease,
  type JobStore,
  type KeyStore,
  type NewEvent,
  type NodeInfo,
  type NodeStore,
  type StartingPoint,
  type Storage,
} from "../storage.ts";

/** NOTIFY channels, by signal. */
const CHANNEL = { events: "lossmith_events", jobs: "lossmith_jobs", cancel: "lossmith_cancel" };

const notify = (q: Query, channel: keyof typeof CHANNEL, payload: string) =>
  q("SELECT pg_notify($1, $2)", [CHANNEL[channel], payload]);

async function insertEvent(q: Query, id: string, e: NewEvent): Promise<void> {
  await q("INSERT INTO events (job_id, type, data, created_at) VALUES ($1, $2, $3, $4)", [
    id,
    e.type,
    json(e.data),
    nowIso(),
  ]);
}

async function insertCheckpoint(q: Query, id: string, { state, stats }: StartingPoint) {
  await q(
    `INSERT INTO checkpoints (job_id, generation, state, stats, created_at)
     VALUES ($1, $2, $3, $4, $5)`,
    [id, state.generation, json(state), json(stats), nowIso()],
  );
}

/** Locks the job's row if the lease still holds it. */
async function held(q: Query, lease: JobLease): Promise<boolean> {
  const rows = await q(
    `SELECT 1 FROM jobs WHERE id = $1 AND node = $2 AND run = $3 AND state = 'running'
     FOR UPDATE`,
    [lease.jobId, lease.node, lease.run],
  );
  return rows.length > 0;
}

const ms = "* interval '1 millisecond'";

/**
 * The owner's writes of a running job, in one transaction if the lease still holds it (its row
 * locked): `first`, then the job's progress (when given) and its events, then the NOTIFY.
 */
function underLease(
  db: PgDb,
  lease: JobLease,
  progress: Progress | undefined,
  events: NewEvent[],
  first: (q: Query) => Promise<unknown> = () => Promise.resolve(),
): Promise<boolean> {
  const id = lease.jobId;
  return db.tx(async (q) => {
    if (!await held(q, lease)) return false;
    await first(q);
    if (progress) await q("UPDATE jobs SET progress = $2 WHERE id = $1", [id, json(progress)]);
    for (const e of events) await insertEvent(q, id, e);
    await notify(q, "events", id);
    return true;
  });
}

class PgJobs implements JobStore {
  constructor(private readonly db: PgDb) {}

  async insert(job: JobRecord, event: NewEvent, start?: StartingPoint): Promise<void> {
    const p = jobParams(job);
    try {
      await this.db.tx(async (q) => {
        await q(
          `INSERT INTO jobs (id, owner, state, dataset_id, data_info, request, config,
             request_hash, idempotency_key, progress, created_at, name, labels, continues)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [
            p.id,
            p.owner,
            p.state,
            p.datasetId,
            p.dataInfo,
            p.request,
            p.config,
            p.requestHash,
            p.idempotencyKey,
            p.progress,
            p.createdAt,
            p.name,
            p.labels,
            p.continues,
          ],
        );
        if (start) await insertCheckpoint(q, job.id, start);
        await insertEvent(q, job.id, event);
        await notify(q, "events", job.id);
        await notify(q, "jobs", job.id);
      });
    } catch (e) {
      if ((e as { code?: string }).code === "23505" && /idempotency/.test(String(e))) {
        throw new DuplicateKeyError(`idempotency key ${job.idempotencyKey}`);
      }
      throw e;
    }
  }

  async #one(sql: string, params: unknown[]): Promise<JobRecord | undefined> {
    const [r] = await this.db.query(sql, params);
    return r && jobFromRow(r);
  }

  get(owner: string, id: string): Promise<JobRecord | undefined> {
    return this.#one("SELECT * FROM jobs WHERE id = $1 AND owner = $2", [id, owner]);
  }

  getById(id: string): Promise<JobRecord | undefined> {
    return this.#one("SELECT * FROM jobs WHERE id = $1", [id]);
  }

  byIdempotencyKey(owner: string, key: string): Promise<JobRecord | undefined> {
    return this.#one("SELECT * FROM jobs WHERE owner = $1 AND idempotency_key = $2", [owner, key]);
  }

  async list(
    owner: string,
    limit: number,
    filter: JobFilter = {},
    after?: CursorKey,
  ): Promise<Page<JobRecord>> {
    const params: unknown[] = [
      owner,
      filter.state ?? null,
      after?.createdAt ?? null,
      after?.id ?? null,
      limit + 1,
      filter.name ?? null,
    ];
    const labels = (filter.labels ?? []).map(([key, value]) => {
      params.push(key);
      const k = `$${params.length}`;
      if (value === undefined) return `AND jsonb_exists(labels::jsonb, ${k})`;
      params.push(value);
      return `AND labels::jsonb ->> ${k} = $${params.length}`;
    }).join(" ");
    const rows = (await this.db.query(
      `SELECT * FROM jobs WHERE owner = $1 AND ($2::text IS NULL OR state = $2)
         AND ($6::text IS NULL OR name = $6) ${labels}
         AND ($3::text IS NULL OR (created_at, id) < ($3, $4))
       ORDER BY created_at DESC, id DESC LIMIT $5`,
      params,
    )).map(jobFromRow);
    return pageOf(rows, limit, encodeCursor);
  }

  relabel(
    owner: string,
    id: string,
    change: { name?: string | null; labels?: Record<string, string | null> },
    maxLabels = Infinity,
  ): Promise<JobRecord | undefined> {
    return this.db.tx(async (q) => {
      const [row] = await q("SELECT * FROM jobs WHERE id = $1 AND owner = $2 FOR UPDATE", [
        id,
        owner,
      ]);
      if (!row) return undefined;
      const job = jobFromRow(row);
      const name = change.name === undefined ? job.name : change.name;
      const labels = mergeLabels(job.labels, change.labels, maxLabels);
      await q("UPDATE jobs SET name = $2, labels = $3 WHERE id = $1", [id, name, json(labels)]);
      return { ...job, name, labels };
    });
  }

  /**
   * The row goes with its events, checkpoints and result (ON DELETE CASCADE). The owner's writes
   * lock the row and check the lease first (`held`), so a write in progress commits before the
   * delete, and one after it finds no row: nothing of the job is written again.
   */
  delete(owner: string, id: string): Promise<boolean> {
    return this.db.tx(async (q) => {
      const rows = await q("DELETE FROM jobs WHERE id = $1 AND owner = $2 RETURNING id", [
        id,
        owner,
      ]);
      for (const r of rows) await this.#deleted(q, r.id as string);
      return rows.length > 0;
    });
  }

  deleteFinishedBefore(before: string, limit: number): Promise<string[]> {
    return this.db.tx(async (q) => {
      const rows = await q(
        `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
           WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < $1
           ORDER BY finished_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [before, limit],
      );
      for (const r of rows) await this.#deleted(q, r.id as string);
      return rows.map((r) => r.id as string);
    });
  }

  /** Whoever still runs or follows a deleted job learns it at commit. */
  async #deleted(q: Query, id: string): Promise<void> {
    await notify(q, "cancel", id);
    await notify(q, "events", id);
  }

  async #count(sql: string, params: unknown[]): Promise<number> {
    return Number((await this.db.query(sql, params))[0].n);
  }

  countActive(owner: string): Promise<number> {
    return this.#count(
      "SELECT COUNT(*) AS n FROM jobs WHERE owner = $1 AND state IN ('queued', 'running')",
      [owner],
    );
  }

  async countByState(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await this.db.query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")) {
      out[r.state as string] = Number(r.n);
    }
    return out;
  }

  activeUsing(datasetId: string): Promise<number> {
    return this.#count(
      `SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running')
         AND (dataset_id = $1 OR request::jsonb ->> 'validation' = $1
           OR request::jsonb ->> 'test' = $1)`,
      [datasetId],
    );
  }

  async claim(
    node: string,
    leaseMs: number,
  ): Promise<{ job: JobRecord; lease: JobLease } | undefined> {
    // SKIP LOCKED: concurrent claims pass over the row another claim is taking.
    const [r] = await this.db.query(
      `UPDATE jobs SET state = 'running', node = $1, run = run + 1,
         lease_expires_at = now() + $2 ${ms}
       WHERE id = (SELECT id FROM jobs
         WHERE state = 'queued' OR (state = 'running' AND lease_expires_at < now())
         ORDER BY state = 'running' DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [node, leaseMs],
    );
    if (!r) return undefined;
    const job = jobFromRow(r);
    return { job, lease: { jobId: job.id, node, run: Number(r.run) } };
  }

  async renew(node: string, leaseMs: number): Promise<HeldJob[]> {
    const rows = await this.db.query(
      `UPDATE jobs SET lease_expires_at = now() + $2 ${ms} WHERE node = $1 AND state = 'running'
       RETURNING id, run, cancel_requested`,
      [node, leaseMs],
    );
    return rows.map((r) => ({
      jobId: r.id as string,
      run: Number(r.run),
      cancelRequested: Boolean(r.cancel_requested),
    }));
  }

  held(node: string): Promise<number> {
    return this.#count("SELECT COUNT(*) AS n FROM jobs WHERE node = $1 AND state = 'running'", [
      node,
    ]);
  }

  async release(lease: JobLease): Promise<void> {
    await this.db.tx(async (q) => {
      const rows = await q(
        `UPDATE jobs SET lease_expires_at = now() - interval '1 millisecond'
         WHERE id = $1 AND node = $2 AND run = $3 AND state = 'running' RETURNING id`,
        [lease.jobId, lease.node, lease.run],
      );
      if (rows.length) await notify(q, "jobs", lease.jobId);
    });
  }

  markRunning(lease: JobLease, progress: Progress, event: NewEvent): Promise<boolean> {
    return this.db.tx(async (q) => {
      if (!await held(q, lease)) return false;
      await q(
        "UPDATE jobs SET progress = $2, started_at = COALESCE(started_at, $3) WHERE id = $1",
        [lease.jobId, json(progress), nowIso()],
      );
      await insertEvent(q, lease.jobId, event);
      await notify(q, "events", lease.jobId);
      return true;
    });
  }

  requestCancel(owner: string, id: string): Promise<boolean> {
    return this.db.tx(async (q) => {
      const rows = await q(
        `UPDATE jobs SET cancel_requested = true WHERE id = $1 AND owner = $2
           AND state IN ('queued', 'running') RETURNING id`,
        [id, owner],
      );
      if (rows.length) await notify(q, "cancel", id);
      return rows.length > 0;
    });
  }

  requestCancelAll(owner: string): Promise<string[]> {
    return this.db.tx(async (q) => {
      const rows = await q(
        `UPDATE jobs SET cancel_requested = true WHERE owner = $1
           AND state IN ('queued', 'running') RETURNING id`,
        [owner],
      );
      const ids = rows.map((r) => r.id as string);
      for (const id of ids) await notify(q, "cancel", id);
      return ids;
    });
  }

  cancelQueued(id: string, progress: Progress, event: NewEvent): Promise<boolean> {
    return this.db.tx(async (q) => {
      const rows = await q(
        `UPDATE jobs SET state = 'cancelled', cancel_requested = true, progress = $2,
           finished_at = $3 WHERE id = $1 AND state = 'queued' RETURNING id`,
        [id, json(progress), nowIso()],
      );
      if (!rows.length) return false;
      await insertEvent(q, id, event);
      await notify(q, "events", id);
      return true;
    });
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
    return this.db.tx(async (q) => {
      if (!await held(q, lease)) return false;
      await q(
        `UPDATE jobs SET state = $2, progress = $3, error = $4, finished_at = $5,
           lease_expires_at = NULL WHERE id = $1`,
        [id, state, json(progress), error && json(error), nowIso()],
      );
      if (result !== undefined) {
        await q(
          `INSERT INTO results (job_id, result) VALUES ($1, $2)
           ON CONFLICT (job_id) DO UPDATE SET result = excluded.result`,
          [id, json(result)],
        );
      }
      await insertEvent(q, id, event);
      await q(
        `DELETE FROM checkpoints WHERE job_id = $1
           AND generation < (SELECT MAX(generation) FROM checkpoints WHERE job_id = $1)`,
        [id],
      );
      await notify(q, "events", id);
      return true;
    });
  }

  async result<T>(id: string): Promise<T | undefined> {
    const [r] = await this.db.query("SELECT result FROM results WHERE job_id = $1", [id]);
    return r && parseJson<T>(r.result);
  }
}

class PgCheckpoints implements CheckpointStore {
  constructor(private readonly db: PgDb) {}

  save(
    lease: JobLease,
    state: SearchState,
    stats: unknown,
    progress: Progress,
    events: NewEvent[],
  ): Promise<boolean> {
    return underLease(
      this.db,
      lease,
      progress,
      events,
      (q) => insertCheckpoint(q, lease.jobId, { state, stats }),
    );
  }

  async latest(jobId: string): Promise<SearchState | undefined> {
    const [r] = await this.db.query(
      "SELECT state FROM checkpoints WHERE job_id = $1 ORDER BY generation DESC LIMIT 1",
      [jobId],
    );
    return r && parseJson<SearchState>(r.state);
  }

  async count(jobId: string): Promise<number> {
    const [r] = await this.db.query("SELECT COUNT(*) AS n FROM checkpoints WHERE job_id = $1", [
      jobId,
    ]);
    return Number(r.n);
  }
}

class PgEvents implements EventStore {
  constructor(private readonly db: PgDb) {}

  append(lease: JobLease, events: NewEvent[], progress?: Progress): Promise<boolean> {
    return underLease(this.db, lease, progress, events);
  }

  async after(jobId: string, afterId: number, limit = 500): Promise<StoredEvent[]> {
    return (await this.db.query(
      "SELECT * FROM events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3",
      [jobId, afterId, limit],
    )).map(eventFromRow);
  }

  wait(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.db.signals.wait(CHANNEL.events, jobId, timeoutMs, signal);
  }
}

class PgDatasets implements DatasetStore {
  readonly keepsFiles: boolean;

  constructor(private readonly db: PgDb, keepsFiles: boolean) {
    this.keepsFiles = keepsFiles;
  }

  async insert(d: DatasetRecord, files: Record<string, Uint8Array> = {}): Promise<void> {
    const p = datasetParams(d);
    await this.db.tx(async (q) => {
      try {
        await q(
          `INSERT INTO datasets (id, owner, name, source, format, ref, info, bytes, url,
             content_hash, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            p.id,
            p.owner,
            p.name,
            p.source,
            p.format,
            p.ref,
            p.info,
            p.bytes,
            p.url,
            p.contentHash,
            p.createdAt,
          ],
        );
      } catch (e) {
        if ((e as { code?: string }).code === "23505" && /content/.test(String(e))) {
          throw new DuplicateKeyError(`content ${d.contentHash}`);
        }
        throw e;
      }
      if (!this.keepsFiles) return;
      for (const [name, bytes] of Object.entries(files)) {
        await q("INSERT INTO dataset_files (dataset_id, name, bytes) VALUES ($1, $2, $3)", [
          d.id,
          name,
          bytes,
        ]);
      }
    });
  }

  async get(owner: string, id: string): Promise<DatasetRecord | undefined> {
    const [r] = await this.db.query("SELECT * FROM datasets WHERE id = $1 AND owner = $2", [
      id,
      owner,
    ]);
    return r && datasetFromRow(r);
  }

  async getById(id: string): Promise<DatasetRecord | undefined> {
    const [r] = await this.db.query("SELECT * FROM datasets WHERE id = $1", [id]);
    return r && datasetFromRow(r);
  }

  async byContentHash(owner: string, hash: string): Promise<DatasetRecord | undefined> {
    const [r] = await this.db.query(
      "SELECT * FROM datasets WHERE owner = $1 AND content_hash = $2",
      [owner, hash],
    );
    return r && datasetFromRow(r);
  }

  async list(owner: string, limit: number, after?: CursorKey): Promise<Page<DatasetRecord>> {
    const rows = (await this.db.query(
      `SELECT * FROM datasets WHERE owner = $1
         AND ($2::text IS NULL OR (created_at, id) > ($2, $3))
       ORDER BY created_at, id LIMIT $4`,
      [owner, after?.createdAt ?? null, after?.id ?? null, limit + 1],
    )).map(datasetFromRow);
    return pageOf(rows, limit, encodeCursor);
  }

  async delete(owner: string, id: string): Promise<boolean> {
    const rows = await this.db.query(
      "DELETE FROM datasets WHERE id = $1 AND owner = $2 RETURNING id",
      [id, owner],
    );
    return rows.length > 0;
  }

  async files(id: string): Promise<Record<string, Uint8Array>> {
    const rows = await this.db.query(
      "SELECT name, bytes FROM dataset_files WHERE dataset_id = $1 ORDER BY name",
      [id],
    );
    return Object.fromEntries(
      rows.map((r) => [r.name as string, new Uint8Array(r.bytes as Uint8Array)]),
    );
  }
}

class PgKeys implements KeyStore {
  constructor(private readonly db: PgDb) {}

  async create(name: string): Promise<{ id: string; token: string }> {
    const id = randomId("key", 12);
    const token = randomId("lsm", 32);
    await this.db.query(
      "INSERT INTO api_keys (id, name, hash, created_at) VALUES ($1, $2, $3, $4)",
      [
        id,
        name,
        await sha256Hex(token),
        nowIso(),
      ],
    );
    return { id, token };
  }

  async verify(token: string): Promise<string | undefined> {
    const [r] = await this.db.query(
      "SELECT id FROM api_keys WHERE hash = $1 AND revoked_at IS NULL",
      [await sha256Hex(token)],
    );
    return r?.id as string | undefined;
  }

  async activeCount(): Promise<number> {
    const [r] = await this.db.query("SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL");
    return Number(r.n);
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.db.query(
      "SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
    )).map((r) => ({
      id: r.id as string,
      name: r.name as string,
      createdAt: r.created_at as string,
      revokedAt: (r.revoked_at as string | null) ?? null,
    }));
  }

  async revoke(id: string): Promise<boolean> {
    const rows = await this.db.query(
      "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id",
      [id, nowIso()],
    );
    return rows.length > 0;
  }
}

class PgNodes implements NodeStore {
  constructor(private readonly db: PgDb) {}

  async beat(node: NodeInfo): Promise<void> {
    await this.db.query(
      `INSERT INTO nodes (id, info, beat_at) VALUES ($1, $2, now())
       ON CONFLICT (id) DO UPDATE SET info = excluded.info, beat_at = excluded.beat_at`,
      [node.id, JSON.stringify(node)],
    );
  }

  async live(withinMs: number): Promise<NodeInfo[]> {
    return (await this.db.query(
      `SELECT info FROM nodes WHERE beat_at > now() - $1 ${ms} ORDER BY id`,
      [withinMs],
    )).map((r) => parseJson<NodeInfo>(r.info));
  }

  async remove(id: string): Promise<void> {
    await this.db.query("DELETE FROM nodes WHERE id = $1", [id]);
  }
}

export interface PostgresOptions {
  /** Keep dataset files in the database (else in a folder every node sees). */
  datasetFiles: "database" | "folder";
  /** Lease of an evaluation (pg-boss's heartbeat: at least 10 s). */
  leaseMs: number;
  /** Open the evaluation queue (the service does; `deno task keys` does not). */
  evaluations: boolean;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable database URL)";
  }
}

export class PostgresStorage implements Storage {
  readonly engine = "postgres";
  readonly singleProcess = false;
  readonly location: string;
  readonly jobs: PgJobs;
  readonly checkpoints: PgCheckpoints;
  readonly events: PgEvents;
  readonly datasets: PgDatasets;
  readonly keys: PgKeys;
  readonly nodes: PgNodes;
  evaluations?: PgBossEvaluations;

  private constructor(readonly db: PgDb, opts: PostgresOptions) {
    this.location = redactUrl(db.url);
    this.jobs = new PgJobs(db);
    this.checkpoints = new PgCheckpoints(db);
    this.events = new PgEvents(db);
    this.datasets = new PgDatasets(db, opts.datasetFiles === "database");
    this.keys = new PgKeys(db);
    this.nodes = new PgNodes(db);
  }

  static async open(url: string, opts: PostgresOptions): Promise<PostgresStorage> {
    const db = new PgDb(url, [...Object.values(CHANNEL), ...Object.values(EVALUATION_CHANNELS)]);
    try {
      await migrate((fn) => db.tx(fn));
      await db.listen();
      const storage = new PostgresStorage(db, opts);
      if (opts.evaluations) {
        storage.evaluations = await PgBossEvaluations.start(url, db, opts.leaseMs);
      }
      return storage;
    } catch (e) {
      await db.close().catch(() => {});
      throw e;
    }
  }

  listen(channel: "jobs" | "cancel", fn: (payload: string) => void): () => void {
    return this.db.signals.listen(CHANNEL[channel], fn);
  }

  async close(): Promise<void> {
    await this.evaluations?.stop();
    await this.db.close();
  }
}
