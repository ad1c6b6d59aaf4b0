/**
 * One search job from start to end on the shared worker pool: describe the data (on a worker),
 * resume from the last checkpoint if there is one, run the generations, checkpoint each (with its
 * progress and events, in one transaction), run the final evaluation, and store the result.
 *
 * A job stops early for three reasons, told apart by `stop.reason`: the user cancelled it (it ends
 * `cancelled`, with the ranked losses found so far), the service is shutting down (it stays
 * `running` in the store and resumes at the next start), or its data could not be prepared (it
 * ends `failed`).
 */
import { searchAndEvaluate, type SearchPlatform } from "../core/pipeline.ts";
import { buildResult, LOSSMITH_VERSION, rankLosses, type SearchResult } from "../core/result.ts";
import { toInfix } from "../core/expr/print.ts";
import { modelSpecFor } from "../core/model_kinds.ts";
import type { GenerationStats, SearchProgress, SearchState } from "../core/search.ts";
import type { DataSummary } from "../core/result.ts";
import type { JobRunner, WorkerPool } from "../workers/pool.ts";
import type { FilterCounts, JobProgress, JobRecord, Store } from "../store/mod.ts";
import type { EventHub } from "./event_hub.ts";

export type StopReason = "cancel" | "shutdown" | "failure";

export interface RunningJob {
  id: string;
  controller: AbortController;
  stop: { reason?: StopReason; error?: Error };
  progress: JobProgress;
  runner?: JobRunner;
  /** Settles when the job has stopped, whatever the reason. */
  done?: Promise<void>;
}

/** At most this often a `progress` event is stored per job; generations always are. */
const PROGRESS_EVERY_MS = 250;
const MAX_FAILURES_SHOWN = 50;

export interface RunDeps {
  store: Store;
  pool: WorkerPool;
  hub: EventHub;
}

function totals(history: GenerationStats[]): FilterCounts {
  const sum = (f: (g: GenerationStats) => number) => history.reduce((a, g) => a + f(g), 0);
  return {
    cacheHits: sum((g) => g.cacheHits),
    rejected: sum((g) => g.rejected),
    equivalent: sum((g) => g.equivalent),
    diverged: sum((g) => g.diverged),
    failed: sum((g) => g.failed),
  };
}

/** The progress a checkpointed state stands for. */
export function progressOf(state: SearchState, generations: number): JobProgress {
  const perGeneration = state.generation > 0 ? state.elapsedMs / state.generation : undefined;
  return {
    phase: "search",
    generation: state.generation,
    generations,
    evaluations: state.evaluations,
    bestFitness: state.hallOfFame.entries[0]?.fitness ?? null,
    filters: totals(state.history),
    elapsedMs: state.elapsedMs,
    etaMs: perGeneration === undefined
      ? null
      : perGeneration * Math.max(0, generations - state.generation),
  };
}

function failuresOf(state: SearchState): JobProgress["failures"] {
  return Object.values(state.archive)
    .filter((e) => e.outcome === "failed")
    .slice(-MAX_FAILURES_SHOWN)
    .map((e) => ({ generation: e.generation + 1, loss: toInfix(e.tree), reason: e.reason ?? "" }));
}

export async function runJob(deps: RunDeps, job: JobRecord, running: RunningJob): Promise<void> {
  const { store, pool, hub } = deps;
  const { config } = job;
  const emit = (type: string, data: unknown) => {
    store.jobs.appendEvent(job.id, { type, data });
    hub.notify(job.id);
  };
  const resumeFrom = store.jobs.latestCheckpoint(job.id);
  const generations = config.budget.generations;
  running.progress = resumeFrom
    ? { ...progressOf(resumeFrom, generations), resumedFrom: resumeFrom.generation }
    : { ...job.progress, phase: "search" };
  running.progress.failures = resumeFrom ? failuresOf(resumeFrom) : undefined;
  store.jobs.markRunning(job.id, running.progress, {
    type: "state",
    data: { state: "running", resumedFrom: resumeFrom?.generation ?? null },
  });
  hub.notify(job.id);

  const info = job.dataInfo;
  const runner = pool.forJob({
    id: job.id,
    dataset: config.dataset,
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
  }, (error) => {
    running.stop = { reason: "failure", error };
    running.controller.abort();
  });
  running.runner = runner;
  let lastState = resumeFrom;
  let summary: DataSummary | undefined;
  let lastProgressAt = 0;
  let best = running.progress.bestFitness;
  const platform: SearchPlatform = {
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
  const finish = (
    state: JobRecord["state"],
    error: JobRecord["error"],
    result: SearchResult | undefined,
  ) => {
    running.progress = { ...running.progress, phase: "done", current: undefined };
    store.jobs.finish(job.id, state, running.progress, error, result, {
      type: "finished",
      data: { state, error, stopped: result?.stopped ?? null, outcome: result?.outcome ?? null },
    });
    store.jobs.pruneCheckpoints(job.id);
    hub.notify(job.id);
  };

  try {
    summary = await runner.describe();
    const { result } = await searchAndEvaluate(config, summary, platform, {
      signal: running.controller.signal,
      onProgress: (p: SearchProgress) => {
        running.progress = {
          ...running.progress,
          current: { generation: p.generation, done: p.done, pending: p.pending },
          evaluations: p.evaluations,
          bestFitness: p.bestFitness,
          elapsedMs: p.elapsedMs,
          etaMs: p.etaMs ?? running.progress.etaMs,
        };
        const now = performance.now();
        if (now - lastProgressAt >= PROGRESS_EVERY_MS || p.done === p.pending) {
          lastProgressAt = now;
          emit("progress", p);
        }
      },
      onGeneration: (stats: GenerationStats, state: SearchState) => {
        lastState = state;
        running.progress = {
          ...progressOf(state, generations),
          resumedFrom: running.progress.resumedFrom,
          failures: failuresOf(state),
        };
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
        store.jobs.saveGeneration(job.id, state, stats, running.progress, events);
        hub.notify(job.id);
      },
      onFinalStart: (seeds) => {
        running.progress = {
          ...running.progress,
          phase: "final",
          current: undefined,
          final: { done: 0, total: seeds },
        };
        emit("state", { state: "running", phase: "final", seeds });
      },
      onFinalSeed: (done, total) => {
        running.progress = { ...running.progress, final: { done, total } };
        emit("progress", { phase: "final", done, total });
      },
    }, { resumeFrom });
    if (running.stop.reason === "shutdown") return;
    if (running.stop.reason === "failure") throw running.stop.error;
    finish(result.stopped === "cancelled" ? "cancelled" : "succeeded", null, result);
  } catch (e) {
    const reason = running.stop.reason;
    if (reason === "shutdown") return;
    if (reason === "cancel") {
      // Cancelled during the final evaluation: keep the ranked losses found.
      const result = lastState && summary
        ? buildResult({
          config,
          state: lastState,
          stopped: "cancelled",
          data: summary,
          versions: platform.versions,
          backend: platform.backend,
        })
        : undefined;
      finish("cancelled", null, result);
      return;
    }
    const error = running.stop.error ?? (e as Error);
    finish("failed", { title: "Search failed", detail: error.message }, undefined);
  } finally {
    await runner.close();
  }
}
