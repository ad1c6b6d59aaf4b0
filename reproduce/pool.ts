/**
 * A fixed set of reproduction workers fed from one FIFO queue: each worker takes the next unit as
 * soon as it is free, so both cores of a 2-core machine stay busy whatever the units' sizes.
 */
import type { Unit, UnitResult } from "./units.ts";
import { remote, WorkerClient } from "../workers/protocol.ts";
// A type only: the client is derived from the table the worker serves.
import type { unitOps } from "./worker.ts";

interface Pending {
  unit: Unit;
  resolve(r: UnitResult): void;
  reject(e: Error): void;
}

const WORKER_URL = new URL("./worker.ts", import.meta.url).href;

export class UnitPool {
  #clients: WorkerClient[] = [];
  #idle: WorkerClient[] = [];
  #queue: Pending[] = [];
  #closed = false;
  readonly backend: string;

  private constructor(backend: string) {
    this.backend = backend;
  }

  static async start(size: number, backend: "wasm" | "cpu"): Promise<UnitPool> {
    const pool = new UnitPool(backend);
    const started = Array.from({ length: size }, () => WorkerClient.start(WORKER_URL, { backend }));
    pool.#clients = started.map((s) => s.client);
    try {
      await Promise.all(started.map((s) => s.ready));
    } catch (e) {
      pool.close();
      throw e;
    }
    pool.#idle = [...pool.#clients];
    return pool;
  }

  run(unit: Unit): Promise<UnitResult> {
    if (this.#closed) return Promise.reject(new Error("pool closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ unit, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#idle.length && this.#queue.length) {
      const client = this.#idle.pop()!;
      const job = this.#queue.shift()!;
      const ops = remote<typeof unitOps, object>((op, args) => client.call(op, args), {});
      ops.run(job.unit).then(job.resolve, job.reject).finally(() => {
        // A crashed worker is not reused: its units fail with the reason, the others go on.
        if (!client.lost && !this.#closed) this.#idle.push(client);
        if (this.#clients.every((c) => c.lost)) {
          for (const waiting of this.#queue.splice(0)) {
            waiting.reject(new Error("every reproduction worker crashed"));
          }
        }
        this.#pump();
      });
    }
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#clients) c.terminate("pool closed");
    for (const job of this.#queue) job.reject(new Error("pool closed"));
    this.#queue = [];
  }
}
