/**
 * One generation of the search, as named stages: draw the population, screen the new canonical
 * forms, classify them (rejected, failed, equivalent, or to evaluate), evaluate the rest (local
 * search then fitness, in stacks), settle the equivalent ones, then the statistics. Each stage is
 * a function of its inputs; the decisions that depend on order (which equivalent loss came first)
 * are taken in population order, so the result does not depend on how the runner schedules work.
 */
import { canonicalize, canonicalKey } from "./expr/canonical.ts";
import type { Tree } from "./expr/tree.ts";
import { HallOfFame, hasBothInputs, initialPopulation, vary } from "./gp/mod.ts";
import { Rng } from "./rng.ts";
import { isDenseStack } from "./model_kinds.ts";
import {
  type CandidateOutcome,
  type CandidateRunner,
  stopsSearch,
  type TimedFitness,
  type TimedScreen,
} from "./runner.ts";
import {
  duePromotions,
  rankOptions,
  type RungResult,
  rungSteps,
  selectionScores,
} from "./fidelity.ts";
import { compareResults } from "./gp/hall_of_fame.ts";
import { validatedLoss } from "./loss_scale.ts";
import {
  AUTO_STACK,
  cutStacks,
  type StackCalibration,
  stackSize,
  type StackStats,
} from "./stack_plan.ts";
import type { SearchConfig, SearchHooks, SearchState } from "./search.ts";

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
  /** Validation task loss of the trained model that `fitness` measured: the tie-breaker. */
  taskLoss?: number;
  /** The scale the tuned loss was multiplied by (`normalizeScale`, core/loss_scale.ts). */
  scale?: number;
  /** Multi-fidelity: training steps of the measurement `fitness` is, the longest reached. */
  fidelity?: number;
  /** Multi-fidelity: every rung's measurement, shortest first (core/fidelity.ts). */
  rungs?: RungResult[];
}

/** What one candidate's evaluation took, by stage (a stack's time shared out equally). Kept apart
 * from the archive: a search's archive is what it computed, the same on every run. */
export interface CandidateTimes {
  screenMs?: number;
  localSearchMs?: number;
  fitnessMs?: number;
}

export interface StageTimes {
  /** Summed over candidates (CPU-side cost, whatever the parallelism). */
  screenMs: number;
  localSearchMs: number;
  /** Fitness trainings, promotions to longer rungs included. */
  fitnessMs: number;
  /** SGD steps behind `fitnessMs` (each fold's counted): the training speed that estimates
   * the final evaluation's time. Absent in generations checkpointed before it was recorded. */
  fitnessSteps?: number;
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
  /** Multi-fidelity: candidates trained again at a longer rung in this generation. */
  promoted?: number;
  /** Of the best-ranked individual (core/fidelity.ts), null when none has a result. */
  bestFitness: number | null;
  medianFitness: number | null;
  times: StageTimes;
  /** How candidates were stacked (absent in generations checkpointed before it was recorded). */
  stacking?: StackStats;
}

/** The population of a generation and its canonical forms new to the archive. */
export interface Drawn {
  population: Tree[];
  /** Canonical key of each individual, in population order. */
  keys: string[];
  /** Distinct keys not yet in the archive, in order of first appearance. */
  fresh: string[];
  canonical: Map<string, Tree>;
}

/** Stage 1: the initial population (a warm start's losses first), or the last one varied; what
 * is new in it. */
