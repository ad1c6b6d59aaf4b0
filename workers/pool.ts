/**
 * A CandidateRunner over Deno Web Workers: each worker rebuilds the same data and evaluator, and
 * the pool hands queued requests (FIFO) to idle workers. Results depend only on the tree, the
 * configuration and the seed, so they equal InProcessRunner's whichever worker runs them.
 *
 * Failures stay local to one request. A request that fails (the worker answered with an error,
 * or the worker died) is retried once, ahead of the queue, on the next idle worker; a dead worker
 * is replaced by a fresh one. A second failure rejects only that request, with both reasons.
 *
 * Workers inherit the main thread's permissions (Deno's default), which is what they need to
 * read the npm packages, the wasm binaries and CSV files.
 */
import type { Tree } from "../core/expr/tree.ts";
import type { DatasetRef, SplitSettings } from "../core/prepare.ts";
import type { CandidateRunner, EvaluatorConfig, TimedScreen, TuneResult } from "../core/runner.ts";
import type { BackendChoice, BackendInfo, BackendName } from "../core/tensor/backend.ts";
import type {
  CandidateRequest,
  FromWorker,
  InitMessage,
  ResultPayload,
  ToWorker,
} from "./protocol.ts";

export interface PoolOptions {
  size: number;
  backend: BackendChoice;
  dataset: DatasetRef;
  split: SplitSettings;
  config: EvaluatorConfig;
}

export interface PoolCounters {
  /** Requests sent a second time after a failure. */
  retries: number;
  /** Dead workers replaced by fresh ones. */
  restarts: number;
}

/**
 * One worker per hardware thread, none held back for the main thread: during a search the main
 * thread only coordinates (GP variation, bookkeeping) and sleeps while the workers compute.
 */
