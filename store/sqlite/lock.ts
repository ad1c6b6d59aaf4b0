/**
 * One service process per SQLite database: the service holds an exclusive lock on a file beside
 * the database (`<db>.lock`) for as long as it runs, and a second one is refused at start. The
 * lock is SQLite's own (an exclusive transaction on that small file, never committed): the
 * operating system drops it when the process ends, however it ends, and another connection of
 * the same process is refused as well. Other commands (`deno task keys`) open the database
 * without it, as SQLite lets several processes do.
 */
import { DatabaseSync } from "node:sqlite";

export class ProcessLock {
  private constructor(private readonly db: DatabaseSync) {}

  /** The lock, or undefined when another process (or connection) holds it. */
  static tryAcquire(path: string): ProcessLock | undefined {
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA busy_timeout = 0");
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("BEGIN EXCLUSIVE");
      return new ProcessLock(db);
    } catch (e) {
      db.close();
      if (/locked|busy/i.test(String(e))) return undefined;
      throw e;
    }
  }

  release(): void {
    try {
      this.db.exec("ROLLBACK");
    } finally {
      this.db.close();
    }
  }
}
