/**
 * A node's share of the evaluation queue: it leases as many requests as its pool has workers,
 * runs each on the pool (the job's context, its dataset copied here first if the node lacks it),
 * answers it, and renews the leases of those in flight. A lease it fails to renew was lost (its
 * search was cancelled, or this node stalled and another took the request): the work goes on
 * being computed only if nobody else is, and its answer, refused by the queue, is dropped. A
 * node that dies stops renewing; its leases expire and other nodes take the requests.
 *
 * A request this node's pool could not run by no fault of its own (RunnerUnavailable: its workers
 * were lost again and again, or none is left) is not answered: its lease lapses and another node
 * takes it, so the infrastructure's failures are never charged to a candidate. While none of its
 * workers serves or is starting, the node takes no requests at all.
 */
import type { DatasetRef } from "../core/prepare.ts";
import type { JobContext } from "../core/runner.ts";
import type { JobRunner, WorkerPool } from "../workers/pool.ts";
import type { EvaluationAnswer, EvaluationQueue, EvaluationTask } from "../store/mod.ts";
import type { Logger } from "./log.ts";

/** An idle node looks for requests this often when no notification came. */
const POLL_MS = 1000;
/** A job's runner is closed after this long without a request (its workers keep its data). */
const IDLE_RUNNER_MS = 60_000;

interface InFlight {
  task: EvaluationTask;
  /** Its lease was lost: the answer is not sent. */
  lost: boolean;
}

interface Runner {
  runner: JobRunner;
  active: number;
  idleSince: number;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Executor {
  readonly #inFlight = new Map<string, InFlight>();
  readonly #runners = new Map<string, Promise<Runner>>();
  readonly #unlisten: (() => void)[] = [];
  #wake = () => {};
  #closed = false;
  #heartbeat?: ReturnType<typeof setInterval>;
  #loop?: Promise<void>;
  /** Requests answered here, for metrics. */
  answered = 0;

  constructor(
    private readonly queue: EvaluationQueue,
    private readonly pool: WorkerPool,
    private readonly localRef: (datasetId: string, ref: DatasetRef) => Promise<DatasetRef>,
    private readonly log: Logger,
  ) {}

  /** Leases held now. */
  get leases(): number {
    return this.#inFlight.size;
  }

  start(): void {
    this.#unlisten.push(this.queue.onReady(() => this.#wake()));
    this.#unlisten.push(this.queue.onCancelled((jobId) => this.#dropJob(jobId)));
    this.#heartbeat = setInterval(() => this.#renew(), this.queue.leaseMs / 3);
    this.#loop = this.#take();
  }

  async #take(): Promise<void> {
    while (!this.#closed) {
      const health = this.pool.health();
      const serving = health.ready + health.starting > 0;
      const free = serving ? this.pool.parallelism - this.#inFlight.size : 0;
      let tasks: EvaluationTask[] = [];
      if (free > 0) {
        try {
          tasks = await this.queue.take(free);
        } catch (e) {
          if (!this.#closed) this.log.error("evaluation queue", { error: message(e) });
        }
      }
      for (const t of tasks) void this.#run(t);
      if (tasks.length === free && free > 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, POLL_MS);
        this.#wake = done;
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  }

  /** The task's context with each dataset it reads at this node's copy of its files. */
  async #localContext(task: EvaluationTask): Promise<JobContext> {
    const context = task.context as JobContext;
    const ids = task.datasetIds;
    const at = (id: string | undefined, ref: DatasetRef | undefined) =>
      id && ref ? this.localRef(id, ref) : Promise.resolve(ref);
    const [dataset, validation, test] = await Promise.all([
      this.localRef(ids.dataset, context.dataset),
      at(ids.validation, context.validation),
      at(ids.test, context.test),
    ]);
    return {
      ...context,
      dataset,
      ...(validation ? { validation } : {}),
      ...(test ? { test } : {}),
    };
  }

  async #runnerFor(task: EvaluationTask): Promise<Runner> {
    let found = this.#runners.get(task.jobId);
    if (!found) {
      found = this.#localContext(task).then((local) => ({
        runner: this.pool.forJob(local),
        active: 0,
        idleSince: Date.now(),
      }));
      this.#runners.set(task.jobId, found);
      found.catch(() => this.#runners.delete(task.jobId));
    }
    return await found;
  }

  async #run(task: EvaluationTask): Promise<void> {
    const entry: InFlight = { task, lost: false };
    this.#inFlight.set(task.id, entry);
    let answer: EvaluationAnswer;
    let r: Runner | undefined;
    try {
      r = await this.#runnerFor(task);
      r.active++;
      const op = (r.runner as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
        task.op
      ];
      answer = { ok: true, result: await op(...task.args) };
    } catch (e) {
      // A dataset that cannot be had here, or a job whose data cannot be prepared: retrying
      // elsewhere cannot help, and the search fails as a whole.
      const contextFailed = !r || r.runner.failure !== undefined;
      answer = { ok: false, error: message(e), contextFailed };
      if ((e as Error)?.name === "AbortError") entry.lost = true;
      if ((e as Error)?.name === "RunnerUnavailable") {
        // Not this request's doing: left unanswered, its lease lapses and another node runs it.
        entry.lost = true;
        this.log.warn("evaluation left to another node", { job: task.jobId, error: message(e) });
      }
    } finally {
      if (r) {
        r.active--;
        r.idleSince = Date.now();
      }
    }
    try {
      if (!entry.lost && !this.#closed && await this.queue.answer(task, answer)) this.answered++;
    } catch (e) {
      if (!this.#closed) {
        this.log.error("evaluation answer failed", {
          op: task.op,
          job: task.jobId,
          error: message(e),
        });
      }
    } finally {
      this.#inFlight.delete(task.id);
      this.#wake();
    }
  }

  async #renew(): Promise<void> {
    for (const entry of [...this.#inFlight.values()]) {
      if (entry.lost) continue;
      try {
        if (!await this.queue.renew(entry.task)) entry.lost = true;
      } catch {
        // The database is away: the lease may lapse, and the queue then refuses the answer.
      }
    }
    const now = Date.now();
    for (const [jobId, found] of this.#runners) {
      const r = await found.catch(() => undefined);
      if (r && r.active === 0 && now - r.idleSince > IDLE_RUNNER_MS) {
        this.#runners.delete(jobId);
        await r.runner.close();
      }
    }
  }

  /** A job's requests were cancelled: its work here stops at once, its workers go to others. */
  async #dropJob(jobId: string): Promise<void> {
    const found = this.#runners.get(jobId);
    if (!found) return;
    this.#runners.delete(jobId);
    for (const e of this.#inFlight.values()) if (e.task.jobId === jobId) e.lost = true;
    const r = await found.catch(() => undefined);
    await r?.runner.close();
  }

  /** Stops taking requests; those in flight are left to expire and go to another node. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const u of this.#unlisten) u();
    this.#wake();
    await this.#loop;
    for (const found of this.#runners.values()) {
      const r = await found.catch(() => undefined);
      await r?.runner.close();
    }
    this.#runners.clear();
  }
}
