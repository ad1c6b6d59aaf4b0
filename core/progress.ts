/**
 * The progress of a search, in one shape wherever it is shown: what the service stores and
 * returns, what its `progress` events carry, and what the command line prints. One pure reducer
 * folds the events of a search's life into it, so a field means the same everywhere; in
 * particular `generation` always counts finished generations, and the one in progress is
 * `current.generation`. Tensor-free, so the service's main thread can use it.
 */
import type { SearchProgress, SearchState } from "./search.ts";
import { toInfix } from "./expr/print.ts";

export interface FilterCounts {
  cacheHits: number;
  rejected: number;
  equivalent: number;
  diverged: number;
  failed: number;
}

export interface Progress {
  phase: "queued" | "search" | "final" | "done";
  /** Generations finished (each one checkpointed by the service). */
  generation: number;
  generations: number;
  /** The generation in progress: its new candidates finished, of those pending. */
  current?: { generation: number; done: number; pending: number };
  /** Candidates tuned so far. */
  evaluations: number;
  bestFitness: number | null;
  /** Over the finished generations. */
  filters: FilterCounts;
  elapsedMs: number;
  /** Estimated time to the end of the current phase (search, or final evaluation). */
  etaMs: number | null;
  /** Set when the search resumed from a checkpoint. */
  resumedFrom?: number;
  /** Rows of each split, once the data is prepared. */
  rows?: { train: number; validation: number; test: number };
  /** The final evaluation: training runs finished, of those planned so far (the number of seeds
   * until the first are planned), and the time it has taken so far. */
  final?: { done: number; total: number; elapsedMs: number };
  /** Candidates whose evaluation failed twice (the latest ones), with the reason. */
  failures?: { generation: number; loss: string; reason: string }[];
}

/** What happens in a search's life, in the order it happens. */
export type ProgressEvent =
  /** The search starts, or resumes from a checkpointed state. */
  | { kind: "started"; from?: SearchState }
  /** The data is prepared: the rows of each split. */
  | { kind: "described"; rows: { train: number; validation: number; test: number } }
  /** A candidate of the generation in progress finished (the search loop's own report). */
  | { kind: "candidate"; progress: SearchProgress }
  /** A generation finished; `state` is the search after it. */
  | { kind: "generation"; state: SearchState }
  | { kind: "final-started"; seeds: number }
  /** A final seed finished, `elapsedMs` after the final evaluation started. */
  | { kind: "final-seed"; done: number; total: number; elapsedMs: number }
  | { kind: "finished" };

const MAX_FAILURES_SHOWN = 50;

const NO_FILTERS: FilterCounts = {
  cacheHits: 0,
  rejected: 0,
  equivalent: 0,
  diverged: 0,
  failed: 0,
};

/** A search not started yet. */
export function initialProgress(generations: number): Progress {
  return {
    phase: "queued",
    generation: 0,
    generations,
    evaluations: 0,
    bestFitness: null,
    filters: { ...NO_FILTERS },
    elapsedMs: 0,
    etaMs: null,
  };
}

function filtersOf(state: SearchState): FilterCounts {
  const sum = (key: keyof FilterCounts) => state.history.reduce((a, g) => a + g[key], 0);
  return {
    cacheHits: sum("cacheHits"),
    rejected: sum("rejected"),
    equivalent: sum("equivalent"),
    diverged: sum("diverged"),
    failed: sum("failed"),
  };
}

function failuresOf(state: SearchState): Progress["failures"] {
  return Object.values(state.archive)
    .filter((e) => e.outcome === "failed")
    .slice(-MAX_FAILURES_SHOWN)
    .map((e) => ({ generation: e.generation + 1, loss: toInfix(e.tree), reason: e.reason ?? "" }));
}

/** Everything a finished generation tells; the one in progress starts afresh. */
function afterGeneration(p: Progress, state: SearchState): Progress {
  const perGeneration = state.generation > 0 ? state.elapsedMs / state.generation : undefined;
  const { current: _, ...rest } = p;
  return {
    ...rest,
    phase: "search",
    generation: state.generation,
    evaluations: state.evaluations,
    bestFitness: state.hallOfFame.entries[0]?.fitness ?? null,
    filters: filtersOf(state),
    elapsedMs: state.elapsedMs,
    etaMs: perGeneration === undefined
      ? null
      : perGeneration * Math.max(0, p.generations - state.generation),
    failures: failuresOf(state),
  };
}

export function reduceProgress(p: Progress, event: ProgressEvent): Progress {
  switch (event.kind) {
    case "started": {
      const fresh = initialProgress(p.generations);
      return event.from
        ? { ...afterGeneration(fresh, event.from), resumedFrom: event.from.generation }
        : { ...fresh, phase: "search" };
    }
    case "described":
      return { ...p, rows: event.rows };
    case "candidate": {
      const s = event.progress;
      return {
        ...p,
        phase: "search",
        current: { generation: s.generation, done: s.done, pending: s.pending },
        evaluations: s.evaluations,
        bestFitness: s.bestFitness,
        elapsedMs: s.elapsedMs,
        // The search loop estimates from the generations finished; before one has, keep ours.
        etaMs: s.etaMs ?? p.etaMs,
      };
    }
    case "generation":
      return afterGeneration(p, event.state);
    case "final-started": {
      const { current: _, ...rest } = p;
      return {
        ...rest,
        phase: "final",
        final: { done: 0, total: event.seeds, elapsedMs: 0 },
        etaMs: null,
      };
    }
    case "final-seed": {
      const { done, total, elapsedMs } = event;
      const searchMs = p.elapsedMs - (p.final?.elapsedMs ?? 0);
      return {
        ...p,
        phase: "final",
        final: { done, total, elapsedMs },
        elapsedMs: searchMs + elapsedMs,
        etaMs: done > 0 ? (elapsedMs / done) * (total - done) : null,
      };
    }
    case "finished": {
      const { current: _, ...rest } = p;
      return { ...rest, phase: "done", etaMs: null };
    }
  }
}

/** The progress without the failure list, which is shown on its own (a search's `failures`). */
export function progressSummary(p: Progress): Omit<Progress, "failures"> {
  const { failures: _, ...rest } = p;
  return rest;
}
