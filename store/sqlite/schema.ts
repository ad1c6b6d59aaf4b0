/**
 * The schema, as numbered migrations (PRAGMA user_version counts those applied). Append, never
 * edit: a database made by an older version is upgraded in order.
 *
 * Owners are API key ids, or "local" when the service runs without keys. JSON columns hold
 * plain data (configurations, search states, results), parsed by the store modules.
 */
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
    bytes INTEGER NOT NULL,
    url TEXT,
    created_at TEXT NOT NULL
  );
  CREATE INDEX datasets_by_owner ON datasets (owner, created_at, id);

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
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    UNIQUE (owner, idempotency_key)
  );
  CREATE INDEX jobs_by_owner ON jobs (owner, created_at, id);
  CREATE INDEX jobs_by_state ON jobs (state);

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
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX events_by_job ON events (job_id, id);
  `,
  // Leases: the node that owns a running job, how many times it was claimed, and until when
  // (ms since the epoch). The nodes that use the database, with their last heartbeat.
  `
  ALTER TABLE jobs ADD COLUMN node TEXT;
  ALTER TABLE jobs ADD COLUMN run INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN lease_expires_at INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX jobs_claimable ON jobs (state, created_at, id);

  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    info TEXT NOT NULL,
    beat_at INTEGER NOT NULL
  );
  `,
  // Lifecycle: a search's name and labels (JSON), the search it continues (JSON), and the
  // content hash that tells an upload of the same bytes (one dataset per owner and content).
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