export function defaultPoolSize(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

interface Job {
  request: CandidateRequest;
  resolve: (result: ResultPayload) => void;
  reject: (error: Error) => void;
  /** Why the first attempt failed; set once the job has been retried. */
  firstFailure?: string;
}

type SlotState = "starting" | "idle" | "busy" | "dead";

/** One Worker's life: a replacement is a new Slot at the same index. */
interface Slot {
  index: number;
  worker: Worker;
  state: SlotState;
  job?: Job;
  /** Id of the request in flight, so that a stale answer can never settle another job. */
  jobId?: number;
  /** Settles when the worker answers its init message. */
  ready: Promise<BackendInfo>;
}

const WORKER_URL = new URL("./candidate_worker.ts", import.meta.url).href;

export class WorkerPool implements CandidateRunner {
  readonly parallelism: number;
  #backend: BackendInfo = { name: "cpu" };
  readonly #init: InitMessage;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  readonly #counters: PoolCounters = { retries: 0, restarts: 0 };
  #nextId = 1;
  #closed = false;

  private constructor(opts: PoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) {
      throw new Error(`pool size must be a positive integer, got ${opts.size}`);
    }
    this.parallelism = opts.size;
    const { backend, dataset, split, config } = opts;
    this.#init = { type: "init", backend, dataset, split, config };
  }

  /** Starts every worker and waits until all are ready; rejects with the first init error. */
  static async start(opts: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    for (let i = 0; i < opts.size; i++) pool.#slots.push(pool.#spawn(i));
    try {
      // Same machine, same choice: every worker resolves it alike.
      [pool.#backend] = await Promise.all(pool.#slots.map((s) => s.ready));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** The backend the workers report (e.g. what "auto" resolved to). */
  get backend(): BackendName {
    return this.#backend.name;
  }

  /** The GPU adapter's description when the backend is webgpu. */
  get adapter(): string | undefined {
    return this.#backend.adapter;
  }

  get counters(): PoolCounters {
    return { ...this.#counters };
  }

  /** Indices of workers with a request in flight. */
  busyWorkers(): number[] {
    return this.#slots.filter((s) => s.state === "busy").map((s) => s.index);
  }

  screen(tree: Tree): Promise<TimedScreen> {
    return this.#submit({ kind: "screen", tree }) as Promise<TimedScreen>;
  }

  tune(tree: Tree, phiSeed: number): Promise<TuneResult> {
    return this.#submit({ kind: "tune", tree, phiSeed }) as Promise<TuneResult>;
  }

  /** Really terminates one worker, as a crash would: an operator and test hook. */
  terminateWorker(index: number): void {
    const slot = this.#slots[index];
    if (!slot) throw new Error(`no worker ${index} (pool size ${this.parallelism})`);
    this.#died(slot, `worker ${index} was terminated`);
  }

  /** Terminates every worker; queued and in-flight requests reject. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const error = () => new Error("worker pool closed before the request finished");
    for (const slot of this.#slots) {
      const job = slot.job;
      this.#retire(slot);
      job?.reject(error());
    }
    for (const job of this.#queue.splice(0)) job.reject(error());
    return Promise.resolve();
  }

  #submit(request: CandidateRequest): Promise<ResultPayload> {
    if (this.#closed) return Promise.reject(new Error("worker pool is closed"));
    if (this.#slots.every((s) => s.state === "dead")) {
      return Promise.reject(new Error("no worker left: every replacement failed to start"));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#dispatch();
    });
  }

  #spawn(index: number): Slot {
    const worker = new Worker(WORKER_URL, { type: "module" });
    let settle!: { ok: (b: BackendInfo) => void; fail: (e: Error) => void };
    const ready = new Promise<BackendInfo>((ok, fail) => settle = { ok, fail });
    // A replacement's failed start is handled in #startFailed; keep it from going unhandled.
    ready.catch(() => {});
    const slot: Slot = { index, worker, state: "starting", ready };
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      if (slot.state === "dead") return; // retired: anything still in the pipe is stale
      const msg = event.data;
      if (msg.type === "ready") {
        slot.state = "idle";
        settle.ok({ name: msg.backend, adapter: msg.adapter });
        this.#dispatch();
      } else if (msg.type === "init-error") {
        const error = new Error(`worker ${index} failed to start: ${msg.error}`);
        this.#retire(slot);
        settle.fail(error);
        this.#startFailed(error);
      } else {
        this.#answered(slot, msg);
      }
    };
    // A worker lost before it was ready failed to start; after that, it died.
    const lost = (reason: string) => {
      if (slot.state === "starting") {
        const error = new Error(reason);
        this.#retire(slot);
        settle.fail(error);
        this.#startFailed(error);
      } else {
        this.#died(slot, reason);
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      // Handled here; otherwise Deno rethrows a worker's uncaught error on the main thread.
      event.preventDefault();
      lost(`worker ${index} crashed: ${event.message}`);
    };
    worker.onmessageerror = () => lost(`worker ${index} sent an unreadable message`);
    worker.postMessage(this.#init satisfies ToWorker);
    return slot;
  }

  #answered(slot: Slot, msg: Extract<FromWorker, { type: "response" }>): void {
    if (msg.id !== slot.jobId) return;
    const job = slot.job;
    slot.job = undefined;
    slot.state = "idle";
    if (job) {
      if (msg.ok) job.resolve(msg.result);
      else this.#failed(job, `worker ${slot.index}: ${msg.error}`);
    }
    this.#dispatch();
  }

  /** Terminates a worker and forgets it; its handlers ignore anything that still arrives. */
  #retire(slot: Slot): void {
    slot.state = "dead";
    slot.job = undefined;
    slot.worker.terminate();
  }

  #died(slot: Slot, reason: string): void {
    if (slot.state === "dead") return;
    const job = slot.job;
    this.#retire(slot);
    if (this.#closed) return;
    this.#counters.restarts++;
    this.#slots[slot.index] = this.#spawn(slot.index);
    if (job) this.#failed(job, reason);
  }

  #failed(job: Job, reason: string): void {
    if (job.firstFailure !== undefined) {
      job.reject(
        new Error(
          `${job.request.kind} failed twice: first ${job.firstFailure}; then ${reason}`,
        ),
      );
      return;
    }
    job.firstFailure = reason;
    this.#counters.retries++;
    this.#queue.unshift(job);
    this.#dispatch();
  }

  /** A replacement could not start: the pool shrinks; with no worker left, nothing can run. */
  #startFailed(error: Error): void {
    if (this.#closed || this.#slots.some((s) => s.state !== "dead")) return;
    for (const job of this.#queue.splice(0)) {
      job.reject(new Error(`no worker left to run the request: ${error.message}`));
    }
  }

  #dispatch(): void {
    if (this.#closed) return;
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.state !== "idle") continue;
      const job = this.#queue.shift()!;
      slot.state = "busy";
      slot.job = job;
      slot.jobId = this.#nextId++;
      const msg: ToWorker = { ...job.request, type: "request", id: slot.jobId };
      slot.worker.postMessage(msg);
    }
  }
}
