/**
 * API keys. The secret is shown once, when it is created; the store keeps only its SHA-256, so a
 * copy of the database does not give access. (A fast hash is right here: the secret is 160 random
 * bits, not a password that could be guessed.)
 */
import type { Db } from "./db.ts";
import { nowIso, randomId, sha256Hex } from "./ids.ts";

export interface ApiKeyInfo {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

export class KeyStore {
  constructor(private readonly db: Db) {}

  /** Returns the new key's id and its secret (the bearer token). */
  async create(name: string): Promise<{ id: string; token: string }> {
    const id = randomId("key", 12);
    const token = randomId("lsm", 32);
    this.db.run(
      "INSERT INTO api_keys (id, name, hash, created_at) VALUES (:id, :name, :hash, :at)",
      { id, name, hash: await sha256Hex(token), at: nowIso() },
    );
    return { id, token };
  }

  /** The owner id of a live key, or undefined. */
  async verify(token: string): Promise<string | undefined> {
    const row = this.db.get<{ id: string }>(
      "SELECT id FROM api_keys WHERE hash = :hash AND revoked_at IS NULL",
      { hash: await sha256Hex(token) },
    );
    return row?.id;
  }

  /** Live keys: when there are none, the service runs in local mode. */
  activeCount(): number {
    return this.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL",
    )!.n;
  }

  list(): ApiKeyInfo[] {
    return this.db.all<Record<string, string | null>>(
      "SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
    ).map((r) => ({
      id: r.id!,
      name: r.name!,
      createdAt: r.created_at!,
      revokedAt: r.revoked_at,
    }));
  }

  /** True if a live key was revoked. */
  revoke(id: string): boolean {
    return this.db.run(
      "UPDATE api_keys SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL",
      { id, at: nowIso() },
    ).changes > 0;
  }
}
