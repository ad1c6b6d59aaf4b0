/**
 * A fixed set of reproduction workers fed from one FIFO queue: each worker takes the next unit as
 * soon as it is free, so both cores of a 2-core machine stay busy whatever the units' sizes.
 */
import type { Unit, UnitResult } from "./units.ts";

interface Pending {
  id: number;
  unit: Unit;
  resolve(r: UnitResult): void;
  reject(e: Error): void;
}

export class UnitPool {
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: Pending[] = [];
  #running = new Map<Worker, Pending>();
  #nextId = 0;
  readonly backend: string;

  private constructor(backend: string) {
    this.backend = backend;
  }

  static async start(size: number, backend: "wasm" | "cpu"): Promise<UnitPool> {
    const pool = new UnitPool(backend);
    const url = new URL("./worker.ts", import.meta.url).href;
    await Promise.all(Array.from({ length: size }, async () => {
      const w = new Worker(url, { type: "module" });
      pool.#workers.push(w);
      await new Promise<void>((resolve, reject) => {
        w.onmessage = (e) => {
          if (e.data.type === "ready") resolve();
          else reject(new Error(`worker failed to start: ${e.data.error}`));
        };
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`worker failed to start: ${e.message}`));
        };
        w.postMessage({ type: "init", backend });
      });
      w.onmessage = (e) => pool.#done(w, e.data);
      w.onerror = (e) => {
        e.preventDefault();
        const job = pool.#running.get(w);
        pool.#running.delete(w);
        job?.reject(new Error(`worker crashed: ${e.message}`));
      };
      pool.#idle.push(w);
    })).catch((e) => {
      pool.close();
      throw e;
    });
    return pool;
  }

  run(unit: Unit): Promise<UnitResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, unit, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#idle.length && this.#queue.length) {
      const w = this.#idle.pop()!;
      const job = this.#queue.shift()!;
      this.#running.set(w, job);
      w.postMessage({ type: "unit", id: job.id, unit: job.unit });
    }
  }

  #done(
    w: Worker,
    msg: { id: number; ok: boolean; result?: UnitResult; error?: string },
  ): void {
    const job = this.#running.get(w);
    this.#running.delete(w);
    this.#idle.push(w);
    if (job) {
      if (msg.ok) job.resolve(msg.result!);
      else job.reject(new Error(msg.error));
    }
    this.#pump();
  }

  close(): void {
    for (const w of this.#workers) w.terminate();
    for (const job of [...this.#queue, ...this.#running.values()]) {
      job.reject(new Error("pool closed"));
    }
    this.#queue = [];
    this.#running.clear();
  }
}
