/**
 * One pool of Deno Web Workers shared by every job. A job asks for a runner (`forJob`), which is
 * a CandidateRunner bound to the job's context; its requests wait in the job's own queue, and
 * the dispatcher hands idle workers the next request of each job in turn (round robin), so a job
 * with a large generation cannot starve a small one. Results depend only on the tree, the job's
 * configuration and its seed, so they equal InProcessRunner's whichever worker runs them.
 *
 * Failures stay local to one request, and are charged to it only when it caused them:
 * - the request's own failure: its operation threw on a healthy worker, or the worker broke while
 *   running it (it answered `broken`: a wasm abort, an exhausted heap; or it crashed). The
 *   request is retried once, ahead of its job's queue, on a different worker where there is one
 *   (a broken worker is always replaced, so a retry after a fault always meets a fresh worker);
 *   failing there too rejects it with both reasons: the candidate failed on two workers.
 * - the infrastructure's: the worker was terminated from outside (`terminateWorker`), a
 *   replacement failed to start, the pool closed. The request is sent again without being
 *   charged, at most MAX_UNCHARGED times; beyond that, or with no worker left, it rejects with
 *   RunnerUnavailable, which stops the search instead of failing a candidate.
 * A broken or lost worker is terminated and replaced at once, so that no later request meets it.
 * A job whose data cannot be prepared at all fails as a whole, without retries.
 *
 * Cancelling a job (closing its runner) rejects its queued requests at once and abandons its
 * requests in flight: their workers are terminated and replaced, so the CPU goes to other jobs
 * within milliseconds rather than when a long candidate would have finished.
 *
 * Workers inherit the main thread's permissions (Deno's default), which is what they need to
 * read the npm packages, the wasm binaries and data files.
 *
 * The engine of a job's stacks (engine/candidate_ops.ts) must be the same on every worker. With
 * `auto` and a WebGPU adapter, a job's calibration decides it once: the pool runs the job's one
 * calibration (the search's own request, or one of its own before the job's first stack when
 * the search asks none, as when resuming or not stacking) and from then on sends the decision
 * in the job's context with every request.
 */
import { type JobContext, RunnerUnavailable } from "../core/runner.ts";
import type { StackCalibration } from "../core/stack_plan.ts";
import { isDenseStack } from "../core/model_kinds.ts";
import type { BackendChoice, BackendName } from "../core/backends.ts";
// A type only: the pool's client is derived from the table the worker serves.
import type { CandidateOps } from "../engine/candidate_ops.ts";
import { type Remote, remote, RequestFailed, WorkerClient } from "./protocol.ts";
import type { CandidateWorkerInfo, CandidateWorkerOptions } from "./candidate_worker.ts";

export type { JobContext } from "../core/runner.ts";

/** An operation of the candidate table. */
export type CandidateOp = keyof CandidateOps & string;

export interface PoolObserver {
  /** Called when a request settles, with its wall time on the worker. */
  requestDone?(op: CandidateOp, ms: number, ok: boolean): void;
  /** Called when a worker is terminated and a fresh one started at its index, with why. */
  replaced?(worker: number, why: string): void;
}

export interface PoolOptions {
  size: number;
  backend: BackendChoice;
  /** Job evaluators each worker caches (default 4). */
  maxContexts?: number;
  observer?: PoolObserver;
}

export interface PoolCounters {
  /** Requests sent again after a failure (charged to them or not). */
  retries: number;
  /** Workers replaced by fresh ones, for whatever reason below. */
  restarts: number;
  /** Workers whose runtime broke (they answered `broken`), replaced. */
  broken: number;
  /** Workers that crashed or were terminated from outside, replaced. */
  lost: number;
  /** Workers terminated because the job of their request was cancelled. */
  abandoned: number;
  /** Replacements that failed to start. */
  startFailures: number;
}

/** The workers as a health check reports them. */
export interface PoolHealth {
  size: number;
  /** Started and serving (idle or busy). */
  ready: number;
  /** Starting: replacements on their way. */
  starting: number;
  /** Slots left empty: their replacement failed to start. */
  dead: number;
  /** From a worker's fault (the end of the request that saw it) to its replacement's ready. */
  lastReplacementMs?: number;
}

