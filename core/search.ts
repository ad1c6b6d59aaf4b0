/**
 * The EvoMAL search as a generational state machine. `SearchState` holds everything needed to
 * continue (population, fitnesses, random-number state, archives, hall of fame, history) as plain
 * JSON, so a caller can checkpoint it after every generation and resume bit-identically.
 *
 * Per generation, each individual goes through method.md's pipeline, cheapest filter first:
 * canonical-form archive, rejection screen, gradient-equivalence reuse, local search, fitness.
 * Distinct candidates of a generation are screened and tuned concurrently by the runner; the
 * decisions that depend on order (which equivalent loss came first) are taken in population
 * order, so the result does not depend on scheduling. When candidates are batched
 * (`candidateBatch`), the generation's candidates are cut into chunks in population order, and each
 * chunk runs its local searches together, then its fitness together.
 */
import { canonicalize, canonicalKey } from "./expr/canonical.ts";
import type { Tree } from "./expr/tree.ts";
import {
  HallOfFame,
  type HallOfFameJson,
  hasBothInputs,
  initialPopulation,
  vary,
} from "./gp/mod.ts";
import { Rng } from "./rng.ts";
import type {
  CandidateRunner,
  FitnessCalibration,
  TimedFitness,
  TimedLocalSearch,
  TimedScreen,
} from "../engine/runner.ts";
import { resolveSettings, type Settings, type SettingsLayers } from "./settings.ts";
import { presetFor } from "./data/bundled.ts";
import { MODEL_KINDS } from "./model_kinds.ts";
import {
  AUTO_CANDIDATE_BATCH,
  type CandidateBatchStats,
  candidateChunks,
  chunkSize,
} from "./stack_plan.ts";
import type { DatasetRef } from "./prepare.ts";

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

/** What happened to a distinct loss (by canonical form) the first time it was met. */
export type Outcome = "tuned" | "rejected" | "diverged" | "equivalent" | "failed";

export interface ArchiveEntry {
  /** The canonical form, which is what was evaluated. */
  tree: Tree;
  outcome: Outcome;
  /** Validation task metric; null means worst (rejected, diverged or failed). */
  fitness: number | null;
  phi?: number[];
  reason?: string;
  /** For `equivalent`: the canonical key whose fitness was reused. */
  equivalentTo?: string;
  generation: number;
  screen?: { metricBefore: number; metricAfter: number };
  /** Validation task loss at the first and last meta-step of local search. */
  metaLoss?: { first: number; last: number; steps: number };
}

export interface StageTimes {
  /** Summed over candidates (CPU-side cost, whatever the parallelism). */
  screenMs: number;
  localSearchMs: number;
  fitnessMs: number;
  /** Wall time of the whole generation. */
  wallMs: number;
}

