/**
 * One run of a search job on this node, from its claim to its end: the one owner of its state,
 * its progress and its stopping while this node holds its lease. It describes the data (on a
 * worker), resumes from the last checkpoint if there is one (written by this node or another),
 * runs the generations, checkpoints each (with its progress and events, in one transaction), runs
 * the final evaluation, and stores the result. Every write names the lease (store/storage.ts), and
 * a refused one means the lease was lost: the run stops without writing more.
 *
 * It stops early through `stop(reason)` only, which aborts its one signal:
 * - `cancel` (the user, on any node): it ends `cancelled` with the ranked losses found so far; the
 *   store's `cancelRequested` records the request, so whoever runs it next still knows;
 * - `shutdown` (this node stops): it stays `running` and its lease is released, so that another
 *   node, or this one at its next start, resumes it from its last checkpoint;
 * - `lost` (another node holds it now, or the store is unreachable): it stops, writing nothing;
 * - `failure` (its data could not be prepared): it ends `failed`.
 * Every terminal transition, with its `finished` event, is written by `#finish`.
 */
import { searchAndEvaluate, type SearchPlatform } from "../core/pipeline.ts";
import { buildResult, LOSSMITH_VERSION, rankLosses, type SearchResult } from "../core/result.ts";
import { modelSpecFor } from "../core/model_kinds.ts";
import { dataRefsOf, type SearchState } from "../core/search.ts";
import type { DataSummary } from "../core/result.ts";
import {
  type Progress,
  type ProgressEvent,
  progressSummary,
  reduceProgress,
} from "../core/progress.ts";
import type { JobRunner } from "../workers/pool.ts";
import type { JobError, JobLease, JobRecord, JobState, NewEvent, Storage } from "../store/mod.ts";
import type { Evaluators } from "./evaluators.ts";
import type { Fields, Logger } from "./log.ts";

export type StopReason = "cancel" | "shutdown" | "lost" | "failure";
type FinishedState = Exclude<JobState, "queued" | "running">;

/** At most this often a `progress` event is stored per job; generations always are. */
const PROGRESS_EVERY_MS = 250;

export interface JobDeps {
  storage: Storage;
  evaluators: Evaluators;
  log: Logger;
}

/** What the search produced before it ended, however it ended. */
interface Outcome {
  result?: SearchResult;
  error?: Error;
}