export interface PoolStats {
  size: number;
  busy: number;
  queued: number;
  jobs: number;
  /** Worker time spent on requests since the pool started, summed over workers. */
  busyMs: number;
  uptimeMs: number;
}

/** The candidate operations bound to one job; closing it cancels the job's outstanding work. */
export type JobRunner = Remote<CandidateOps> & {
  readonly contextId: string;
  readonly parallelism: number;
  /** Set when the job's data could not be prepared; every request then rejects with it. */
  readonly failure: Error | undefined;
  close(): Promise<void>;
};

/**
 * One worker per hardware thread, none held back for the main thread: during a search the main
 * thread only coordinates (GP variation, bookkeeping) and sleeps while the workers compute.
 */
export function defaultPoolSize(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

interface JobQueue {
  /** Replaced, with the engine decided, once the job's calibration answers. */
  context: JobContext;
  /** The job's one calibration. */
  calibration?: Promise<StackCalibration>;
  pending: Request[];
  closed: boolean;
  failure?: Error;
  onFailure?: (error: Error) => void;
}

interface Request {
  job: JobQueue;
  op: CandidateOp;
  args: unknown[];
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  /** Why the attempts charged to it failed, with the serials of the workers they ran on. */
  failures: { reason: string; worker: number }[];
  /** Attempts lost to the infrastructure, not charged. */
  uncharged: number;
}

/** Sends lost to the infrastructure that a request survives before its search stops. */
const MAX_UNCHARGED = 4;

type SlotState = "starting" | "idle" | "busy" | "dead";

/** One worker's life: a replacement is a new Slot at the same index, with a new serial. */
interface Slot {
  index: number;
  serial: number;
  client: WorkerClient;
  state: SlotState;
  request?: Request;
  startedAt: number;
  /** Settles when the worker answers its init message. */
  ready: Promise<CandidateWorkerInfo>;
}

const WORKER_URL = new URL("./candidate_worker.ts", import.meta.url).href;

function cancelled(contextId: string): Error {
  const e = new Error(`job ${contextId} was cancelled`);
  e.name = "AbortError";
  return e;
}

/**
 * OpenBLAS (engine/tensor/native_blas.ts) must start with one thread of its own, which it reads from
 * OPENBLAS_NUM_THREADS when first loaded. Set here, on the main thread, before any worker exists:
 * the environment is shared by the process's threads, and writing it while other threads read it
 * is not safe.
 */
function singleThreadedBlas(): void {
  try {
    if (Deno.env.get("OPENBLAS_NUM_THREADS") !== "1") Deno.env.set("OPENBLAS_NUM_THREADS", "1");
  } catch {
    // No --allow-env: OpenBLAS is then not used either (native_blas.ts needs FFI and env).
  }
}

export class WorkerPool {
  readonly parallelism: number;
  #backend: CandidateWorkerInfo = { name: "cpu", tfjs: "", initMs: 0 };
  readonly #opts: Required<Omit<PoolOptions, "observer">> & { observer?: PoolObserver };
  readonly #slots: Slot[] = [];
  /** Jobs with a runner open, in round-robin order. */
  #jobs: JobQueue[] = [];
  #cursor = 0;
  readonly #counters: PoolCounters = {
    retries: 0,
    restarts: 0,
    broken: 0,
    lost: 0,
    abandoned: 0,
    startFailures: 0,
  };
  #serials = 0;
  #lastReplacementMs?: number;
  readonly #started = performance.now();
  #busyMs = 0;
  #closed = false;

  private constructor(opts: PoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) {
      throw new Error(`pool size must be a positive integer, got ${opts.size}`);
    }
    this.parallelism = opts.size;
    this.#opts = { maxContexts: 4, ...opts };
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

  /** The OpenBLAS library the wasm workers' matrix products call, if any. */
  get nativeMatMul(): string | undefined {
    return this.#backend.nativeMatMul;
  }

  /** The adapter the workers' fused WebGPU engine may use, if any. */
  get fused(): string | undefined {
    return this.#backend.fused;
  }

  /** The TensorFlow.js version the workers run. */
  get tfjsVersion(): string {
    return this.#backend.tfjs;
  }

  get counters(): PoolCounters {
    return { ...this.#counters };
  }

  stats(): PoolStats {
    const now = performance.now();
    const busy = this.#slots.filter((s) => s.state === "busy");
    return {
      size: this.parallelism,
      busy: busy.length,
      queued: this.#jobs.reduce((n, j) => n + j.pending.length, 0),
      jobs: this.#jobs.length,
      busyMs: this.#busyMs + busy.reduce((t, s) => t + (now - s.startedAt), 0),
      uptimeMs: now - this.#started,
    };
  }

  health(): PoolHealth {
    const count = (...states: SlotState[]) =>
      this.#slots.filter((s) => states.includes(s.state)).length;
    return {
      size: this.parallelism,
      ready: count("idle", "busy"),
      starting: count("starting"),
      dead: count("dead"),
      lastReplacementMs: this.#lastReplacementMs,
    };
  }

  /** Indices of workers with a request in flight. */
  busyWorkers(): number[] {
    return this.#slots.filter((s) => s.state === "busy").map((s) => s.index);
  }

  /**
   * A runner for one job. `onFailure` is called once if the job's data cannot be prepared, so
   * that the job can stop instead of failing every candidate.
   */
  forJob(context: JobContext, onFailure?: (error: Error) => void): JobRunner {
    if (this.#jobs.some((j) => j.context.id === context.id)) {
      throw new Error(`job ${context.id} already has a runner`);
    }
    const job: JobQueue = { context, pending: [], closed: false, onFailure };
    this.#jobs.push(job);
    return remote<CandidateOps, Omit<JobRunner, keyof CandidateOps>>(
      (op, args) => this.#send(job, op as CandidateOp, args),
      {
        contextId: context.id,
        parallelism: this.parallelism,
        get failure() {
          return job.failure;
        },
        close: () => {
          this.#closeJob(job);
          return Promise.resolve();
        },
      },
    );
  }

  /**
   * Really terminates one worker from outside, as an operator or the machine would: an operator
   * and test hook. Its request is sent again without being charged (the infrastructure's doing).
   */
  terminateWorker(index: number): void {
    const slot = this.#slots[index];
    if (!slot) throw new Error(`no worker ${index} (pool size ${this.parallelism})`);
    this.#lost(slot, `worker ${index} was terminated`, false);
  }

  /** Terminates every worker; queued and in-flight requests reject. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const error = () => new Error("worker pool closed before the request finished");
    for (const slot of this.#slots) {
      const request = slot.request;
      this.#retire(slot);
      request?.reject(error());
    }
    for (const job of this.#jobs) {
      job.closed = true;
      for (const r of job.pending.splice(0)) r.reject(error());
    }
    this.#jobs = [];
    return Promise.resolve();
  }

  /** A job's request, its calibration run once and a stack held back until it has decided. */
  #send(job: JobQueue, op: CandidateOp, args: unknown[]): Promise<unknown> {
    if (op === "calibrate") return this.#calibrate(job);
    if (op === "localSearchAndFitness" && this.#measuresEngine(job) && !job.context.engine) {
      const go = () => this.#submit(job, op, args);
      return this.#calibrate(job).then(go, go);
    }
    return this.#submit(job, op, args);
  }

  /** Whether the job's engine waits for its calibration: auto, an adapter, a dense model. */
  #measuresEngine(job: JobQueue): boolean {
    return this.#opts.backend === "auto" && this.#backend.fused !== undefined &&
      isDenseStack(job.context.config.model);
  }

  #calibrate(job: JobQueue): Promise<StackCalibration> {
    job.calibration ??= (this.#submit(job, "calibrate", []) as Promise<StackCalibration>).then(
      (c) => {
        job.context = { ...job.context, engine: c.engine?.choice ?? "tfjs" };
        return c;
      },
      (e) => {
        // Without a measurement, tfjs, which is never wrong.
        job.context = { ...job.context, engine: "tfjs" };
        throw e;
      },
    );
    return job.calibration;
  }

  #submit(job: JobQueue, op: CandidateOp, args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("worker pool is closed"));
    if (job.failure) return Promise.reject(job.failure);
    if (job.closed) return Promise.reject(cancelled(job.context.id));
    if (this.#slots.every((s) => s.state === "dead")) {
      return Promise.reject(
        new RunnerUnavailable("no worker left: every replacement failed to start"),
      );
    }
    return new Promise((resolve, reject) => {
      job.pending.push({ job, op, args, resolve, reject, failures: [], uncharged: 0 });
      this.#dispatch();
    });
  }

  #closeJob(job: JobQueue): void {
    if (job.closed) return;
    job.closed = true;
    const index = this.#jobs.indexOf(job);
    this.#jobs.splice(index, 1);
    if (index < this.#cursor) this.#cursor--;
    for (const r of job.pending.splice(0)) r.reject(cancelled(job.context.id));
    if (this.#closed) return;
    for (const slot of this.#slots) {
      if (slot.state === "busy" && slot.request?.job === job) {
        const request = slot.request;
        this.#counters.abandoned++;
        this.#replace(slot, `its job ${job.context.id} was cancelled`);
        request.reject(cancelled(job.context.id));
      } else if (slot.state !== "dead") {
        slot.client.release(job.context.id);
      }
    }
    this.#dispatch();
  }

  /** `faultAt`: for a replacement, when its predecessor's fault was seen (epoch ms). */
  #spawn(index: number, faultAt?: number): Slot {
    singleThreadedBlas();
    const options: CandidateWorkerOptions = {
      backend: this.#opts.backend,
      maxContexts: this.#opts.maxContexts,
    };
    const started = WorkerClient.start<CandidateWorkerInfo>(WORKER_URL, options);
    const ready = started.ready.catch((e: Error) => {
      throw new Error(`worker ${index} ${e.message}`);
    });
    // A replacement's failed start is handled below; keep it from going unhandled.
    ready.catch(() => {});
    const slot: Slot = {
      index,
      serial: this.#serials++,
      client: started.client,
      state: "starting",
      ready,
      startedAt: 0,
    };
    ready.then(() => {
      if (slot.state !== "starting") return;
      slot.state = "idle";
      if (faultAt !== undefined) this.#lastReplacementMs = Date.now() - faultAt;
      this.#dispatch();
    }, (e: Error) => {
      if (slot.state === "dead") return;
      this.#retire(slot);
      if (faultAt !== undefined) this.#counters.startFailures++;
      this.#startFailed(e);
    });
    slot.client.onLost = (reason) => {
      // A retired slot's loss is the pool's own doing; a start failure is handled above.
      if (slot.state === "dead" || slot.state === "starting") return;
      // A crash while running a request is charged to it: its request may be what crashed it.
      this.#lost(slot, `worker ${index} ${reason}`, true);
    };
    return slot;
  }

  /** A worker's answer to the request in flight; stale answers settle nothing. */
  #answered(
    slot: Slot,
    request: Request,
    outcome: { ok: true; result: unknown } | {
      ok: false;
      error: RequestFailed;
    },
  ): void {
    if (slot.request !== request || slot.state !== "busy") return;
    const ms = this.#release(slot);
    slot.state = "idle";
    this.#opts.observer?.requestDone?.(request.op, ms, outcome.ok);
    if (outcome.ok) request.resolve(outcome.result);
    else if (outcome.error.broken) {
      // Its runtime broke under this request: replaced before anything else runs on it.
      this.#counters.broken++;
      this.#replace(slot, outcome.error.message, outcome.error.faultAt ?? Date.now());
      this.#failed(request, `worker ${slot.index}: ${outcome.error.message}`, slot.serial);
    } else if (outcome.error.contextFailed) {
      this.#jobFailed(request.job, new Error(outcome.error.message), request);
    } else this.#failed(request, `worker ${slot.index}: ${outcome.error.message}`, slot.serial);
    this.#dispatch();
  }

  /** Ends the busy period of a slot; returns its length. */
  #release(slot: Slot): number {
    const ms = slot.state === "busy" ? performance.now() - slot.startedAt : 0;
    this.#busyMs += ms;
    slot.request = undefined;
    return ms;
  }

  /** Terminates a worker and forgets it; its handlers ignore anything that still arrives. */
  #retire(slot: Slot): void {
    this.#release(slot);
    slot.state = "dead";
    slot.client.terminate();
  }

  /** Retires a worker and starts a fresh one at its index. */
  #replace(slot: Slot, why: string, faultAt?: number): void {
    this.#retire(slot);
    if (this.#closed) return;
    this.#counters.restarts++;
    this.#opts.observer?.replaced?.(slot.index, why);
    this.#slots[slot.index] = this.#spawn(slot.index, faultAt);
  }

  /** A worker lost (crashed, or terminated from outside); `charged`: its request's doing. */
  #lost(slot: Slot, reason: string, charged: boolean): void {
    if (slot.state === "dead") return;
    const request = slot.request;
    this.#counters.lost++;
    this.#replace(slot, reason, Date.now());
    if (this.#closed || !request) return;
    if (charged) return this.#failed(request, reason, slot.serial);
    if (request.job.closed) return request.reject(cancelled(request.job.context.id));
    if (++request.uncharged > MAX_UNCHARGED) {
      return request.reject(
        new RunnerUnavailable(
          `${request.op} lost its worker ${request.uncharged} times by no fault of its own ` +
            `(last: ${reason})`,
        ),
      );
    }
    this.#counters.retries++;
    request.job.pending.unshift(request);
    this.#dispatch();
  }

  /** An attempt charged to the request failed on the worker with this serial. */
  #failed(r: Request, reason: string, worker: number): void {
    if (r.job.closed) return r.reject(r.job.failure ?? cancelled(r.job.context.id));
    r.failures.push({ reason, worker });
    if (r.failures.length >= 2) {
      const [first, then] = r.failures;
      r.reject(new Error(`${r.op} failed twice: first ${first.reason}; then ${then.reason}`));
      return;
    }
    this.#counters.retries++;
    r.job.pending.unshift(r);
    this.#dispatch();
  }

  /**
   * Whether the slot may run the request: not on a worker it already failed on, unless no other
   * worker could (a pool of one, or the others gone).
   */
  #mayRun(r: Request, slot: Slot): boolean {
    const tried = (s: Slot) => r.failures.some((f) => f.worker === s.serial);
    if (!tried(slot)) return true;
    return !this.#slots.some((s) => s !== slot && s.state !== "dead" && !tried(s));
  }

  /** The job's data cannot be prepared: every request of the job fails with the reason. */
  #jobFailed(job: JobQueue, error: Error, request: Request): void {
    request.reject(error);
    if (job.failure) return;
    job.failure = error;
    for (const r of job.pending.splice(0)) r.reject(error);
    job.onFailure?.(error);
  }

  /** A replacement could not start: the pool shrinks; with no worker left, nothing can run. */
  #startFailed(error: Error): void {
    if (this.#closed || this.#slots.some((s) => s.state !== "dead")) return;
    for (const job of this.#jobs) {
      for (const r of job.pending.splice(0)) {
        r.reject(new RunnerUnavailable(`no worker left to run the request: ${error.message}`));
      }
    }
  }

  /** The next request for the slot, in round-robin order over the jobs with work waiting. */
  #next(slot: Slot): Request | undefined {
    const n = this.#jobs.length;
    for (let i = 0; i < n; i++) {
      const k = (this.#cursor + i) % n;
      const job = this.#jobs[k];
      const at = job.pending.findIndex((r) => this.#mayRun(r, slot));
      if (at >= 0) {
        this.#cursor = (k + 1) % n;
        return job.pending.splice(at, 1)[0];
      }
    }
    return undefined;
  }

  #dispatch(): void {
    if (this.#closed) return;
    for (const slot of this.#slots) {
      if (slot.state !== "idle") continue;
      const request = this.#next(slot);
      if (!request) continue;
      slot.state = "busy";
      slot.request = request;
      slot.startedAt = performance.now();
      slot.client.call(request.op, request.args, request.job.context).then(
        (result) => this.#answered(slot, request, { ok: true, result }),
        (error) => {
          // A lost worker is handled by onLost (#lost); only the worker's own answers here.
          if (error instanceof RequestFailed && !slot.client.lost) {
            this.#answered(slot, request, { ok: false, error });
          }
        },
      );
    }
  }
}
