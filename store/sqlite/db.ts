/**
 * The SQLite file behind the service (node:sqlite, built into Deno). WAL lets status requests
 * read while a checkpoint is written; `synchronous = FULL` makes every committed transaction
 * survive a crash of the process or the machine. Every write that must be seen whole (a
 * checkpoint with its progress and events, a finished job with its result) goes through `tx`, so
 * a reader never sees half of it, and a process killed mid-write leaves the previous state.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { MIGRATIONS } from "./schema.ts";
import type { Row } from "../rows.ts";

export class Db {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #depth = 0;

  constructor(readonly path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = FULL");
    this.#db.exec("PRAGMA foreign_keys = ON");
    // A second process (`keys create` while the service runs) waits instead of failing.
    this.#db.exec("PRAGMA busy_timeout = 5000");
    this.#migrate();
  }

  /** Prepared once per SQL text. */
  #statement(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) {
      st = this.#db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  run(sql: string, params: Row = {}): { changes: number; lastInsertRowid: number } {
    // deno-lint-ignore no-explicit-any
    const r = this.#statement(sql).run(params as any);
    return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
  }

  get<T = Row>(sql: string, params: Row = {}): T | undefined {
    // deno-lint-ignore no-explicit-any
    return this.#statement(sql).get(params as any) as T | undefined;
  }

  all<T = Row>(sql: string, params: Row = {}): T[] {
    // deno-lint-ignore no-explicit-any
    return this.#statement(sql).all(params as any) as T[];
  }

  /**
   * Runs fn in one transaction (BEGIN IMMEDIATE: the write lock is taken up front, so two
   * processes never deadlock upgrading a read). Nested calls join the outer transaction.
   */
  tx<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    this.#db.exec("BEGIN IMMEDIATE");
    this.#depth++;
    try {
      const value = fn();
      this.#db.exec("COMMIT");
      return value;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    } finally {
      this.#depth--;
    }
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }

  #migrate(): void {
    const { user_version: version } = this.get<{ user_version: number }>("PRAGMA user_version")!;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.tx(() => {
        this.#db.exec(MIGRATIONS[v]);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }
}
