/** Why a storage could not be opened, in words an operator can act on. */
import type { NodeInfo } from "./storage.ts";

/** A change that would leave a search with more labels than allowed; nothing was changed. */
export class TooManyLabels extends Error {
  override name = "TooManyLabels";

  constructor(readonly count: number, readonly max: number) {
    super(`the search would have ${count} labels; at most ${max} are allowed`);
  }
}

export class StorageInUse extends Error {
  override name = "StorageInUse";

  constructor(readonly path: string, readonly holder?: NodeInfo) {
    super(
      `the database ${path} is in use by another Lossmith service` +
        (holder ? ` (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})` : "") +
        `. A SQLite database serves one process: stop that one first, or run several nodes ` +
        `on PostgreSQL (--database-url).`,
    );
  }
}
