/** Uploaded and registered datasets; the bundled ones are not stored (see service/datasets.ts). */
import { type Db, json, parseJson, type Row } from "./db.ts";
import { type CursorKey, encodeCursor } from "./cursor.ts";
import type { DatasetRecord, Page } from "./types.ts";

function fromRow(r: Row): DatasetRecord {
  return {
    id: r.id as string,
    owner: r.owner as string,
    name: r.name as string,
    source: r.source as DatasetRecord["source"],
    format: r.format as DatasetRecord["format"],
    ref: parseJson(r.ref),
    info: parseJson(r.info),
    bytes: r.bytes as number,
    url: (r.url as string | null) ?? undefined,
    createdAt: r.created_at as string,
  };
}

export class DatasetStore {
  constructor(private readonly db: Db) {}

  insert(d: DatasetRecord): void {
    this.db.run(
      `INSERT INTO datasets (id, owner, name, source, format, ref, info, bytes, url, created_at)
       VALUES (:id, :owner, :name, :source, :format, :ref, :info, :bytes, :url, :createdAt)`,
      {
        id: d.id,
        owner: d.owner,
        name: d.name,
        source: d.source,
        format: d.format,
        ref: json(d.ref),
        info: json(d.info),
        bytes: d.bytes,
        url: d.url ?? null,
        createdAt: d.createdAt,
      },
    );
  }

  get(owner: string, id: string): DatasetRecord | undefined {
    const r = this.db.get("SELECT * FROM datasets WHERE id = :id AND owner = :owner", {
      id,
      owner,
    });
    return r && fromRow(r);
  }

  /** Every stored dataset's id (to find orphaned files at boot). */
  allIds(): Set<string> {
    return new Set(this.db.all<{ id: string }>("SELECT id FROM datasets").map((r) => r.id));
  }

  /** Oldest first, after the cursor. */
  list(owner: string, limit: number, after?: CursorKey): Page<DatasetRecord> {
    const rows = this.db.all(
      `SELECT * FROM datasets WHERE owner = :owner
         AND (:at IS NULL OR (created_at, id) > (:at, :id))
       ORDER BY created_at, id LIMIT :limit`,
      { owner, at: after?.createdAt ?? null, id: after?.id ?? null, limit: limit + 1 },
    ).map(fromRow);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return rows.length > limit ? { items, nextCursor: encodeCursor(last) } : { items };
  }

  delete(owner: string, id: string): boolean {
    return this.db.run("DELETE FROM datasets WHERE id = :id AND owner = :owner", { id, owner })
      .changes > 0;
  }
}
