/**
 * The PostgreSQL connection of one node, through node-postgres (`pg`, the client pg-boss is built
 * on, so one driver serves both): a small pool for queries and transactions, and one dedicated
 * connection that LISTENs for the storage's signals. When that connection drops it is opened
 * again, and every listener is woken once, so that a notification lost meanwhile costs a read,
 * not a wait.
 */
import pg from "pg";
import type { Row } from "../rows.ts";
import { Signals } from "../signals.ts";

export type Query = (sql: string, params?: unknown[]) => Promise<Row[]>;

const RECONNECT_MS = 1000;

export class PgDb {
  readonly pool: pg.Pool;
  readonly signals = new Signals();
  readonly #channels: string[];
  #listener?: pg.Client;
  #closed = false;

  constructor(readonly url: string, channels: string[], max = 4) {
    this.pool = new pg.Pool({ connectionString: url, max });
    // An idle client's error (the server restarted) must not end the process: the next query
    // opens a new connection.
    this.pool.on("error", () => {});
    this.#channels = channels;
  }

  async query(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, params)).rows;
  }

  /** Runs fn in one transaction on one connection; rolls back if it throws. */
  async tx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const value = await fn(async (sql, params = []) => (await client.query(sql, params)).rows);
      await client.query("COMMIT");
      return value;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  /** Starts listening; resolves once the LISTENs are in place. */
  async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    const lost = () => {
      if (this.#listener !== client) return;
      this.#listener = undefined;
      client.end().catch(() => {});
      if (!this.#closed) setTimeout(() => this.#reconnect(), RECONNECT_MS);
    };
    client.on("error", lost);
    client.on("end", lost);
    client.on(
      "notification",
      (m: { channel: string; payload?: string }) => this.signals.emit(m.channel, m.payload ?? ""),
    );
    await client.connect();
    for (const c of this.#channels) await client.query(`LISTEN ${c}`);
    this.#listener = client;
  }

  async #reconnect(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.listen();
      for (const c of this.#channels) this.signals.emit(c, "*");
    } catch {
      if (!this.#closed) setTimeout(() => this.#reconnect(), RECONNECT_MS);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => {});
    await this.pool.end();
  }
}
