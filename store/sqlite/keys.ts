/** API keys in SQLite (the contract is KeyStore's, store/storage.ts). */
import type { Db } from "./db.ts";
import { nowIso, randomId, sha256Hex } from "../ids.ts";
import type { ApiKeyInfo, KeyStore } from "../storage.ts";

export class SqliteKeys implements KeyStore {
  constructor(private readonly db: Db) {}

  async create(name: string): Promise<{ id: string; token: string }> {
    const id = randomId("key", 12);
    const token = randomId("lsm", 32);
    this.db.run(
      "INSERT INTO api_keys (id, name, hash, created_at) VALUES (:id, :name, :hash, :at)",
      { id, name, hash: await sha256Hex(token), at: nowIso() },
    );
    return { id, token };
  }

  async verify(token: string): Promise<string | undefined> {
    const row = this.db.get<{ id: string }>(
      "SELECT id FROM api_keys WHERE hash = :hash AND revoked_at IS NULL",
      { hash: await sha256Hex(token) },
    );
    return row?.id;
  }

  activeCount(): Promise<number> {
    return Promise.resolve(
      this.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL")!
        .n,
    );
  }

  list(): Promise<ApiKeyInfo[]> {
    return Promise.resolve(
      this.db.all<Record<string, string | null>>(
        "SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
      ).map((r) => ({
        id: r.id!,
        name: r.name!,
        createdAt: r.created_at!,
        revokedAt: r.revoked_at,
      })),
    );
  }

  revoke(id: string): Promise<boolean> {
    return Promise.resolve(
      this.db.run(
        "UPDATE api_keys SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL",
        { id, at: nowIso() },
      ).changes > 0,
    );
  }
}
