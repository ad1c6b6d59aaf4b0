/**
 * Wake-ups between the parts of one process: the SQLite storage's signals, and the local side of
 * PostgreSQL's LISTEN/NOTIFY. A signal carries no data but a channel and a payload (a job id):
 * whoever wakes reads the store, so a wake-up missed while busy loses nothing.
 */
export class Signals {
  readonly #listeners = new Map<string, Set<(payload: string) => void>>();

  emit(channel: string, payload: string): void {
    for (const fn of [...(this.#listeners.get(channel) ?? [])]) fn(payload);
  }

  listen(channel: string, fn: (payload: string) => void): () => void {
    let set = this.#listeners.get(channel);
    if (!set) this.#listeners.set(channel, set = new Set());
    set.add(fn);
    return () => set!.delete(fn);
  }

  /**
   * Resolves on the next signal of the channel with this payload (or "*", which wakes every
   * waiter of the channel), after timeoutMs, or on abort.
   */
  wait(channel: string, payload: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        unlisten();
        resolve();
      };
      const unlisten = this.listen(channel, (p) => (p === payload || p === "*") && done());
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
