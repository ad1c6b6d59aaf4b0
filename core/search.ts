/**
 * The EvoMAL search as a generational state machine. `SearchState` holds everything needed to
 * continue (population, fitnesses, random-number state, archives, hall of fame, history, the
 * stacking calibration) as plain JSON, so a caller can checkpoint it after every generation and
 * resume bit-identically. One generation's stages are in core/generation.ts.
 */
import { height, isOp, isWellFormed, type Tree } from "./expr/tree.ts";
import { HallOfFame, type HallOfFameJson, hasBothInputs } from "./gp/mod.ts";
import { Rng } from "./rng.ts";
import type { CandidateRunner } from "./runner.ts";
import {
  resolveSettings,
  type Settings,
  type SettingsLayers,
  upgradeSettings,
} from "./settings.ts";
import { presetFor } from "./data/bundled.ts";
import type { StackCalibration } from "./stack_plan.ts";
import type { DatasetRef } from "./prepare.ts";
import { finalRunSteps, finalSettingsFor } from "./final.ts";
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

/**
 * Everything a search computes from: its settings (core/settings.ts) and its dataset, with the
 * user's own validation and test sets where given (in place of the internal split).
 */
export type SearchConfig = Settings & {
  dataset: DatasetRef;
  validation?: DatasetRef;
  test?: DatasetRef;
  /** Losses of another search that seed the initial population (the rest is drawn as usual). */
  warmStart?: WarmStart;
};

/** A warm start: the search it came from, and the loss structures taken from its ranking. */
export interface WarmStart {
  search: string;
  losses: Tree[];
}

/** The datasets of a configuration, without its settings. */
export function dataRefsOf(
  config: Pick<SearchConfig, "dataset" | "validation" | "test">,
): Pick<SearchConfig, "dataset" | "validation" | "test"> {
  return {
    dataset: config.dataset,
    ...(config.validation ? { validation: config.validation } : {}),
    ...(config.test ? { test: config.test } : {}),
  };
}

/** A configuration as stored by any version, in today's shape (core/settings.ts upgrades). */
export function upgradeConfig(stored: SearchConfig): SearchConfig {
  return {
    ...upgradeSettings(stored as unknown as Record<string, unknown>),
    ...dataRefsOf(stored),
    ...(stored.warmStart ? { warmStart: stored.warmStart } : {}),
  };
}

/**
 * The losses of another search's ranking (its hall of fame, best first) that can seed this
 * search's initial population: structures only (their weights are tuned again), those within
 * this search's height limit, at most `count` (by default half the population, so that drawn
 * trees keep the population diverse), never more than the population.
 */
export function warmStartLosses(
  from: Pick<SearchState, "hallOfFame">,
  config: Pick<SearchConfig, "budget" | "gp">,
  count = Math.ceil(config.budget.population / 2),
): Tree[] {
  return from.hallOfFame.entries
    .map((e) => [...e.tree])
    .filter((t) =>
      isWellFormed(t) && hasBothInputs(t) && height(t) <= config.gp.maxHeight &&
      // A seed may not bring in a primitive this search excludes.
      t.every((n) => !isOp(n) || config.gp.primitives.includes(n))
    )
    .slice(0, Math.min(count, config.budget.population));
}

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
  /**
   * Estimated time to the end of the generation in progress, from the pace of its evaluations
   * so far: what estimates the search's time before a first generation has finished.
   */
  generationLeftMs?: number;
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

/**
 * Milliseconds per SGD step of one candidate's training, as this search has measured it (its
 * fitness trainings, promotions included); undefined before any was timed. The first timed
 * generation carries the warm-up (kernels compiled, caches filled) and is left out once a later
 * one was timed.
 */
export function msPerTrainingStep(state: Pick<SearchState, "history">): number | undefined {
  const timed = state.history.filter((g) => g.times.fitnessSteps);
  const used = timed.length > 1 ? timed.slice(1) : timed;
  const ms = used.reduce((a, g) => a + g.times.fitnessMs, 0);
  const steps = used.reduce((a, g) => a + g.times.fitnessSteps!, 0);
  return steps > 0 ? ms / steps : undefined;
}

