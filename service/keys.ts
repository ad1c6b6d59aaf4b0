/** API keys as the HTTP face needs them: whether a bearer token is a live key, and whose. */
import type { Store } from "../store/mod.ts";

export class KeyService {
  constructor(private readonly store: Store) {}

  /** The owner id of a live key, or undefined. */
  verify(token: string): Promise<string | undefined> {
    return this.store.keys.verify(token);
  }

  /** Live keys: when there are none, the service runs in local mode. */
  activeCount(): number {
    return this.store.keys.activeCount();
  }
}
