/**
 * The operations on a job's candidates, written once: a worker serves this table
 * (workers/candidate_worker.ts) and the in-process runner calls it (engine/runner.ts), so the
 * pool's client type, the in-process runner and the worker all derive from `candidateOps`.
 *
 * Local search and fitness take a stack of candidates; one candidate is a stack of one. Where the
 * model allows (dense models), the stack's local searches run as one stacked computation, then
 * its fitness trainings (engine/stacked.ts); a stacked step that fails is retried one candidate
 * at a time, so one bad candidate never costs its neighbours their results.
 */
import { CandidateEvaluator } from "./evaluator.ts";
import { finalSeedRuns } from "./final_runs.ts";
import { tf } from "./tensor/tf.ts";
import { isBackendFault } from "./tensor/faults.ts";
import { loadDataset, prepare, type PreparedData } from "../core/prepare.ts";
import { MODEL_KINDS } from "../core/model_kinds.ts";
import type { Tree } from "../core/expr/tree.ts";
import type { DataSummary } from "../core/result.ts";
import type { FinalSeedRuns, FinalSettings } from "../core/final.ts";
import type {
  CandidateItem,
  CandidateOutcome,
  FitnessResult,
  JobContext,
  LocalSearchResult,
  TimedScreen,
} from "../core/runner.ts";
import {
  CALIBRATION_K,
  CALIBRATION_STEPS,
  CALIBRATION_THRESHOLD,
  type StackCalibration,
} from "../core/stack_plan.ts";

/** A job's data and evaluator, built from its context. */
export interface PreparedJob {
  data: PreparedData;
  evaluator: CandidateEvaluator;
}

export async function prepareJob(ctx: JobContext): Promise<PreparedJob> {
  const data = prepare(await loadDataset(ctx.dataset), ctx.config.seed, ctx.split);
  const { model, evaluation, seed } = ctx.config;
  return { data, evaluator: new CandidateEvaluator(data, model, evaluation, seed) };
}

