/**
 * The service's storage behind one small interface per kind of record (Optuna's storages are
 * the model): SQLite today; another engine would implement the same classes.
 */
import { Db } from "./db.ts";
import { KeyStore } from "./keys.ts";
import { DatasetStore } from "./datasets.ts";
import { JobStore } from "./jobs.ts";

export * from "./types.ts";
export { decodeCursor, encodeCursor } from "./cursor.ts";
export type { ApiKeyInfo } from "./keys.ts";
export type { NewEvent } from "./jobs.ts";

export class Store {
  readonly db: Db;
  readonly keys: KeyStore;
  readonly datasets: DatasetStore;
  readonly jobs: JobStore;

  constructor(path: string) {
    this.db = new Db(path);
    this.keys = new KeyStore(this.db);
    this.datasets = new DatasetStore(this.db);
    this.jobs = new JobStore(this.db);
  }

  close(): void {
    this.db.close();
  }
}
