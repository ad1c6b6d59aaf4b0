/** API keys as the HTTP face needs them: whether a bearer token is a live key, and whose. */
import type { Storage } from "../store/mod.ts";
import { endQueued } from "./jobs.ts";

export class KeyService {
  constructor(private readonly storage: Storage) {}

  /** The owner id of a live key, or undefined. */
  verify(token: string): Promise<string | undefined> {
    return this.storage.keys.verify(token);
  }

  /** Live keys: when there are none, the service runs in local mode. */
  activeCount(): Promise<number> {
    return this.storage.keys.activeCount();
  }
}

/**
 * Revokes a key and cancels its searches, from any process on the storage (`deno task keys
 * revoke`): the queued ones end here, the running ones are stopped by the node that runs each,
 * told at once by the `cancel` signal (another process's signal reaches it on PostgreSQL) or at
 * its next heartbeat (SQLite: a third of the lease). The ids of the searches cancelled, or
 * undefined when the key was not a live one.
 */
export async function revokeKey(storage: Storage, id: string): Promise<string[] | undefined> {
  if (!await storage.keys.revoke(id)) return undefined;
  const ids = await storage.jobs.requestCancelAll(id);
  for (const jobId of ids) {
    const job = await storage.jobs.getById(jobId);
    if (job) await endQueued(storage, job);
  }
  return ids;
}
