/** Uploaded and registered datasets in SQLite; their files stay in the service's data folder. */
import type { Db } from "./db.ts";
import { type CursorKey, encodeCursor } from "../cursor.ts";
import { datasetFromRow, datasetParams, pageOf } from "../rows.ts";
import type { DatasetRecord, Page } from "../types.ts";
import { type DatasetStore, DuplicateKeyError } from "../storage.ts";

export class SqliteDatasets implements DatasetStore {
  readonly keepsFiles = false;

  constructor(private readonly db: Db) {}

  insert(d: DatasetRecord): Promise<void> {
    try {
      this.db.run(
        `INSERT INTO datasets (id, owner, name, source, format, ref, info, bytes, url,
           content_hash, created_at)
         VALUES (:id, :owner, :name, :source, :format, :ref, :info, :bytes, :url, :contentHash,
           :createdAt)`,
        datasetParams(d),
      );
    } catch (e) {
      if (/UNIQUE constraint failed: datasets\.owner, datasets\.content_hash/.test(String(e))) {
        return Promise.reject(new DuplicateKeyError(`content ${d.contentHash}`));
      }
      return Promise.reject(e);
    }
    return Promise.resolve();
  }

  byContentHash(owner: string, hash: string): Promise<DatasetRecord | undefined> {
    const r = this.db.get("SELECT * FROM datasets WHERE owner = :owner AND content_hash = :hash", {
      owner,
      hash,
    });
    return Promise.resolve(r && datasetFromRow(r));
  }

  get(owner: string, id: string): Promise<DatasetRecord | undefined> {
    const r = this.db.get("SELECT * FROM datasets WHERE id = :id AND owner = :owner", {
      id,
      owner,
    });
    return Promise.resolve(r && datasetFromRow(r));
  }

  getById(id: string): Promise<DatasetRecord | undefined> {
    const r = this.db.get("SELECT * FROM datasets WHERE id = :id", { id });
    return Promise.resolve(r && datasetFromRow(r));
  }

  list(owner: string, limit: number, after?: CursorKey): Promise<Page<DatasetRecord>> {
    const rows = this.db.all(
      `SELECT * FROM datasets WHERE owner = :owner
         AND (:at IS NULL OR (created_at, id) > (:at, :id))
       ORDER BY created_at, id LIMIT :limit`,
      { owner, at: after?.createdAt ?? null, id: after?.id ?? null, limit: limit + 1 },
    ).map(datasetFromRow);
    return Promise.resolve(pageOf(rows, limit, encodeCursor));
  }

  delete(owner: string, id: string): Promise<boolean> {
    return Promise.resolve(
      this.db.run("DELETE FROM datasets WHERE id = :id AND owner = :owner", { id, owner })
        .changes > 0,
    );
  }

  files(): Promise<Record<string, Uint8Array>> {
    return Promise.resolve({});
  }
}
