/**
 * The EvoMAL search as a generational state machine. `SearchState` holds everything needed to
 * continue (population, fitnesses, random-number state, archives, hall of fame, history, the
 * stacking calibration) as plain JSON, so a caller can checkpoint it after every generation and
 * resume bit-identically. One generation's stages are in core/generation.ts.
 */
import type { Tree } from "./expr/tree.ts";
import { HallOfFame, type HallOfFameJson } from "./gp/mod.ts";
import { Rng } from "./rng.ts";
import type { CandidateRunner } from "./runner.ts";
import { resolveSettings, type Settings, type SettingsLayers } from "./settings.ts";
import { presetFor } from "./data/bundled.ts";
import type { StackCalibration } from "./stack_plan.ts";
import type { DatasetRef } from "./prepare.ts";
import {
  type ArchiveEntry,
  type CandidateTimes,
  type GenerationStats,
  runGeneration,
} from "./generation.ts";

export {
  type ArchiveEntry,
  type CandidateTimes,
  type GenerationStats,
  type Outcome,
  runGeneration,
  type StageTimes,
} from "./generation.ts";

/** Everything a search computes from: its settings (core/settings.ts) and its dataset. */
export type SearchConfig = Settings & { dataset: DatasetRef };

/**
 * The configuration of a search on `dataset`: the settings resolved with the dataset's preset
 * (a bundled dataset's published settings), the profile and the request. The CLI and the service
 * both call this, so one request gives one search wherever it is made.
 */
export function searchConfig(
  dataset: DatasetRef,
  layers: Omit<SettingsLayers, "preset"> = {},
): SearchConfig {
  const preset = dataset.kind === "bundled" ? presetFor(dataset.name) : {};
  return { ...resolveSettings({ ...layers, preset }), dataset };
}

export interface SearchState {
  /** Generations finished. */
  generation: number;
  population: Tree[];
  /** Of `population`; null is worst. */
  fitness: (number | null)[];
  rng: number[];
  archive: Record<string, ArchiveEntry>;
  /** Gradient signature -> canonical key of the first loss that had it. */
  signatures: Record<string, string>;
  hallOfFame: HallOfFameJson;
  history: GenerationStats[];
  evaluations: number;
  elapsedMs: number;
  /** The stacking calibration, measured once per search (absent until taken). */
  stackCalibration?: StackCalibration;
  /** Each archived loss's evaluation times, by canonical key (absent in older checkpoints). */
  candidateTimes?: Record<string, CandidateTimes>;
}

export interface SearchProgress {
  generation: number;
  generations: number;
  /** Candidates of this generation finished, and its number of distinct new candidates. */
  done: number;
  pending: number;
  evaluations: number;
  bestFitness: number | null;
  cacheHits: number;
  rejections: number;
  elapsedMs: number;
  /** Estimated time to the end of the search, when it can be estimated. */
  etaMs?: number;
}

export interface SearchHooks {
  onProgress?(p: SearchProgress): void;
  onGeneration?(stats: GenerationStats, state: SearchState): void | Promise<void>;
  signal?: AbortSignal;
}

/** Why a search ended. */
export type StoppedBy = "generations" | "max-evaluations" | "max-seconds" | "cancelled";

export function newSearchState(config: SearchConfig): SearchState {
  return {
    generation: 0,
    population: [],
    fitness: [],
    rng: new Rng(config.seed).state(),
    archive: {},
    signatures: {},
    hallOfFame: new HallOfFame(config.gp.hallOfFameSize).toJSON(),
    history: [],
    evaluations: 0,
    elapsedMs: 0,
  };
}

/** Why the search would stop before the next generation, if it would. */
export function stoppedBy(config: SearchConfig, state: SearchState): StoppedBy | undefined {
  if (state.generation >= config.budget.generations) return "generations";
  const { maxEvaluations, maxSeconds } = config.budget;
  if (maxEvaluations !== undefined && state.evaluations >= maxEvaluations) return "max-evaluations";
  if (maxSeconds !== undefined && state.generation > 0) {
    const last = state.history[state.history.length - 1].times.wallMs;
    if (state.elapsedMs + last > maxSeconds * 1000) return "max-seconds";
  }
  return undefined;
}

/**
 * Runs generations until the configured number, the budget, or cancellation. A cancelled search
 * returns the state of its last finished generation: a generation is all or nothing.
 */
export async function runSearch(
  config: SearchConfig,
  runner: CandidateRunner,
  hooks: SearchHooks = {},
  resumeFrom?: SearchState,
): Promise<{ state: SearchState; stopped: StoppedBy }> {
  let state = resumeFrom ?? newSearchState(config);
  while (true) {
    const reason = stoppedBy(config, state);
    if (reason) return { state, stopped: reason };
    if (hooks.signal?.aborted) return { state, stopped: "cancelled" };
    const perGeneration = state.generation > 0 ? state.elapsedMs / state.generation : undefined;
    const onProgress = hooks.onProgress && ((p: SearchProgress) =>
      hooks.onProgress!({
        ...p,
        etaMs: perGeneration === undefined ? undefined : Math.max(
          0,
          perGeneration * (config.budget.generations - state.generation) -
            (p.elapsedMs - state.elapsedMs),
        ),
      }));
    try {
      const r = await runGeneration(config, state, runner, { ...hooks, onProgress });
      state = r.state;
      await hooks.onGeneration?.(r.stats, state);
    } catch (e) {
      if ((e as Error).name === "AbortError") return { state, stopped: "cancelled" };
      throw e;
    }
  }
}
