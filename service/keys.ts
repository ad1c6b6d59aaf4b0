/** API keys as the HTTP face needs them: whether a bearer token is a live key, and whose. */
import type { Storage } from "../store/mod.ts";

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
