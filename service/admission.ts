/**
 * Bounded admission: work that takes much memory (a dataset's upload and inspection) runs at
 * most `concurrent` at a time; up to `queue` more wait in order, and beyond that a request is
 * refused at once (503 with Retry-After) rather than held, so that a burst of uploads cannot
 * pile their bodies up in memory.
 */
import { ServiceError } from "./errors.ts";

/** Counted slots: `tryAcquire` for the ones that must not wait, per owner and in all. */
export class Slots {
  readonly #used = new Map<string, number>();
  #total = 0;

  constructor(readonly perOwner: number, readonly total: number) {}

  /** A release function, or undefined when the owner or everyone is at the limit. */
  tryAcquire(owner: string): { release(): void } | "owner" | "total" {
    const mine = this.#used.get(owner) ?? 0;
    if (this.#total >= this.total) return "total";
    if (mine >= this.perOwner) return "owner";
    this.#used.set(owner, mine + 1);
    this.#total++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#total--;
        const left = (this.#used.get(owner) ?? 1) - 1;
        if (left === 0) this.#used.delete(owner);
        else this.#used.set(owner, left);
      },
    };
  }

  get inUse(): number {
    return this.#total;
  }
}

export class AdmissionQueue {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly concurrent: number,
    readonly queue: number,
    private readonly what: string,
  ) {}

  /** Waits for a turn; the returned function ends it. Refuses when the queue is full. */
  async acquire(): Promise<() => void> {
    if (this.#running >= this.concurrent) {
      if (this.#waiting.length >= this.queue) {
        throw new ServiceError(
          "unavailable",
          "Busy",
          `${this.concurrent} ${this.what} are running and ${this.queue} waiting, this ` +
            `service's limits; try again shortly`,
          [],
          5,
        );
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else this.#running++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiting.shift();
      // The turn passes to the next in line; otherwise one fewer runs.
      if (next) next();
      else this.#running--;
    };
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}
