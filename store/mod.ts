/**
 * The service's storage: the interfaces and their contracts (storage.ts), and `openStorage`,
 * which opens SQLite (a file, one process: the default) or PostgreSQL (a URL, any number of
 * nodes). PostgreSQL's modules are loaded only when a URL is given.
 */
import type { Storage } from "./storage.ts";
import { SqliteStorage } from "./sqlite/mod.ts";

export * from "./types.ts";
export * from "./storage.ts";
export { decodeCursor, encodeCursor } from "./cursor.ts";
export { StorageInUse, TooManyLabels } from "./errors.ts";

export interface StorageOptions {
  /** The SQLite file, used when no URL is given. */
  db: string;
  /** postgres://... to use PostgreSQL. */
  databaseUrl?: string;
  /** A service process: SQLite takes its process lock, PostgreSQL opens the evaluation queue. */
  service?: boolean;
  /** PostgreSQL: keep dataset files in the database, or in a folder every node sees. */
  datasetFiles?: "database" | "folder";
  /** PostgreSQL: the lease of an evaluation (at least 10 s). */
  leaseMs?: number;
}

export async function openStorage(opts: StorageOptions): Promise<Storage> {
  if (!opts.databaseUrl) return SqliteStorage.open(opts.db, { exclusive: opts.service });
  const { PostgresStorage } = await import("./postgres/mod.ts");
  return await PostgresStorage.open(opts.databaseUrl, {
    datasetFiles: opts.datasetFiles ?? "database",
    leaseMs: opts.leaseMs ?? 30_000,
    evaluations: opts.service ?? false,
  });
}