export interface GenerationStats {
  generation: number;
  population: number;
  /** Individuals whose canonical form was already in the archive, or met earlier in this
   * generation: population = cacheHits + distinct. */
  cacheHits: number;
  /** Removed by the rejection screen. */
  rejected: number;
  /** Fitness reused from a loss with the same gradient signature. */
  equivalent: number;
  /** Distinct canonical forms new to the archive: rejected + equivalent + evaluated + failed. */
  distinct: number;
  /** Local search and fitness run to the end (diverged included). */
  evaluated: number;
  diverged: number;
  failed: number;
  bestFitness: number | null;
  medianFitness: number | null;
  times: StageTimes;
  /** How candidates were batched (absent in generations checkpointed before it was recorded). */
  candidateBatch?: CandidateBatchStats;
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

export type StopReason = "generations" | "max-evaluations" | "max-seconds" | "cancelled";

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

/** FNV-1a: a stable 32-bit hash of a canonical key, so phi's initial noise depends on the loss. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const asFitness = (f: number | null) => f ?? Number.POSITIVE_INFINITY;
const toStored = (f: number) => Number.isFinite(f) ? f : null;

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DOMException("search cancelled", "AbortError");
}

/**
 * How many candidates one request may hold this generation, from the setting: 1 means one
 * request per candidate (local search and fitness together, as `tune`). "auto" calibrates at the
 * first generation with something to batch; the runner keeps the measurement for the job.
 */
async function planBatches(
  config: SearchConfig,
  runner: CandidateRunner,
  ready: number,
): Promise<{ size: number; stats: CandidateBatchStats }> {
  const setting = config.execution.candidateStack;
  const stats: CandidateBatchStats = { setting, largest: 1, batches: 0 };
  if (setting === "off") return { size: 1, stats };
  if (!MODEL_KINDS[config.model.kind].stackable) {
    return { size: 1, stats: { ...stats, note: `${config.model.kind} models are never batched` } };
  }
  if (typeof setting === "number") {
    return { size: chunkSize(ready, setting, runner.parallelism), stats };
  }
  // Nothing to batch (no more candidates than workers): do not spend a calibration on it yet.
  if (chunkSize(ready, AUTO_CANDIDATE_BATCH, runner.parallelism) < 2) return { size: 1, stats };
  let calibration: FitnessCalibration;
  try {
    calibration = await runner.calibrateFitness();
  } catch (e) {
    // Batching is only ever a speed-up: without a measurement, train one at a time.
    if ((e as Error).name === "AbortError") throw e;
    return { size: 1, stats: { ...stats, note: `calibration failed: ${(e as Error).message}` } };
  }
  const size = calibration.batch ? chunkSize(ready, AUTO_CANDIDATE_BATCH, runner.parallelism) : 1;
  return { size, stats: { ...stats, calibration } };
}

/**
 * Runs one generation: draws the population (initial, or by variation of the last one), evaluates
 * the new candidates, and returns the next state. The input state is not modified.
 */
export async function runGeneration(
  config: SearchConfig,
  state: SearchState,
  runner: CandidateRunner,
  hooks: SearchHooks = {},
): Promise<{ state: SearchState; stats: GenerationStats }> {
  const started = performance.now();
  const rng = Rng.fromState(state.rng);
  const generation = state.generation;
  const population = generation === 0
    ? initialPopulation(rng, config.budget.population, config.gp)
    : vary(rng, state.population, state.fitness.map(asFitness), config.gp);
  const archive = { ...state.archive };
  const signatures = { ...state.signatures };
  const keys = population.map(canonicalKey);
  const fresh = [...new Set(keys.filter((k) => !(k in archive)))];
  const canonical = new Map(fresh.map((k) => [k, canonicalize(population[keys.indexOf(k)])]));
  const times: StageTimes = { screenMs: 0, localSearchMs: 0, fitnessMs: 0, wallMs: 0 };
  let done = 0;
  let tunedSoFar = 0;
  const report = () =>
    hooks.onProgress?.({
      generation: generation + 1,
      generations: config.budget.generations,
      done,
      pending: fresh.length,
      evaluations: state.evaluations + tunedSoFar,
      bestFitness: bestOf(state, archive),
      cacheHits: keys.length - fresh.length,
      rejections: Object.values(archive).filter((e) =>
        e.generation === generation && e.outcome === "rejected"
      )
        .length,
      elapsedMs: state.elapsedMs + (performance.now() - started),
    });
  report();

  // Screen every new canonical form (concurrently).
  const screens = new Map<string, TimedScreen | Error>();
  await Promise.all(fresh.map(async (k) => {
    throwIfAborted(hooks.signal);
    // Simplification can leave a form without y or f(x) (e.g. `y - y` folds to 0): such a
    // loss gives no training signal, and a loss without f(x) has no gradient at all.
    if (!hasBothInputs(canonical.get(k)!)) {
      screens.set(k, {
        rejected: true,
        reason: "its canonical form does not depend on both y and f(x)",
        metricBefore: NaN,
        metricAfter: NaN,
        screenMs: 0,
      });
      return;
    }
    try {
      const s = await runner.screen(canonical.get(k)!);
      times.screenMs += s.screenMs;
      screens.set(k, s);
    } catch (e) {
      screens.set(k, e as Error);
    }
  }));
  throwIfAborted(hooks.signal);

  // Decide, in population order, what each new loss needs.
  const toTune: string[] = [];
  for (const k of fresh) {
    const s = screens.get(k)!;
    const tree = canonical.get(k)!;
    if (s instanceof Error) {
      archive[k] = { tree, outcome: "failed", fitness: null, reason: s.message, generation };
      done++;
    } else if (s.rejected) {
      archive[k] = {
        tree,
        outcome: "rejected",
        fitness: null,
        reason: s.reason,
        generation,
        screen: { metricBefore: s.metricBefore, metricAfter: s.metricAfter },
      };
      done++;
    } else if (
      config.evaluation.gradientEquivalence.enabled && s.gradientSignature !== undefined &&
      s.gradientSignature in signatures
    ) {
      archive[k] = {
        tree,
        outcome: "equivalent",
        fitness: null, // filled in once the loss it is equivalent to has its fitness
        equivalentTo: signatures[s.gradientSignature],
        generation,
        screen: { metricBefore: s.metricBefore, metricAfter: s.metricAfter },
      };
    } else {
      if (s.gradientSignature !== undefined) signatures[s.gradientSignature] = k;
      toTune.push(k);
    }
  }
  report();

  // Local search and fitness for the rest (concurrently).
  const screenOf = (k: string) => {
    const s = screens.get(k) as TimedScreen;
    return { metricBefore: s.metricBefore, metricAfter: s.metricAfter };
  };
  const phiSeed = (k: string) => (hash32(k) ^ config.seed) >>> 0;
  const failed = (k: string, e: unknown) => {
    archive[k] = {
      tree: canonical.get(k)!,
      outcome: "failed",
      fitness: null,
      reason: (e as Error).message,
      generation,
      screen: screenOf(k),
    };
    done++;
    report();
  };
  const tuned = (k: string, l: TimedLocalSearch, f: TimedFitness) => {
    times.localSearchMs += l.localSearchMs;
    times.fitnessMs += f.fitnessMs;
    const losses = l.local.metaLosses;
    archive[k] = {
      tree: canonical.get(k)!,
      outcome: f.fitness.diverged ? "diverged" : "tuned",
      fitness: toStored(f.fitness.fitness),
      phi: l.local.phi,
      reason: f.fitness.diverged ? "training produced NaN or infinity" : undefined,
      generation,
      screen: screenOf(k),
      metaLoss: losses.length
        ? { first: losses[0], last: losses[losses.length - 1], steps: l.local.steps }
        : undefined,
    };
    tunedSoFar++;
    done++;
    report();
  };
  const plan = await planBatches(config, runner, toTune.length);
  throwIfAborted(hooks.signal);
  if (plan.size < 2) {
    await Promise.all(toTune.map(async (k) => {
      throwIfAborted(hooks.signal);
      try {
        const r = await runner.tune(canonical.get(k)!, phiSeed(k));
        tuned(k, r, r);
      } catch (e) {
        failed(k, e);
      }
    }));
  } else {
    // Chunks cut in population order; each runs its local searches together, then its fitness.
    const localOf = (keys: string[]) =>
      runner.localSearch(keys.map((k) => ({ tree: canonical.get(k)!, phiSeed: phiSeed(k) })));
    const fitnessOf = (keys: string[], locals: TimedLocalSearch[]) =>
      runner.fitness(keys.map((k, i) => ({ tree: canonical.get(k)!, phi: locals[i].local.phi })));
    /** Runs a chunk's step together; if that fails, each candidate alone, as `tune` would. */
    const together = async <T>(
      chunk: string[],
      step: (keys: string[]) => Promise<T[]>,
    ): Promise<(T | Error)[]> => {
      try {
        return await step(chunk);
      } catch (e) {
        if ((e as Error).name === "AbortError") throw e;
      }
      const out: (T | Error)[] = [];
      for (const k of chunk) {
        try {
          out.push((await step([k]))[0]);
        } catch (e) {
          if ((e as Error).name === "AbortError") throw e;
          out.push(e as Error);
        }
      }
      return out;
    };
    await Promise.all(
      candidateChunks(toTune, plan.size, runner.parallelism).map(async (chunk) => {
        throwIfAborted(hooks.signal);
        if (chunk.length > 1) {
          plan.stats.batches++;
          plan.stats.largest = Math.max(plan.stats.largest, chunk.length);
        }
        const locals = await together(chunk, localOf);
        const ready = chunk.filter((k, i) => {
          const l = locals[i];
          if (l instanceof Error) failed(k, l);
          return !(l instanceof Error);
        });
        const readyLocals = locals.filter((l): l is TimedLocalSearch => !(l instanceof Error));
        throwIfAborted(hooks.signal);
        const fitnesses = await together(
          ready,
          (keys) => fitnessOf(keys, keys.map((k) => readyLocals[ready.indexOf(k)])),
        );
        ready.forEach((k, i) => {
          const f = fitnesses[i];
          if (f instanceof Error) failed(k, f);
          else tuned(k, readyLocals[i], f);
        });
      }),
    );
  }
  throwIfAborted(hooks.signal);

  for (const k of fresh) {
    const e = archive[k];
    if (e.outcome === "equivalent") {
      archive[k] = { ...e, fitness: archive[e.equivalentTo!]?.fitness ?? null };
      done++;
    }
  }
  report();

  const fitness = keys.map((k) => archive[k].fitness);
  const hall = HallOfFame.fromJSON(state.hallOfFame);
  for (const k of fresh) {
    const e = archive[k];
    if (e.outcome === "tuned" && e.fitness !== null) hall.consider(e.tree, e.fitness, e.phi);
  }
  const finite = fitness.filter((f): f is number => f !== null);
  const count = (o: Outcome) => fresh.filter((k) => archive[k].outcome === o).length;
  times.wallMs = performance.now() - started;
  const stats: GenerationStats = {
    generation: generation + 1,
    population: population.length,
    cacheHits: keys.length - fresh.length,
    rejected: count("rejected"),
    equivalent: count("equivalent"),
    distinct: fresh.length,
    evaluated: count("tuned") + count("diverged"),
    diverged: count("diverged"),
    failed: count("failed"),
    bestFitness: finite.length ? Math.min(...finite) : null,
    medianFitness: median(finite),
    times,
    candidateBatch: plan.stats,
  };
  const next: SearchState = {
    generation: generation + 1,
    population: population.map((t) => [...t]),
    fitness,
    rng: rng.state(),
    archive,
    signatures,
    hallOfFame: hall.toJSON(),
    history: [...state.history, stats],
    evaluations: state.evaluations + tunedSoFar,
    elapsedMs: state.elapsedMs + times.wallMs,
  };
  return { state: next, stats };
}

function bestOf(state: SearchState, archive: Record<string, ArchiveEntry>): number | null {
  let best: number | null = state.hallOfFame.entries[0]?.fitness ?? null;
  for (const e of Object.values(archive)) {
    if (e.outcome === "tuned" && e.fitness !== null && (best === null || e.fitness < best)) {
      best = e.fitness;
    }
  }
  return best;
}

/** Why the search would stop before the next generation, if it would. */
export function stopReason(config: SearchConfig, state: SearchState): StopReason | undefined {
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
): Promise<{ state: SearchState; stopped: StopReason }> {
  let state = resumeFrom ?? newSearchState(config);
  while (true) {
    const reason = stopReason(config, state);
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

/** The ranked losses, best first. */
export function rankedLosses(state: SearchState): HallOfFameJson["entries"] {
  return state.hallOfFame.entries;
}
