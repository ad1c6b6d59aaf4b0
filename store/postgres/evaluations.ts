/**
 * The queue of candidate evaluations on pg-boss (a maintained job queue on PostgreSQL, built on
 * SKIP LOCKED; it runs under Deno as an npm package). pg-boss gives what a lease needs: a fetched
 * job is active until completed, renewed by `touch` (its heartbeat, at least 10 s), re-offered to
 * another fetch when the heartbeat stops, failed after `retryLimit` such losses, and an older
 * attempt's `touch` or `complete` is refused once the job was re-offered (pg-boss's JobAttempt).
 *
 * What this file adds: the job id is derived from (search, key), so a request made again (by the
 * search's next owner after a crash) meets the first one and its answer; answers are encoded
 * without loss (store/codec.ts); and NOTIFY on the storage's listening connection wakes the
 * poster when its answer is in and idle nodes when a request is posted, with a slow poll behind
 * both.
 */
import { PgBoss } from "pg-boss";
import type { PgDb } from "./db.ts";
import { decodeData, encodeData } from "../codec.ts";
import type {
  EvaluationAnswer,
  EvaluationQueue,
  EvaluationRequest,
  EvaluationTask,
} from "../storage.ts";

const QUEUE = "lossmith-evaluations";
/** Leases lost (a node died or stalled) before a request is answered with an error. */
const RETRIES = 2;
/** How often a poster checks its requests when no notification came. */
const POLL_MS = 3000;
/** An evaluation may run this long at most (a full MNIST final run takes minutes). */
const MAX_RUN_S = 24 * 3600;

export const EVALUATION_CHANNELS = {
  ready: "lossmith_evaluations_ready",
  done: "lossmith_evaluations_done",
  cancelled: "lossmith_evaluations_cancelled",
};

/** A UUID (pg-boss's id type) named by the search and the key, the same on every node. */
async function requestId(jobId: string, key: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${jobId}\n${key}`)),
  );
  const hex = Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20, 32)
  }`;
}

function abortError(): Error {
  const e = new Error("the evaluation was cancelled");
  e.name = "AbortError";
  return e;
}

/** pg-boss's CommandResponse carries `affected`, which its type declarations leave out. */
const affected = (r: unknown) => (r as { affected?: number }).affected ?? 0;

interface Stored {
  state: string;
  output?: unknown;
}

export class PgBossEvaluations implements EvaluationQueue {
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #unlisten: (() => void)[] = [];

  private constructor(
    private readonly boss: PgBoss,
    private readonly db: PgDb,
    readonly leaseMs: number,
  ) {
    this.#unlisten.push(db.signals.listen(EVALUATION_CHANNELS.done, (id) => this.#wake(id)));
  }

  static async start(url: string, db: PgDb, leaseMs: number): Promise<PgBossEvaluations> {
    const lease = Math.max(10_000, leaseMs);
    const boss = new PgBoss({
      connectionString: url,
      max: 4,
      schedule: false,
      // The supervisor is what re-offers a request whose heartbeat stopped: it must look more
      // often than a lease lasts (pg-boss's default is once a minute).
      superviseIntervalSeconds: Math.max(1, Math.round(lease / 3000)),
      // The queue's counts (depth) are pg-boss's monitor's, refreshed this often.
      monitorIntervalSeconds: 10,
    });
    boss.on("error", (e) => console.error(`evaluation queue: ${(e as Error).message}`));
    await boss.start();
    await boss.createQueue(QUEUE, {
      retryLimit: RETRIES,
      retryDelay: 0,
      expireInSeconds: MAX_RUN_S,
      deleteAfterSeconds: 24 * 3600,
    });
    return new PgBossEvaluations(boss, db, lease);
  }