export class Job {
  readonly id: string;
  #state: JobState;
  #progress: Progress;
  #stop?: { reason: StopReason; error?: Error };
  readonly #controller = new AbortController();
  readonly #ended = Promise.withResolvers<void>();
  /** Set as the search goes, for the result of a search cancelled mid-way. */
  #lastState?: SearchState;
  #summary?: DataSummary;
  #platform?: SearchPlatform;
  /** The store writes of this run, one after another, in the order they were made. */
  #writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: JobDeps,
    private readonly record: JobRecord,
    readonly lease: JobLease,
  ) {
    this.id = record.id;
    this.#state = "running";
    this.#progress = record.progress;
  }

  get state(): JobState {
    return this.#state;
  }

  get progress(): Progress {
    return this.#progress;
  }

  /** Settles when the run has ended: finished, or left to resume (shutdown, lost lease). */
  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  /** The one way to stop a job, whatever the reason; a finished job is left as it is. */
  stop(reason: StopReason, error?: Error): void {
    if (this.#state !== "running" || this.#stop) return;
    this.#stop = { reason, error };
    // Recorded so that a node that takes the job over later still knows it was cancelled.
    if (reason === "cancel") {
      this.deps.storage.jobs.requestCancel(this.record.owner, this.id).catch(() => {});
    }
    this.#controller.abort();
  }

  /** Why the run is stopping, if it is (a method: TypeScript must not narrow it away). */
  #stopReason(): StopReason | undefined {
    return this.#stop?.reason;
  }

  /**
   * Queues a store write after the ones before it. A refused write (the lease was lost) or a
   * failed one (the store is unreachable) stops the run as `lost`: whoever holds the job next
   * resumes it from its last checkpoint.
   */
  #write(fn: () => Promise<boolean>): Promise<void> {
    const next = this.#writes.then(async () => {
      if (this.#stop?.reason === "lost") return;
      let ok = false;
      try {
        ok = await fn();
      } catch (e) {
        this.#log("store write failed", { error: (e as Error).message }, "error");
      }
      if (!ok) this.stop("lost");
    });
    this.#writes = next;
    return next;
  }

  #emit(events: NewEvent[], progress?: Progress): Promise<void> {
    return this.#write(() => this.deps.storage.events.append(this.lease, events, progress));
  }

  /** Runs the claimed job to its end (or until it is stopped). */
  async run(): Promise<void> {
    const { storage, evaluators } = this.deps;
    try {
      if (this.record.cancelRequested) {
        // Cancelled before the run that was interrupted had stopped: the request still holds.
        await this.#finish("cancelled", null, undefined);
        return;
      }
      const resumeFrom = await storage.checkpoints.latest(this.id);

      const { config, dataInfo: info } = this.record;
      const given = this.record.request as { validation?: string; test?: string };
      const runner = evaluators.forJob({
        datasetIds: {
          dataset: this.record.datasetId,
          ...(config.validation && given.validation ? { validation: given.validation } : {}),
          ...(config.test && given.test ? { test: given.test } : {}),
        },
        context: {
          id: this.id,
          ...dataRefsOf(config),
          split: config.split,
          preprocessing: config.preprocessing,
          config: {
            model: modelSpecFor(config.model, {
              task: info.task,
              inputs: info.features,
              nClasses: info.classes,
              imageShape: info.imageShape,
            }),
            evaluation: config.evaluation,
            seed: config.seed,
          },
        },
      }, (error) => this.stop("failure", error));
      const signal = this.#controller.signal;
      const stopped = new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      const work = this.#work(runner, resumeFrom);
      await Promise.race([work, stopped]);
      // The one place the runner is closed: at once on stop(), which drops the job's queued
      // requests and abandons those in flight, so the search loop awaiting them ends within
      // milliseconds; or after the search ended by itself.
      await runner.close();
      const reason = this.#stopReason();
      if (reason === "cancel" || reason === "failure") await evaluators.cancel(this.id);
      await this.#end(await work);
      if (this.#stop?.reason === "lost") {
        if (!await storage.jobs.getById(this.id)) {
          // Deleted while it ran here: what the queue may still hold of it goes too.
          this.#transition("deleted", { node: this.lease.node });
          await evaluators.cancel(this.id).catch(() => {});
          await evaluators.forget(this.id).catch(() => {});
        } else {
          // Another node holds it, or will: nothing was written.
          this.#transition("lost", { node: this.lease.node }, "warn");
        }
      }
    } catch (e) {
      // The store is unreachable: the job stays as stored, for the next claim.
      this.#log("store unreachable", { error: (e as Error).message }, "error");
      this.#stop ??= { reason: "lost" };
    } finally {
      this.#ended.resolve();
    }
  }

  /**
   * What the log's `running` line says this node picked up: a continuation of another search
   * (`continues`, `from`), a search resumed from its last checkpoint (`resumedFrom`; after a
   * restart, or from another node), or one claimed again that had checkpointed nothing, so that it
   * starts over (`restarted`); with the node, the claim's number and the generations it runs to.
   */
  #startFields(resumeFrom: SearchState | undefined): Fields {
    const generations = this.record.config.budget.generations;
    const claim = { node: this.lease.node, claim: this.lease.run };
    const origin = this.record.continues;
    if (origin && resumeFrom?.generation === origin.generation && this.lease.run === 1) {
      return { ...claim, continues: origin.search, from: origin.generation, generations };
    }
    if (resumeFrom) return { ...claim, resumedFrom: resumeFrom.generation, generations };
    if (this.lease.run > 1) return { ...claim, restarted: true, generations };
    return claim;
  }

  /** Describe, search, final evaluation: never rejects, the outcome says how it went. */
  async #work(runner: JobRunner, resumeFrom: SearchState | undefined): Promise<Outcome> {
    const { storage, evaluators } = this.deps;
    const { config } = this.record;
    const platform: SearchPlatform = this.#platform = {
      runner,
      finalRuns: runner.finalRuns,
      backend: {
        name: evaluators.backend,
        adapter: evaluators.adapter,
        workers: evaluators.parallelism,
      },
      versions: {
        lossmith: LOSSMITH_VERSION,
        deno: Deno.version.deno,
        v8: Deno.version.v8,
        typescript: Deno.version.typescript,
        tfjs: evaluators.tfjsVersion,
      },
    };
    this.#lastState = resumeFrom;
    // maxSeconds bounds the job from here: preparing its data on a worker counts too.
    const startedAt = performance.now();
    let best = this.#progress.bestFitness;
    let lastProgressAt = 0;
    let finalStartedAt = 0;
    try {
      // Described first: a run that shows where it resumed from can also end with a result.
      this.#summary = await runner.describe();
      this.#step({ kind: "started", from: resumeFrom });
      const { train, validation, test } = this.#summary;
      this.#step({
        kind: "described",
        rows: { train: train.n, validation: validation.n, test: test.n },
      });
      await this.#write(() =>
        storage.jobs.markRunning(this.lease, this.#progress, {
          type: "state",
          data: { state: "running", resumedFrom: resumeFrom?.generation ?? null },
        })
      );
      if (this.#stopReason() !== "lost") this.#transition("running", this.#startFields(resumeFrom));
      throwIfStopped(this.#controller.signal);
      const { result } = await searchAndEvaluate(config, this.#summary, platform, {
        signal: this.#controller.signal,
        onProgress: (progress) => {
          this.#step({ kind: "candidate", progress });
          const now = performance.now();
          if (now - lastProgressAt >= PROGRESS_EVERY_MS || progress.done === progress.pending) {
            lastProgressAt = now;
            const summary = progressSummary(this.#progress);
            void this.#emit([{ type: "progress", data: summary }], this.#progress);
          }
        },
        onGeneration: async (stats, state) => {
          this.#lastState = state;
          this.#step({ kind: "generation", state });
          const events: { type: string; data: unknown }[] = [{ type: "generation", data: stats }];
          const top = rankLosses(state)[0];
          if (top && (best === null || top.fitness < best)) {
            best = top.fitness;
            events.push({
              type: "best",
              data: {
                generation: state.generation,
                fitness: top.fitness,
                infix: top.infix,
                latex: top.latex,
              },
            });
          }
          const progress = this.#progress;
          // Awaited: the next generation starts once this one is stored.
          await this.#write(() =>
            storage.checkpoints.save(this.lease, state, stats, progress, events)
          );
        },
        onFinalStart: (seeds) => {
          finalStartedAt = performance.now();
          this.#step({ kind: "final-started", seeds });
          void this.#emit([{ type: "state", data: { state: "running", phase: "final", seeds } }]);
        },
        onFinalSeed: (done, total) => {
          const elapsedMs = performance.now() - finalStartedAt;
          this.#step({ kind: "final-seed", done, total, elapsedMs });
          const summary = progressSummary(this.#progress);
          void this.#emit([{ type: "progress", data: summary }], this.#progress);
        },
      }, { resumeFrom, startedAt });
      return { result };
    } catch (e) {
      return { error: e as Error };
    }
  }

  /** How the job ends, decided once the search has returned or been stopped. */
  async #end({ result, error }: Outcome): Promise<void> {
    const stop = this.#stop;
    if (stop?.reason === "lost") return; // another node holds it, or will: nothing to write
    // A search that ran to its end has succeeded, whatever stop came too late to matter, unless
    // it found nothing to recommend: then it fails with its result (the counts say why).
    if (result && result.stopped !== "cancelled") {
      if (result.outcome === "no-usable-loss") {
        return await this.#finish(
          "failed",
          { title: "No usable loss", detail: result.conclusion },
          result,
        );
      }
      return await this.#finish("succeeded", null, result);
    }
    if (stop?.reason === "shutdown") {
      // Stays `running`: released, so another node resumes it now, or this one at its next start.
      await this.#writes;
      await this.deps.storage.jobs.release(this.lease);
      return this.#transition("interrupted", { generation: this.#progress.generation });
    }
    if (stop?.reason === "cancel") {
      return await this.#finish("cancelled", null, result ?? this.#resultSoFar());
    }
    await this.#finish("failed", failedWith(stop?.error ?? error), undefined);
  }

  /** The ranked losses of the finished generations, for a search stopped during its final. */
  #resultSoFar(): SearchResult | undefined {
    if (!this.#lastState || !this.#summary || !this.#platform) return undefined;
    return buildResult({
      config: this.record.config,
      state: this.#lastState,
      stopped: "cancelled",
      data: this.#summary,
      versions: this.#platform.versions,
      backend: this.#platform.backend,
    });
  }

  #step(event: ProgressEvent): void {
    this.#progress = reduceProgress(this.#progress, event);
  }

  /** The one place a job reaches a terminal state, with its `finished` event. */
  async #finish(
    state: FinishedState,
    error: JobError | null,
    result: SearchResult | undefined,
  ): Promise<void> {
    const { storage, evaluators } = this.deps;
    this.#step({ kind: "finished" });
    const progress = this.#progress;
    let finished = false;
    await this.#write(async () =>
      finished = await storage.jobs.finish(this.lease, state, progress, error, result, {
        type: "finished",
        data: { state, error, stopped: result?.stopped ?? null, outcome: result?.outcome ?? null },
      })
    );
    if (!finished) return;
    this.#state = state;
    this.#transition(state, { error: error?.detail, stopped: result?.stopped });
    await evaluators.forget(this.id).catch(() => {});
  }

  /** One log line per transition of the search (service/log.ts). */
  #transition(state: string, fields: Fields = {}, level: "info" | "warn" = "info"): void {
    this.deps.log[level]("search", { id: this.id, owner: this.record.owner, state, ...fields });
  }

  #log(event: string, fields: Fields, level: "warn" | "error"): void {
    this.deps.log[level](event, { id: this.id, ...fields });
  }
}

function throwIfStopped(signal: AbortSignal): void {
  if (signal.aborted) throw new DOMException("search stopped", "AbortError");
}

function failedWith(error: Error | undefined): JobError {
  return { title: "Search failed", detail: error?.message ?? "unknown error" };
}
