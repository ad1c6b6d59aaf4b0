/**
 * Wakes the event streams of a job when something new was stored for it. Streams always read
 * the events themselves from the store (after the last id they sent), so a wake-up carries no
 * data and none can be missed: a stream that was busy when it fired reads everything next time.
 */
export class EventHub {
  readonly #waiters = new Map<string, Set<() => void>>();

  notify(jobId: string): void {
    const set = this.#waiters.get(jobId);
    if (!set) return;
    this.#waiters.delete(jobId);
    for (const wake of set) wake();
  }

  /** Resolves on the next notify for the job, after timeoutMs, or when the signal aborts. */
  wait(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(jobId);
      if (!set) this.#waiters.set(jobId, set = new Set());
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        set!.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      set.add(done);
    });
  }
}