/**
 * The final evaluation's estimated wall time: two trainings (learned and standard loss) of
 * `final.steps` per seed, the seeds in rounds of `parallelism` at once, at the search's own
 * training speed. 0 when there is none to run or nothing was timed yet.
 */
export function finalEstimateMs(
  config: Pick<SearchConfig, "final" | "evaluation" | "seed">,
  state: Pick<SearchState, "history">,
  parallelism: number,
): number {
  const perStep = msPerTrainingStep(state);
  if (perStep === undefined || config.final.seeds === 0) return 0;
  // The runs are spread over the workers; the longest run bounds each worker's share from below.
  const steps = finalRunSteps(finalSettingsFor(config));
  const total = steps.reduce((a, n) => a + n, 0);
  return Math.max(total / Math.max(1, parallelism), Math.max(...steps)) * perStep;
}

/** Where the search stands against its clock: the job's time so far and the runner's width. */
export interface SearchClock {
  /** Milliseconds the job has run, this run and earlier ones (a resumed job's included). */
  elapsedMs: number;
  parallelism: number;
}

/**
 * Why the search would stop before the next generation, if it would. `maxSeconds` stops it
 * before a generation that, at the last one's pace, would end past the limit, or (with
 * `reserveFinal`) would leave less than the final evaluation's estimated time. The first
 * generation always runs: before it, nothing has been found and nothing measured.
 */
export function stoppedBy(
  config: SearchConfig,
  state: SearchState,
  clock?: SearchClock,
): StoppedBy | undefined {
  if (state.generation >= config.budget.generations) return "generations";
  const { maxEvaluations, maxSeconds, reserveFinal } = config.budget;
  if (maxEvaluations !== undefined && state.evaluations >= maxEvaluations) return "max-evaluations";
  if (maxSeconds !== undefined && state.generation > 0) {
    const last = state.history[state.history.length - 1].times.wallMs;
    const elapsed = Math.max(state.elapsedMs, clock?.elapsedMs ?? 0);
    const reserve = reserveFinal ? finalEstimateMs(config, state, clock?.parallelism ?? 1) : 0;
    if (elapsed + last + reserve > maxSeconds * 1000) return "max-seconds";
  }
  return undefined;
}

/**
 * The search's estimated time left: from the generations finished; before the first one has
 * finished, from the pace of its own evaluations (the rest of it, then as many again for each
 * generation to come).
 */
function searchEta(config: SearchConfig, state: SearchState, p: SearchProgress) {
  const inGeneration = p.elapsedMs - state.elapsedMs;
  const left = config.budget.generations - state.generation;
  if (state.generation > 0) {
    return Math.max(0, (state.elapsedMs / state.generation) * left - inGeneration);
  }
  if (p.generationLeftMs === undefined) return undefined;
  return p.generationLeftMs + (inGeneration + p.generationLeftMs) * (left - 1);
}

/**
 * Runs generations until the configured number, the budget, or cancellation. A cancelled search
 * returns the state of its last finished generation: a generation is all or nothing.
 * `startedAt` (a `performance.now()` time) is when the job began in this run, so that its time
 * limit counts what came before the first generation too (preparing the data, the workers).
 */
export async function runSearch(
  config: SearchConfig,
  runner: CandidateRunner,
  hooks: SearchHooks = {},
  resumeFrom?: SearchState,
  startedAt = performance.now(),
): Promise<{ state: SearchState; stopped: StoppedBy }> {
  let state = resumeFrom ?? newSearchState(config);
  const before = resumeFrom?.elapsedMs ?? 0;
  const clock = (): SearchClock => ({
    elapsedMs: before + (performance.now() - startedAt),
    parallelism: runner.parallelism,
  });
  while (true) {
    const reason = stoppedBy(config, state, clock());
    if (reason) return { state, stopped: reason };
    if (hooks.signal?.aborted) return { state, stopped: "cancelled" };
    const from = state;
    const onProgress = hooks.onProgress &&
      ((p: SearchProgress) => hooks.onProgress!({ ...p, etaMs: searchEta(config, from, p) }));
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
