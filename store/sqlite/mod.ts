/**
 * The SQLite storage: one file, one service process (the one-command default). Opened by the
 * service it takes the process lock (lock.ts) and then voids the leases of the process before it,
 * which is gone since the lock was free: its running jobs are claimed again at once.
 */
import { Db } from "./db.ts";
import { ProcessLock } from "./lock.ts";
import { SqliteCheckpoints, SqliteEvents, SqliteJobs } from "./jobs.ts";
import { SqliteDatasets } from "./datasets.ts";
import { SqliteKeys } from "./keys.ts";
import { Signals } from "../signals.ts";
import { parseJson } from "../rows.ts";
import type { NodeInfo, NodeStore, Storage } from "../storage.ts";
import { StorageInUse } from "../errors.ts";

class SqliteNodes implements NodeStore {
  constructor(private readonly db: Db) {}

  beat(node: NodeInfo): Promise<void> {
    this.db.run(
      `INSERT INTO nodes (id, info, beat_at) VALUES (:id, :info, :at)
       ON CONFLICT (id) DO UPDATE SET info = excluded.info, beat_at = excluded.beat_at`,
      { id: node.id, info: JSON.stringify(node), at: Date.now() },
    );
    return Promise.resolve();
  }

  live(withinMs: number): Promise<NodeInfo[]> {
    return Promise.resolve(
      this.db.all<{ info: string }>(
        "SELECT info FROM nodes WHERE beat_at > :since ORDER BY id",
        { since: Date.now() - withinMs },
      ).map((r) => parseJson<NodeInfo>(r.info)),
    );
  }

  remove(id: string): Promise<void> {
    this.db.run("DELETE FROM nodes WHERE id = :id", { id });
    return Promise.resolve();
  }
}

export interface SqliteOptions {
  /** Take the process lock (the service does; `deno task keys` does not). */
  exclusive?: boolean;
}

export class SqliteStorage implements Storage {
  readonly engine = "sqlite";
  readonly singleProcess = true;
  readonly signals = new Signals();
  readonly db: Db;
  readonly jobs: SqliteJobs;
  readonly checkpoints: SqliteCheckpoints;
  readonly events: SqliteEvents;
  readonly datasets: SqliteDatasets;
  readonly keys: SqliteKeys;
  readonly nodes: SqliteNodes;

  private constructor(readonly location: string, private readonly lock?: ProcessLock) {
    this.db = new Db(location);
    this.jobs = new SqliteJobs(this.db, this.signals);
    this.checkpoints = new SqliteCheckpoints(this.db, this.signals);
    this.events = new SqliteEvents(this.db, this.signals);
    this.datasets = new SqliteDatasets(this.db);
    this.keys = new SqliteKeys(this.db);
    this.nodes = new SqliteNodes(this.db);
  }

  static open(path: string, opts: SqliteOptions = {}): SqliteStorage {
    if (!opts.exclusive) return new SqliteStorage(path);
    const lock = ProcessLock.tryAcquire(`${path}.lock`);
    if (!lock) throw new StorageInUse(path, SqliteStorage.#holder(path));
    let storage: SqliteStorage;
    try {
      storage = new SqliteStorage(path, lock);
    } catch (e) {
      lock.release();
      throw e;
    }
    // The lock was free: whoever ran before is gone, and so are its leases and its node.
    storage.db.tx(() => {
      storage.db.run("UPDATE jobs SET lease_expires_at = 0 WHERE state = 'running'");
      storage.db.run("DELETE FROM nodes");
    });
    return storage;
  }

  /** The process that holds the lock, as its heartbeat in the database describes it. */
  static #holder(path: string): NodeInfo | undefined {
    try {
      const peek = new SqliteStorage(path);
      try {
        const row = peek.db.get<{ info: string }>(
          "SELECT info FROM nodes ORDER BY beat_at DESC LIMIT 1",
        );
        return row && parseJson<NodeInfo>(row.info);
      } finally {
        peek.db.close();
      }
    } catch {
      return undefined;
    }
  }

  listen(channel: "jobs" | "cancel", fn: (payload: string) => void): () => void {
    return this.signals.listen(channel, fn);
  }

  close(): Promise<void> {
    this.db.close();
    this.lock?.release();
    return Promise.resolve();
  }
}
