/**
 * The PostgreSQL schema as numbered migrations (the `lossmith_schema` table records how many are
 * applied). Append, never edit. Nodes starting together migrate one at a time, under an advisory
 * lock, each in one transaction. The columns are SQLite's (store/sqlite/schema.ts), so that
 * store/rows.ts reads both; leases and heartbeats use the server's clock, which every node shares.
 */
import type { Query } from "./db.ts";

export const MIGRATIONS: string[] = [
  `
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );

  CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    ref TEXT NOT NULL,
    info TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    url TEXT,
    created_at TEXT NOT NULL
  );
  CREATE INDEX datasets_by_owner ON datasets (owner, created_at, id);

  -- The files of each dataset, so that every node can read them.
  CREATE TABLE dataset_files (
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (dataset_id, name)
  );

  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    data_info TEXT NOT NULL,
    request TEXT NOT NULL,
    config TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    idempotency_key TEXT,
    progress TEXT NOT NULL,
    error TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT false,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    node TEXT,
    run INTEGER NOT NULL DEFAULT 0,
    lease_expires_at TIMESTAMPTZ,
    UNIQUE (owner, idempotency_key)
  );
  CREATE INDEX jobs_by_owner ON jobs (owner, created_at, id);
  CREATE INDEX jobs_by_state ON jobs (state);
  CREATE INDEX jobs_claimable ON jobs (created_at, id) WHERE state IN ('queued', 'running');

  CREATE TABLE checkpoints (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    state TEXT NOT NULL,
    stats TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (job_id, generation)
  );

  CREATE TABLE results (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    result TEXT NOT NULL
  );

  CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX events_by_job ON events (job_id, id);

  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    info TEXT NOT NULL,
    beat_at TIMESTAMPTZ NOT NULL
  );
  `,
  // Lifecycle: as SQLite's third migration.
  `
  ALTER TABLE jobs ADD COLUMN name TEXT;
  ALTER TABLE jobs ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE jobs ADD COLUMN continues TEXT;
  CREATE INDEX jobs_by_name ON jobs (owner, name);
  CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
  ALTER TABLE datasets ADD COLUMN content_hash TEXT;
  CREATE UNIQUE INDEX datasets_by_content ON datasets (owner, content_hash);
  `,
];

/** Applies the migrations not yet applied, one node at a time. */
export async function migrate(tx: <T>(fn: (q: Query) => Promise<T>) => Promise<T>): Promise<void> {
  await tx(async (q) => {
    await q("SELECT pg_advisory_xact_lock(hashtext('lossmith-schema'))");
    await q("CREATE TABLE IF NOT EXISTS lossmith_schema (version INTEGER NOT NULL)");
    const [row] = await q("SELECT version FROM lossmith_schema");
    const applied = row ? Number(row.version) : 0;
    for (let v = applied; v < MIGRATIONS.length; v++) await q(MIGRATIONS[v]);
    if (!row) await q("INSERT INTO lossmith_schema (version) VALUES ($1)", [MIGRATIONS.length]);
    else await q("UPDATE lossmith_schema SET version = $1", [MIGRATIONS.length]);
  });
}
