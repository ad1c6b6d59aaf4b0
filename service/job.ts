/**
 * One search job, from queued to finished: the one owner of its state, its progress and its
 * stopping. It runs on the shared worker pool: describe the data (on a worker), resume from the
 * last checkpoint if there is one, run the generations, checkpoint each (with its progress and
 * events, in one transaction), run the final evaluation, and store the result.
 *
 * It stops early through `stop(reason)` only, which aborts its one signal:
 * - `cancel` (the user): it ends `cancelled` with the ranked losses found so far; the store's
 *   `cancelRequested` records the request, so a restart still knows;
 * - `shutdown` (the service stops): it stays `running` in the store and resumes at the next start;
 * - `failure` (its data could not be prepared): it ends `failed`.
 * Every terminal transition, with its `finished` event, is written by `#finish`.
 */
import { searchAndEvaluate, type SearchPlatform } from "../core/pipeline.ts";
import { buildResult, LOSSMITH_VERSION, rankLosses, type SearchResult } from "../core/result.ts";
import { modelSpecFor } from "../core/model_kinds.ts";
import type { SearchState } from "../core/search.ts";
import type { DataSummary } from "../core/result.ts";
import {
  type Progress,
  type ProgressEvent,
  progressSummary,
  reduceProgress,
} from "../core/progress.ts";
import type { JobRunner, WorkerPool } from "../workers/pool.ts";
import type { JobError, JobRecord, JobState, Store } from "../store/mod.ts";
import type { EventHub } from "./event_hub.ts";
import type { Fields, Logger } from "./log.ts";

export type StopReason = "cancel" | "shutdown" | "failure";
type FinishedState = Exclude<JobState, "queued" | "running">;

/** At most this often a `progress` event is stored per job; generations always are. */
const PROGRESS_EVERY_MS = 250;

export interface JobDeps {
  store: Store;
  pool: WorkerPool;
  hub: EventHub;
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

  constructor(private readonly deps: JobDeps, private readonly record: JobRecord) {
    this.id = record.id;
    this.#state = record.state;
    this.#progress = record.progress;
  }

  get state(): JobState {
    return this.#state;
  }

  get progress(): Progress {
    return this.#progress;
  }

  /** Settles when the job has stopped running: finished, or left to resume after a shutdown. */
  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  /** The one way to stop a job, whatever the reason; a finished job is left as it is. */
  stop(reason: StopReason, error?: Error): void {
    if (this.#state !== "queued" && this.#state !== "running") return;
    if (reason === "cancel") this.deps.store.jobs.requestCancel(this.record.owner, this.id);
    if (this.#state === "queued") {
      // Nothing runs yet: a cancel ends it now; at shutdown it stays queued.
      if (reason === "cancel") this.#finish("cancelled", null, undefined);
      return;
    }
    this.#stop ??= { reason, error };
    this.#controller.abort();
  }

  /** Runs a queued job to its end (or until a shutdown stops it). */
  async run(): Promise<void> {
    if (this.#state !== "queued") return;
    const { store, pool, hub } = this.deps;
    try {
      if (this.record.cancelRequested) {
        // Cancelled before a restart that interrupted it: the request still holds.
        this.#finish("cancelled", null, undefined);
        return;
      }
      this.#state = "running";
      const resumeFrom = store.jobs.latestCheckpoint(this.id);
      this.#step({ kind: "started", from: resumeFrom });
      store.jobs.markRunning(this.id, this.#progress, {
        type: "state",
        data: { state: "running", resumedFrom: resumeFrom?.generation ?? null },
      });
      hub.notify(this.id);
      this.#log("running", { resumedFrom: resumeFrom?.generation });

      const { config, dataInfo: info } = this.record;
      const runner = pool.forJob({
        id: this.id,
        dataset: config.dataset,
        split: config.split,
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
      this.#end(await work);
    } finally {
      this.#ended.resolve();
    }
  }

  /** Describe, search, final evaluation: never rejects, the outcome says how it went. */
  async #work(runner: JobRunner, resumeFrom: SearchState | undefined): Promise<Outcome> {
    const { store, pool, hub } = this.deps;
    const { config } = this.record;
    const emit = (type: string, data: unknown) => {
      store.jobs.appendEvent(this.id, { type, data });
      hub.notify(this.id);
    };
    const platform: SearchPlatform = this.#platform = {
      runner,
      finalRuns: runner.finalRuns,
      backend: { name: pool.backend, adapter: pool.adapter, workers: pool.parallelism },
      versions: {
        lossmith: LOSSMITH_VERSION,
        deno: Deno.version.deno,
        v8: Deno.version.v8,
        typescript: Deno.version.typescript,
        tfjs: pool.tfjsVersion,
      },
    };
    this.#lastState = resumeFrom;
    let best = this.#progress.bestFitness;
    let lastProgressAt = 0;
    let finalStartedAt = 0;
    try {
      this.#summary = await runner.describe();
      const { result } = await searchAndEvaluate(config, this.#summary, platform, {
        signal: this.#controller.signal,
        onProgress: (progress) => {
          this.#step({ kind: "candidate", progress });
          const now = performance.now();
          if (now - lastProgressAt >= PROGRESS_EVERY_MS || progress.done === progress.pending) {
            lastProgressAt = now;
            emit("progress", progressSummary(this.#progress));
          }
        },
        onGeneration: (stats, state) => {
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
          store.jobs.saveGeneration(this.id, state, stats, this.#progress, events);
          hub.notify(this.id);
        },
        onFinalStart: (seeds) => {
          finalStartedAt = performance.now();
          this.#step({ kind: "final-started", seeds });
          emit("state", { state: "running", phase: "final", seeds });
        },
        onFinalSeed: (done, total) => {
          const elapsedMs = performance.now() - finalStartedAt;
          this.#step({ kind: "final-seed", done, total, elapsedMs });
          emit("progress", progressSummary(this.#progress));
        },
      }, { resumeFrom });
      return { result };
    } catch (e) {
      return { error: e as Error };
    }
  }

  /** How the job ends, decided once the search has returned or been stopped. */
  #end({ result, error }: Outcome): void {
    const stop = this.#stop;
    // A search that ran to its end has succeeded, whatever stop came too late to matter.
    if (result && result.stopped !== "cancelled") return this.#finish("succeeded", null, result);
    if (stop?.reason === "shutdown") {
      // Stays `running` in the store: it resumes at the next start.
      return this.#log("interrupted", { generation: this.#progress.generation });
    }
    if (stop?.reason === "cancel") {
      return this.#finish("cancelled", null, result ?? this.#resultSoFar());
    }
    this.#finish("failed", failedWith(stop?.error ?? error), undefined);
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
  #finish(state: FinishedState, error: JobError | null, result: SearchResult | undefined): void {
    const { store, hub } = this.deps;
    this.#step({ kind: "finished" });
    this.#state = state;
    store.jobs.finish(this.id, state, this.#progress, error, result, {
      type: "finished",
      data: { state, error, stopped: result?.stopped ?? null },
    });
    store.jobs.pruneCheckpoints(this.id);
    hub.notify(this.id);
    this.#log(state, { error: error?.detail, stopped: result?.stopped });
    this.#ended.resolve();
  }

  #log(state: string, fields: Fields = {}): void {
    this.deps.log.info("search", { id: this.id, owner: this.record.owner, state, ...fields });
  }
}

function failedWith(error: Error | undefined): JobError {
  return { title: "Search failed", detail: error?.message ?? "unknown error" };
}