/** The prepared data as a result describes it (no arrays). */
function summarize(d: PreparedData): DataSummary {
  return {
    name: d.name,
    task: d.task,
    inputs: d.inputs,
    nClasses: d.nClasses,
    train: { n: d.train.n },
    validation: { n: d.validation.n },
    test: { n: d.test.n },
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Each candidate's result of `step`: all from one stacked call when there are several, else alone;
 * if the stacked call fails, each candidate alone, so that a failure is its candidate's own. Wall
 * time is shared out equally over a stack.
 */
async function stackedOrAlone<I, R>(
  stackable: boolean,
  items: I[],
  step: (items: I[]) => Promise<R[]>,
): Promise<({ ok: true; result: R; ms: number } | { ok: false; error: string })[]> {
  if (stackable && items.length > 1) {
    try {
      const [results, ms] = await timed(() => step(items));
      return results.map((result) => ({ ok: true, result, ms: ms / items.length }));
    } catch (e) {
      // A broken backend computes nothing more: the request fails, to be retried elsewhere.
      if (isBackendFault(e)) throw e;
      // One at a time below: the failure then belongs to the candidate that causes it.
    }
  }
  const out: ({ ok: true; result: R; ms: number } | { ok: false; error: string })[] = [];
  for (const item of items) {
    try {
      const [[result], ms] = await timed(() => step([item]));
      out.push({ ok: true, result, ms });
    } catch (e) {
      if (isBackendFault(e)) throw e;
      out.push({ ok: false, error: message(e) });
    }
  }
  return out;
}

/** Local search of every candidate, then fitness of those that finished it. */
export async function localSearchAndFitness(
  ev: CandidateEvaluator,
  items: CandidateItem[],
): Promise<CandidateOutcome[]> {
  const stackable = MODEL_KINDS[ev.spec.kind].stackable;
  const locals = await stackedOrAlone<CandidateItem, LocalSearchResult>(
    stackable,
    items,
    (xs) =>
      xs.length === 1
        ? ev.localSearch(xs[0].tree, xs[0].phiSeed).then((r) => [r])
        : ev.localSearchStacked(xs.map((x) => x.tree), xs.map((x) => x.phiSeed)),
  );
  const ready = items.flatMap((item, i) => {
    const l = locals[i];
    return l.ok ? [{ item, local: l }] : [];
  });
  const fitnesses = await stackedOrAlone<typeof ready[number], FitnessResult>(
    stackable,
    ready,
    (xs) =>
      xs.length === 1
        ? ev.fitness(xs[0].item.tree, xs[0].local.result.phi).then((r) => [r])
        : ev.fitnessStacked(xs.map((x) => x.item.tree), xs.map((x) => x.local.result.phi)),
  );
  const byItem = new Map(ready.map((r, i) => [r.item, fitnesses[i]]));
  return items.map((item, i): CandidateOutcome => {
    const l = locals[i];
    if (!l.ok) return { ok: false, error: l.error };
    const f = byItem.get(item)!;
    if (!f.ok) return { ok: false, error: f.error };
    return {
      ok: true,
      local: l.result,
      fitness: f.result,
      localSearchMs: l.ms,
      fitnessMs: f.ms,
    };
  });
}

/** Squared error: trains on both tasks without diverging, so both ways do the full work. */
const CALIBRATION_TREE: Tree = ["square", "sub", "fx", "y"];
/** Steps of the warm-up: enough to compile every kernel and shader both ways use. */
const WARM_UP_STEPS = 2;
/** The best of two rounds, alternating the ways, so that a moment's load elsewhere counts less. */
const ROUNDS = 2;

/**
 * Times `k` candidates' fitness training (`steps` SGD steps and the validation metric), one at a
 * time and stacked, on the evaluator's model, data and initialisation, after a warm-up of each.
 * Fitness training stands in for both phases.
 */
export async function calibrateStacking(
  ev: CandidateEvaluator,
  { k = CALIBRATION_K, steps = CALIBRATION_STEPS }: { k?: number; steps?: number } = {},
): Promise<StackCalibration> {
  if (!MODEL_KINDS[ev.spec.kind].stackable) {
    throw new Error(`stacking calibration: ${ev.spec.kind} models are never stacked`);
  }
  const trees = Array.from({ length: k }, () => CALIBRATION_TREE);
  const phis = trees.map((t) => t.map(() => 1));
  const oneAtATime = async (n: number) => {
    for (let i = 0; i < k; i++) await ev.fitness(trees[i], phis[i], n);
  };
  const stacked = (n: number) => ev.fitnessStacked(trees, phis, n);
  const time = async (fn: () => Promise<unknown>) => (await timed(fn))[1];
  await oneAtATime(WARM_UP_STEPS);
  await stacked(WARM_UP_STEPS);
  let oneAtATimeMs = Infinity, stackedMs = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    oneAtATimeMs = Math.min(oneAtATimeMs, await time(() => oneAtATime(steps)));
    stackedMs = Math.min(stackedMs, await time(() => stacked(steps)));
  }
  const speedup = oneAtATimeMs / stackedMs;
  return {
    k,
    steps,
    oneAtATimeMs,
    stackedMs,
    speedup,
    stack: speedup >= CALIBRATION_THRESHOLD,
    backend: tf.getBackend(),
  };
}

/** The operation table of one prepared job. */
export function candidateOps(job: PreparedJob) {
  const ev = job.evaluator;
  return {
    /** The job's prepared data, described: preparing it proves it can be read. */
    describe: (): DataSummary => summarize(job.data),
    /** Rejection screen and gradient signature. */
    screen: async (tree: Tree): Promise<TimedScreen> => {
      const [result, screenMs] = await timed(() => ev.screen(tree));
      return { ...result, screenMs };
    },
    /** Local search, then fitness, of a stack of candidates. */
    localSearchAndFitness: (items: CandidateItem[]): Promise<CandidateOutcome[]> =>
      localSearchAndFitness(ev, items),
    /** Stacked against one-at-a-time training on this job's model and data. */
    calibrate: (): Promise<StackCalibration> => calibrateStacking(ev),
    /** Both final trainings (learned and standard loss) of one seed. */
    finalRuns: (
      tree: Tree,
      phi: number[],
      settings: FinalSettings,
      seed: number,
    ): Promise<FinalSeedRuns> => finalSeedRuns(job.data, ev.spec, tree, phi, settings, seed),
  };
}

export type CandidateOps = ReturnType<typeof candidateOps>;