  get #heartbeatSeconds(): number {
    return Math.round(this.leaseMs / 1000);
  }

  #wake(id: string): void {
    const wake = (set?: Set<() => void>) => set && [...set].forEach((fn) => fn());
    if (id === "*") { for (const set of this.#waiters.values()) wake(set); }
    else wake(this.#waiters.get(id));
  }

  async #stored(id: string): Promise<Stored | undefined> {
    const [job] = await this.boss.findJobs(QUEUE, { id });
    return job && { state: job.state, output: job.output };
  }

  async #post(id: string, r: EvaluationRequest): Promise<boolean> {
    const data = {
      jobId: r.jobId,
      datasetIds: r.datasetIds,
      key: r.key,
      op: r.op,
      context: encodeData(r.context),
      args: encodeData(r.args),
    };
    const sent = await this.boss.send(QUEUE, data, {
      id,
      retryLimit: RETRIES,
      heartbeatSeconds: this.#heartbeatSeconds,
    });
    if (sent) await this.db.query("SELECT pg_notify($1, '')", [EVALUATION_CHANNELS.ready]);
    return sent !== null;
  }

  async request(r: EvaluationRequest, signal?: AbortSignal): Promise<EvaluationAnswer> {
    const id = await requestId(r.jobId, r.key);
    // A notification that arrives while the state is being read is remembered, not lost.
    let woken = false;
    let wake = () => {};
    const set = this.#waiters.get(id) ?? new Set();
    const waiter = () => {
      woken = true;
      wake();
    };
    set.add(waiter);
    this.#waiters.set(id, set);
    try {
      if (!await this.#post(id, r)) {
        // Made before (by this search's earlier owner): its answer, or its lease, stands; one
        // its owner cancelled when it stopped is posted again.
        const earlier = await this.#stored(id);
        if (earlier?.state === "cancelled") {
          await this.boss.deleteJob(QUEUE, id);
          await this.#post(id, r);
        }
      }
      while (true) {
        if (signal?.aborted) throw abortError();
        woken = false;
        const stored = await this.#stored(id);
        if (stored?.state === "completed") {
          return decodeData((stored.output as { answer: unknown }).answer) as EvaluationAnswer;
        }
        if (stored?.state === "failed") {
          return {
            ok: false,
            error: `${r.op} lost its lease ${RETRIES + 1} times (the nodes running it stopped)`,
            unavailable: true,
          };
        }
        if (!stored || stored.state === "cancelled") throw abortError();
        if (woken) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, POLL_MS);
          signal?.addEventListener("abort", done, { once: true });
          wake = done;
          function done() {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve();
          }
        });
      }
    } finally {
      set.delete(waiter);
      if (set.size === 0) this.#waiters.delete(id);
    }
  }

  async take(max: number): Promise<EvaluationTask[]> {
    if (max < 1) return [];
    const jobs = await this.boss.fetch<Record<string, unknown>>(QUEUE, {
      batchSize: max,
      includeMetadata: true,
    });
    return jobs.map((j) => ({
      id: j.id,
      attempt: j.retryCount,
      jobId: j.data.jobId as string,
      datasetIds: j.data.datasetIds as EvaluationTask["datasetIds"],
      key: j.data.key as string,
      op: j.data.op as string,
      context: decodeData(j.data.context),
      args: decodeData(j.data.args) as unknown[],
    }));
  }

  async renew(task: EvaluationTask): Promise<boolean> {
    return affected(await this.boss.touch(QUEUE, { id: task.id, retryCount: task.attempt })) === 1;
  }

  async answer(task: EvaluationTask, answer: EvaluationAnswer): Promise<boolean> {
    const r = await this.boss.complete(QUEUE, { id: task.id, retryCount: task.attempt }, {
      answer: encodeData(answer),
    });
    if (affected(r) !== 1) return false;
    await this.db.query("SELECT pg_notify($1, $2)", [EVALUATION_CHANNELS.done, task.id]);
    return true;
  }

  async #ids(jobId: string, open: boolean): Promise<string[]> {
    const jobs = await this.boss.findJobs(QUEUE, { data: { jobId } });
    const openStates = new Set(["created", "retry", "active"]);
    return jobs.filter((j) => !open || openStates.has(j.state)).map((j) => j.id);
  }

  async cancel(jobId: string): Promise<void> {
    const ids = await this.#ids(jobId, true);
    if (ids.length) await this.boss.cancel(QUEUE, ids);
    for (const id of ids) this.#wake(id); // this node's waiters learn it now, not at their poll
    await this.db.query("SELECT pg_notify($1, $2)", [EVALUATION_CHANNELS.cancelled, jobId]);
  }

  async forget(jobId: string): Promise<void> {
    const ids = await this.#ids(jobId, false);
    if (ids.length) await this.boss.deleteJob(QUEUE, ids);
  }

  async depth(): Promise<{ queued: number; active: number }> {
    const q = await this.boss.getQueue(QUEUE);
    return { queued: q?.queuedCount ?? 0, active: q?.activeCount ?? 0 };
  }

  onReady(fn: () => void): () => void {
    return this.db.signals.listen(EVALUATION_CHANNELS.ready, () => fn());
  }

  onCancelled(fn: (jobId: string) => void): () => void {
    return this.db.signals.listen(EVALUATION_CHANNELS.cancelled, fn);
  }

  async stop(): Promise<void> {
    for (const u of this.#unlisten) u();
    await this.boss.stop({ graceful: false });
  }
}