export function drawGeneration(config: SearchConfig, state: SearchState, rng: Rng): Drawn {
  // A warm start's losses come first; the rest of the first population is drawn as usual.
  const seeds = (config.warmStart?.losses ?? []).slice(0, config.budget.population);
  const population = state.generation === 0
    ? [
      ...seeds.map((t) => [...t]),
      ...initialPopulation(rng, config.budget.population - seeds.length, config.gp),
    ]
    : vary(
      rng,
      state.population,
      selectionScores(config, state.archive, state.population.map(canonicalKey)),
      config.gp,
    );
  const keys = population.map(canonicalKey);
  const fresh = [...new Set(keys.filter((k) => !(k in state.archive)))];
  const ops = config.gp.primitives;
  const canonical = new Map(
    fresh.map((k) => [k, canonicalize(population[keys.indexOf(k)], ops)]),
  );
  return { population, keys, fresh, canonical };
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DOMException("search cancelled", "AbortError");
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Stage 2: the rejection screen (and gradient signature) of every new form, concurrently. */
export async function screenStage(
  drawn: Drawn,
  runner: CandidateRunner,
  signal?: AbortSignal,
): Promise<Map<string, TimedScreen | Error>> {
  const screens = new Map<string, TimedScreen | Error>();
  await Promise.all(drawn.fresh.map(async (k) => {
    throwIfAborted(signal);
    const tree = drawn.canonical.get(k)!;
    // Simplification can leave a form without y or f(x) (e.g. `y - y` folds to 0): such a loss
    // gives no training signal, and a loss without f(x) has no gradient at all.
    if (!hasBothInputs(tree)) {
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
      screens.set(k, await runner.screen(tree));
    } catch (e) {
      if (stopsSearch(e)) throw e;
      screens.set(k, e as Error);
    }
  }));
  throwIfAborted(signal);
  return screens;
}

/** The screen's verdict as an archive entry records it. */
function screenOf(s: TimedScreen) {
  return { metricBefore: s.metricBefore, metricAfter: s.metricAfter };
}

export interface Classified {
  /** Entries decided by the screen: failed, rejected, and equivalent (fitness still to settle). */
  entries: Record<string, ArchiveEntry>;
  /** Keys that need local search and fitness, in population order. */
  toEvaluate: string[];
  signatures: Record<string, string>;
}

/**
 * Stage 3, in population order: what each new form needs. A failed or rejected screen ends it; a
 * gradient signature met before makes it equivalent to that loss; the rest are evaluated, and the
 * first of each signature is remembered.
 */
export function classify(
  config: SearchConfig,
  drawn: Drawn,
  screens: Map<string, TimedScreen | Error>,
  signatures: Record<string, string>,
  generation: number,
): Classified {
  const entries: Record<string, ArchiveEntry> = {};
  const toEvaluate: string[] = [];
  const known = { ...signatures };
  for (const k of drawn.fresh) {
    const s = screens.get(k)!;
    const tree = drawn.canonical.get(k)!;
    if (s instanceof Error) {
      entries[k] = { tree, outcome: "failed", fitness: null, reason: s.message, generation };
    } else if (s.rejected) {
      entries[k] = {
        tree,
        outcome: "rejected",
        fitness: null,
        reason: s.reason,
        generation,
        screen: screenOf(s),
      };
    } else if (
      config.evaluation.gradientEquivalence.enabled && s.gradientSignature !== undefined &&
      s.gradientSignature in known
    ) {
      entries[k] = {
        tree,
        outcome: "equivalent",
        fitness: null, // settled once the loss it is equivalent to has its fitness
        equivalentTo: known[s.gradientSignature],
        generation,
        screen: screenOf(s),
      };
    } else {
      if (s.gradientSignature !== undefined) known[s.gradientSignature] = k;
      toEvaluate.push(k);
    }
  }
  return { entries, toEvaluate, signatures: known };
}

/** How big this generation's stacks are, and why. */
export interface StackPlan {
  size: number;
  stats: StackStats;
  /** The search's measurement, once taken: kept in the state, so it is taken once per search. */
  calibration?: StackCalibration;
}

/**
 * The stack size for `ready` candidates from the setting: 1 means one candidate per request.
 * "auto" stacks only where a calibration on this search's model and data measured it faster; it
 * is measured at the first generation with something to stack, and kept.
 */
export async function planStacks(
  config: SearchConfig,
  state: Pick<SearchState, "stackCalibration">,
  runner: CandidateRunner,
  ready: number,
): Promise<StackPlan> {
  const setting = config.execution.candidateStack;
  const stats: StackStats = { setting, largest: 1, stacks: 0 };
  const known = state.stackCalibration;
  if (setting === "off") return { size: 1, stats, calibration: known };
  if (!isDenseStack(config.model)) {
    return {
      size: 1,
      stats: {
        ...stats,
        note: config.model.kind === "sequential"
          ? "a sequential model is stacked only when its layers are a ReLU dense stack"
          : `${config.model.kind} models are never stacked`,
      },
      calibration: known,
    };
  }
  if (typeof setting === "number") {
    return { size: stackSize(ready, setting, runner.parallelism), stats, calibration: known };
  }
  // Nothing to stack (no more candidates than workers): do not spend a calibration on it yet.
  if (stackSize(ready, AUTO_STACK, runner.parallelism) < 2) {
    return { size: 1, stats, calibration: known };
  }
  let calibration = known;
  if (!calibration) {
    try {
      calibration = await runner.calibrate();
    } catch (e) {
      // Stacking is only ever a speed-up: without a measurement, one at a time.
      if (stopsSearch(e)) throw e;
      return { size: 1, stats: { ...stats, note: `calibration failed: ${messageOf(e)}` } };
    }
  }
  const size = calibration.stack ? stackSize(ready, AUTO_STACK, runner.parallelism) : 1;
  return { size, stats: { ...stats, calibration }, calibration };
}

/** FNV-1a: a stable 32-bit hash of a canonical key, so phi's initial noise depends on the loss. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const toStored = (f: number) => (Number.isFinite(f) ? f : null);

/** An evaluated candidate's archive entry. */
function evaluatedEntry(
  config: SearchConfig,
  tree: Tree,
  outcome: CandidateOutcome,
  screen: TimedScreen,
  generation: number,
): ArchiveEntry {
  if (!outcome.ok) {
    return {
      tree,
      outcome: "failed",
      fitness: null,
      reason: outcome.error,
      generation,
      screen: screenOf(screen),
    };
  }
  const { local, fitness, scale } = outcome;
  const losses = local.metaLosses;
  const steps = config.evaluation.fitnessSteps;
  const stored = toStored(fitness.fitness);
  return {
    tree,
    outcome: fitness.diverged ? "diverged" : "tuned",
    fitness: stored,
    phi: local.phi,
    reason: fitness.diverged ? "training produced NaN or infinity" : undefined,
    generation,
    screen: screenOf(screen),
    metaLoss: losses.length
      ? { first: losses[0], last: losses[losses.length - 1], steps: local.steps }
      : undefined,
    ...(fitness.taskLoss === undefined ? {} : { taskLoss: fitness.taskLoss }),
    ...(scale === undefined ? {} : { scale }),
    ...(config.evaluation.multiFidelity?.enabled && !fitness.diverged
      ? { fidelity: steps, rungs: [rungResult(steps, fitness.fitness, fitness.taskLoss)] }
      : {}),
  };
}

function rungResult(steps: number, fitness: number | null, taskLoss?: number): RungResult {
  const f = fitness === null ? null : toStored(fitness);
  return f === null || taskLoss === undefined
    ? { steps, fitness: f }
    : { steps, fitness: f, taskLoss };
}

export interface Evaluated {
  entries: Record<string, ArchiveEntry>;
  localSearchMs: number;
  fitnessMs: number;
  fitnessSteps: number;
  times: Record<string, CandidateTimes>;
}

/**
 * Stage 4: local search then fitness of the candidates to evaluate, in stacks cut in population
 * order (a stack of one where stacking is off); stacks run concurrently on the runner. A request
 * that fails as a whole fails each of its candidates with the reason.
 */
export async function evaluateStage(
  config: SearchConfig,
  classified: Classified,
  drawn: Drawn,
  screens: Map<string, TimedScreen | Error>,
  runner: CandidateRunner,
  plan: StackPlan,
  generation: number,
  onEvaluated: (entry: ArchiveEntry) => void,
  signal?: AbortSignal,
): Promise<Evaluated> {
  const out: Evaluated = {
    entries: {},
    localSearchMs: 0,
    fitnessMs: 0,
    fitnessSteps: 0,
    times: {},
  };
  const stacks = cutStacks(classified.toEvaluate, plan.size, runner.parallelism);
  for (const stack of stacks) {
    if (stack.length > 1) plan.stats.stacks++;
    plan.stats.largest = Math.max(plan.stats.largest, stack.length);
  }
  const phiSeed = (k: string) => (hash32(k) ^ config.seed) >>> 0;
  await Promise.all(stacks.map(async (stack) => {
    throwIfAborted(signal);
    let outcomes: CandidateOutcome[];
    try {
      outcomes = await runner.localSearchAndFitness(
        stack.map((k) => ({ tree: drawn.canonical.get(k)!, phiSeed: phiSeed(k) })),
      );
    } catch (e) {
      if (stopsSearch(e)) throw e;
      outcomes = stack.map(() => ({ ok: false, error: messageOf(e) }));
    }
    stack.forEach((k, i) => {
      const o = outcomes[i];
      if (o.ok) {
        out.localSearchMs += o.localSearchMs;
        out.fitnessMs += o.fitnessMs;
        out.fitnessSteps += o.fitness.steps ?? 0;
        out.times[k] = { localSearchMs: o.localSearchMs, fitnessMs: o.fitnessMs };
      }
      const entry = evaluatedEntry(
        config,
        drawn.canonical.get(k)!,
        o,
        screens.get(k) as TimedScreen,
        generation,
      );
      out.entries[k] = entry;
      onEvaluated(entry);
    });
  }));
  throwIfAborted(signal);
  return out;
}

/**
 * Stage 5: each equivalent loss among `keys` takes the result of the loss it is equivalent to
 * (its fitness, and the fidelity and task loss that rank it).
 */
export function settleEquivalents(
  archive: Record<string, ArchiveEntry>,
  keys: readonly string[],
): Record<string, ArchiveEntry> {
  const out = { ...archive };
  for (const k of keys) {
    const e = out[k];
    if (e.outcome !== "equivalent") continue;
    const { fidelity: _f, taskLoss: _t, ...rest } = e;
    const target = out[e.equivalentTo!];
    out[k] = {
      ...rest,
      fitness: target?.fitness ?? null,
      ...(target?.fidelity === undefined ? {} : { fidelity: target.fidelity }),
      ...(target?.taskLoss === undefined ? {} : { taskLoss: target.taskLoss }),
    };
  }
  return out;
}

export interface Promoted {
  archive: Record<string, ArchiveEntry>;
  /** Keys trained again, in the order of their promotion. */
  keys: string[];
  fitnessMs: number;
  fitnessSteps: number;
}

/**
 * Stage 5b, multi-fidelity (core/fidelity.ts): waves of the promotions due, each wave's
 * trainings in stacks cut in promotion order, run concurrently on the runner, then recorded in
 * promotion order, until none is due. A training that fails or diverges leaves the candidate
 * without a result at that rung (worst there, and out of the hall of fame).
 */
export async function promoteStage(
  config: SearchConfig,
  archive: Record<string, ArchiveEntry>,
  runner: CandidateRunner,
  stackSizeFor: number,
  signal?: AbortSignal,
): Promise<Promoted> {
  const ladder = rungSteps(config);
  const out: Promoted = { archive: { ...archive }, keys: [], fitnessMs: 0, fitnessSteps: 0 };
  for (
    let wave = duePromotions(config, out.archive);
    wave.length;
    wave = duePromotions(config, out.archive)
  ) {
    throwIfAborted(signal);
    const results = new Map<string, TimedFitness>();
    const rungs = [...new Set(wave.map((p) => p.rung))];
    await Promise.all(rungs.flatMap((rung) => {
      const keys = wave.filter((p) => p.rung === rung).map((p) => p.key);
      return cutStacks(keys, stackSizeFor, runner.parallelism).map(async (stack) => {
        let got: TimedFitness[];
        try {
          got = await runner.fitnessAt(
            stack.map((k) => validatedLoss(out.archive[k])),
            ladder[rung],
          );
        } catch (e) {
          if (stopsSearch(e)) throw e;
          got = stack.map(() => ({ ok: false, error: messageOf(e) }));
        }
        stack.forEach((k, i) => results.set(k, got[i]));
      });
    }));
    throwIfAborted(signal);
    for (const { key, rung } of wave) {
      const r = results.get(key)!;
      const steps = ladder[rung];
      const e = out.archive[key];
      let measured: RungResult, reason: string | undefined;
      if (!r.ok) {
        measured = { steps, fitness: null };
        reason = `training of ${steps} steps failed: ${r.error}`;
      } else {
        out.fitnessMs += r.fitnessMs;
        out.fitnessSteps += r.fitness.steps ?? 0;
        measured = rungResult(
          steps,
          r.fitness.diverged ? null : r.fitness.fitness,
          r.fitness.taskLoss,
        );
        if (measured.fitness === null) {
          reason = `training of ${steps} steps produced NaN or infinity`;
        }
      }
      const { taskLoss: _t, ...rest } = e;
      out.archive[key] = {
        ...rest,
        fitness: measured.fitness,
        fidelity: steps,
        ...(measured.taskLoss === undefined ? {} : { taskLoss: measured.taskLoss }),
        rungs: [...e.rungs!, measured],
        ...(reason ? { reason } : {}),
      };
      out.keys.push(key);
    }
  }
  if (out.keys.length) {
    const promoted = new Set(out.keys);
    const followers = Object.keys(out.archive).filter((k) =>
      out.archive[k].outcome === "equivalent" && promoted.has(out.archive[k].equivalentTo!)
    );
    out.archive = settleEquivalents(out.archive, followers);
  }
  return out;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Stage 6: what the generation did, counted over its new forms. */
export function generationStats(
  config: SearchConfig,
  generation: number,
  drawn: Drawn,
  archive: Record<string, ArchiveEntry>,
  times: StageTimes,
  stacking: StackStats,
  promoted?: number,
): GenerationStats {
  const fitness = drawn.keys.map((k) => archive[k].fitness);
  const finite = fitness.filter((f): f is number => f !== null);
  const opts = rankOptions(config);
  const best = drawn.keys.map((k) => archive[k]).reduce(
    (b, e) => (b === undefined || compareResults(e, b, opts) < 0 ? e : b),
    undefined as ArchiveEntry | undefined,
  );
  const count = (o: Outcome) => drawn.fresh.filter((k) => archive[k].outcome === o).length;
  return {
    generation: generation + 1,
    population: drawn.population.length,
    cacheHits: drawn.keys.length - drawn.fresh.length,
    rejected: count("rejected"),
    equivalent: count("equivalent"),
    distinct: drawn.fresh.length,
    evaluated: count("tuned") + count("diverged"),
    diverged: count("diverged"),
    failed: count("failed"),
    ...(promoted === undefined ? {} : { promoted }),
    bestFitness: best?.fitness ?? null,
    medianFitness: median(finite),
    times,
    stacking,
  };
}

/** The best tuned fitness so far: the hall of fame's, or better in this generation's archive. */
function bestOf(state: SearchState, entries: Iterable<ArchiveEntry>): number | null {
  let best: number | null = state.hallOfFame.entries[0]?.fitness ?? null;
  for (const e of entries) {
    if (e.outcome === "tuned" && e.fitness !== null && (best === null || e.fitness < best)) {
      best = e.fitness;
    }
  }
  return best;
}

/**
 * Runs one generation: the stages above in turn, reporting progress as candidates finish. The
 * input state is not modified; a generation is all or nothing.
 */
export async function runGeneration(
  config: SearchConfig,
  state: SearchState,
  runner: CandidateRunner,
  hooks: SearchHooks = {},
): Promise<{ state: SearchState; stats: GenerationStats }> {
  const started = performance.now();
  const generation = state.generation;
  const rng = Rng.fromState(state.rng);
  const drawn = drawGeneration(config, state, rng);
  const decided: ArchiveEntry[] = [];
  let done = 0;
  /** The evaluation stage's pace: when it began, how many it has, how many are done. */
  const pace = { since: 0, total: -1, done: 0 };
  const generationLeftMs = () => {
    if (pace.total < 0) return undefined;
    if (pace.done >= pace.total) return 0;
    if (pace.done === 0) return undefined;
    return ((performance.now() - pace.since) / pace.done) * (pace.total - pace.done);
  };
  const report = () =>
    hooks.onProgress?.({
      generation: generation + 1,
      generations: config.budget.generations,
      done,
      pending: drawn.fresh.length,
      evaluations: state.evaluations +
        decided.filter((e) => e.outcome === "tuned" || e.outcome === "diverged").length,
      bestFitness: bestOf(state, decided),
      cacheHits: drawn.keys.length - drawn.fresh.length,
      rejections: decided.filter((e) => e.outcome === "rejected").length,
      elapsedMs: state.elapsedMs + (performance.now() - started),
      generationLeftMs: generationLeftMs(),
    });
  report();

  const screens = await screenStage(drawn, runner, hooks.signal);
  const screenMs = [...screens.values()].reduce(
    (t, s) => t + (s instanceof Error ? 0 : s.screenMs),
    0,
  );
  const classified = classify(config, drawn, screens, state.signatures, generation);
  for (const e of Object.values(classified.entries)) {
    decided.push(e);
    if (e.outcome !== "equivalent") done++;
  }
  report();

  const plan = await planStacks(config, state, runner, classified.toEvaluate.length);
  throwIfAborted(hooks.signal);
  Object.assign(pace, { since: performance.now(), total: classified.toEvaluate.length });
  const evaluated = await evaluateStage(
    config,
    classified,
    drawn,
    screens,
    runner,
    plan,
    generation,
    (entry) => {
      decided.push(entry);
      done++;
      pace.done++;
      report();
    },
    hooks.signal,
  );

  // Into the archive in population order, whatever order the runner finished in.
  const fromGeneration = { ...classified.entries, ...evaluated.entries };
  let archive = settleEquivalents(
    { ...state.archive, ...Object.fromEntries(drawn.fresh.map((k) => [k, fromGeneration[k]])) },
    drawn.fresh,
  );
  done = drawn.fresh.length;
  report();

  const promoted = config.evaluation.multiFidelity?.enabled
    ? await promoteStage(config, archive, runner, plan.size, hooks.signal)
    : undefined;
  if (promoted) archive = promoted.archive;

  const hall = HallOfFame.fromJSON(state.hallOfFame, rankOptions(config));
  const consider = (k: string) => {
    const e = archive[k];
    if (e.outcome !== "tuned") return;
    if (e.fitness === null) hall.remove(e.tree);
    else hall.consider(e.tree, e.fitness, e.phi, e);
  };
  drawn.fresh.forEach(consider);
  promoted?.keys.forEach(consider);
  const times: StageTimes = {
    screenMs,
    localSearchMs: evaluated.localSearchMs,
    fitnessMs: evaluated.fitnessMs + (promoted?.fitnessMs ?? 0),
    fitnessSteps: evaluated.fitnessSteps + (promoted?.fitnessSteps ?? 0),
    wallMs: performance.now() - started,
  };
  const stats = generationStats(
    config,
    generation,
    drawn,
    archive,
    times,
    plan.stats,
    promoted?.keys.length,
  );
  const candidateTimes: Record<string, CandidateTimes> = {};
  for (const k of drawn.fresh) {
    const s = screens.get(k);
    const screenMs = s instanceof Error || s === undefined ? undefined : s.screenMs;
    candidateTimes[k] = { ...(screenMs === undefined ? {} : { screenMs }), ...evaluated.times[k] };
  }
  const next: SearchState = {
    generation: generation + 1,
    population: drawn.population.map((t) => [...t]),
    fitness: drawn.keys.map((k) => archive[k].fitness),
    rng: rng.state(),
    archive,
    signatures: classified.signatures,
    hallOfFame: hall.toJSON(),
    history: [...state.history, stats],
    evaluations: state.evaluations + stats.evaluated,
    elapsedMs: state.elapsedMs + times.wallMs,
    ...(plan.calibration ? { stackCalibration: plan.calibration } : {}),
    candidateTimes: { ...state.candidateTimes, ...candidateTimes },
  };
  return { state: next, stats };
}
