/**
 * The operations on a job's candidates, written once: a worker serves this table
 * (workers/candidate_worker.ts) and the in-process runner calls it (engine/runner.ts), so the
 * pool's client type, the in-process runner and the worker all derive from `candidateOps`.
 *
 * Local search and fitness take a stack of candidates; one candidate is a stack of one. Where the
 * model allows (dense models), the stack's local searches run as one stacked computation, then
 * its fitness trainings: on the fused WebGPU engine (engine/webgpu/dense.ts) when the job runs
 * there, else on tfjs (engine/stacked.ts). A stacked step that fails is retried one candidate at
 * a time, so one bad candidate never costs its neighbours their results; a fused stack that
 * fails is retried on tfjs.
 *
 * Which engine a job's stacks use is decided once per job and must be the same on every worker
 * (a search must not depend on which worker ran what): `webgpu` always takes the fused engine
 * where it applies, `auto` takes it when the job's calibration measures it faster than tfjs, and
 * the worker pool passes that decision to every worker in the job's context (workers/pool.ts);
 * on one thread (engine/runner.ts) the job calibrates when it first needs to know.
 */
import { CandidateEvaluator } from "./evaluator.ts";
import { finalRun } from "./final_runs.ts";
import { tf } from "./tensor/tf.ts";
import { isBackendFault } from "./tensor/faults.ts";
import { FusedDense, fusedRefusal } from "./webgpu/dense.ts";
import { fusedDevice } from "./webgpu/device.ts";
import { type BackendChoice, type EngineChoice, fusedPolicy } from "../core/backends.ts";
import { loadAndPrepare, type PreparedData } from "../core/prepare.ts";
import { isDenseStack } from "../core/model_kinds.ts";
import type { Tree } from "../core/expr/tree.ts";
import type { DataSummary } from "../core/result.ts";
import type { FinalRun, FinalRunRequest, FinalSettings } from "../core/final.ts";
import { foldScale, type WeightedTree } from "../core/loss_scale.ts";
import type {
  CandidateItem,
  CandidateOutcome,
  FitnessResult,
  JobContext,
  LocalSearchResult,
  TimedFitness,
  TimedScreen,
} from "../core/runner.ts";
import {
  CALIBRATION_K,
  CALIBRATION_STEPS,
  CALIBRATION_THRESHOLD,
  type EngineCalibration,
  FUSED_CALIBRATION_STEPS,
  type StackCalibration,
} from "../core/stack_plan.ts";

/** A job's data and evaluator, built from its context, and how its stacks run. */
export interface PreparedJob {
  data: PreparedData;
  evaluator: CandidateEvaluator;
  /** What this thread was started with: whether the fused engine may run, and when. */
  backend: BackendChoice;
  /**
   * How the job's dense stacks run, once known: from the job's context in a worker, from this
   * thread's own calibration on one thread (`decidesAlone`).
   */
  engine?: EngineChoice;
  /** True on one thread: no pool decides for the job, so it calibrates itself when it must. */
  decidesAlone: boolean;
  /** The fused engine once opened, or why there is none. */
  fused?: Promise<FusedDense | string>;
  /** The job's calibration, measured once. */
  calibration?: Promise<StackCalibration>;
}

export async function prepareJob(
  ctx: JobContext,
  backend: BackendChoice,
  decidesAlone = false,
): Promise<PreparedJob> {
  const data = await loadAndPrepare(ctx, ctx.config.seed, ctx.split, ctx.preprocessing);
  const { model, evaluation, seed } = ctx.config;
  return {
    data,
    evaluator: new CandidateEvaluator(data, model, evaluation, seed),
    backend,
    decidesAlone,
  };
}

/** The job's fused engine, opened at the first call; a string says why there is none. */
function fusedEngine(job: PreparedJob): Promise<FusedDense | string> {
  job.fused ??= (async () => {
    const ev = job.evaluator;
    if (fusedPolicy(job.backend) === "never") {
      return `backend ${job.backend} does not use the fused engine`;
    }
    const refusal = fusedRefusal(ev.spec, ev.settings, ev.validation.n);
    if (refusal) return refusal;
    const fd = await fusedDevice();
    if (!fd) return "no WebGPU adapter";
    return new FusedDense(fd, ev.spec, ev.task, ev.train, ev.validation, ev.settings, ev.seed);
  })();
  return job.fused;
}

/** Releases what a prepared job holds. */
export async function disposeJob(job: PreparedJob): Promise<void> {
  job.evaluator.dispose();
  const fused = await job.fused;
  if (fused instanceof FusedDense) fused.dispose();
}

/** How this job's dense stacks run; calibrates first where this thread decides alone. */
async function engineOf(job: PreparedJob): Promise<EngineChoice> {
  if (!isDenseStack(job.evaluator.spec)) return "tfjs";
  const policy = fusedPolicy(job.backend);
  if (policy === "never") return "tfjs";
  if (policy === "always") return typeof (await fusedEngine(job)) === "string" ? "tfjs" : "fused";
  if (job.engine) return job.engine;
  if (!job.decidesAlone) return "tfjs";
  await calibrate(job);
  return job.engine ?? "tfjs";
}

/** Said once per job and thread: a fused stack failed and ran on tfjs instead. */
const warned = new WeakSet<PreparedJob>();

/**
 * Local search then fitness of a stack on the fused engine; wall time shared out equally. With
 * `normalizeScale` the scale of each tuned loss (one gradient on the probe batch) comes from the
 * evaluator, as on tfjs, and the fused engine trains the folded tree.
 */
async function fusedStack(
  fused: FusedDense,
  ev: CandidateEvaluator,
  items: CandidateItem[],
): Promise<CandidateOutcome[]> {
  const trees = items.map((x) => x.tree);
  const t0 = performance.now();
  const locals: LocalSearchResult[] = ev.settings.localSearch.enabled
    ? await fused.localSearch(trees, items.map((x) => ev.initialPhi(x.tree, x.phiSeed)))
    : trees.map((t) => ({ phi: t.map(() => 1), metaLosses: [], steps: 0 }));
  const t1 = performance.now();
  const tuned: { scale?: number; loss: WeightedTree }[] = [];
  for (const [i, tree] of trees.entries()) tuned.push(await lossToFit(ev, tree, locals[i].phi));
  const fitness = await fused.fitness(
    tuned.map((t) => t.loss.tree),
    tuned.map((t) => t.loss.phi),
  );
  const t2 = performance.now();
  return items.map((_, i) => ({
    ok: true,
    local: locals[i],
    fitness: fitness[i],
    ...(tuned[i].scale === undefined ? {} : { scale: tuned[i].scale }),
    localSearchMs: (t1 - t0) / items.length,
    fitnessMs: (t2 - t1) / items.length,
  }));
}

/**
 * The loss whose fitness is measured after local search: the tuned one, or with
 * `normalizeScale` the tuned one times its scale, folded into one tree (core/loss_scale.ts).
 */
async function lossToFit(
  ev: CandidateEvaluator,
  tree: Tree,
  phi: number[],
): Promise<{ scale?: number; loss: WeightedTree }> {
  const scale = ev.settings.normalizeScale ? await ev.lossScale(tree, phi) : undefined;
  return scale === undefined
    ? { loss: { tree, phi } }
    : { scale, loss: foldScale(tree, phi, scale) };
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
    preprocessing: d.preprocessing,
    ...(d.sources ? { sources: d.sources } : {}),
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

/** Fitness of weighted trees `steps` long, stacked where the model allows. */
function fitnessOfTrees(ev: CandidateEvaluator, losses: WeightedTree[], steps?: number) {
  return stackedOrAlone<WeightedTree, FitnessResult>(
    isDenseStack(ev.spec),
    losses,
    (xs) =>
      xs.length === 1
        ? ev.fitness(xs[0].tree, xs[0].phi, steps).then((r) => [r])
        : ev.fitnessStacked(xs.map((x) => x.tree), xs.map((x) => x.phi), steps),
  );
}

/**
 * Local search of every candidate, then fitness of those that finished it: of the tuned loss,
 * or, with `normalizeScale`, of the tuned loss times its scale (core/loss_scale.ts).
 */
export async function localSearchAndFitness(
  job: PreparedJob,
  items: CandidateItem[],
): Promise<CandidateOutcome[]> {
  const ev = job.evaluator;
  if (items.length > 0 && (await engineOf(job)) === "fused") {
    const fused = await fusedEngine(job);
    if (typeof fused !== "string") {
      try {
        return await fusedStack(fused, ev, items);
      } catch (e) {
        // tfjs computes the same within float rounding: slower, never wrong.
        if (!warned.has(job)) {
          warned.add(job);
          console.error(`fused engine failed, this job's stacks run on tfjs: ${message(e)}`);
        }
        job.engine = "tfjs";
      }
    }
  }
  const stackable = isDenseStack(ev.spec);
  const locals = await stackedOrAlone<CandidateItem, LocalSearchResult>(
    stackable,
    items,
    (xs) =>
      xs.length === 1
        ? ev.localSearch(xs[0].tree, xs[0].phiSeed).then((r) => [r])
        : ev.localSearchStacked(xs.map((x) => x.tree), xs.map((x) => x.phiSeed)),
  );
  const ready: { item: CandidateItem; scale?: number; loss: WeightedTree }[] = [];
  for (const [i, item] of items.entries()) {
    const l = locals[i];
    if (!l.ok) continue;
    ready.push({ item, ...(await lossToFit(ev, item.tree, l.result.phi)) });
  }
  const fitnesses = await fitnessOfTrees(ev, ready.map((r) => r.loss));
  const byItem = new Map(ready.map((r, i) => [r.item, { ...fitnesses[i], scale: r.scale }]));
  return items.map((item, i): CandidateOutcome => {
    const l = locals[i];
    if (!l.ok) return { ok: false, error: l.error };
    const f = byItem.get(item)!;
    if (!f.ok) return { ok: false, error: f.error };
    return {
      ok: true,
      local: l.result,
      fitness: f.result,
      ...(f.scale === undefined ? {} : { scale: f.scale }),
      localSearchMs: l.ms,
      fitnessMs: f.ms,
    };
  });
}

/** Squared error: trains on both tasks without diverging, so both ways do the full work. */
const CALIBRATION_TREE: Tree = ["square", "sub", "fx", "y"];
/** A fused time this many times above or below tfjs's after two steps needs no longer look. */
const CLEAR_MARGIN = 3;
/** Steps of the warm-up: enough to compile every kernel and shader both ways use. */
const WARM_UP_STEPS = 2;
/** The best of two rounds, alternating the ways, so that a moment's load elsewhere counts less. */
const ROUNDS = 2;

/**
 * Times `k` candidates' fitness training (`steps` SGD steps and the validation metric), one at a
 * time and stacked, on the evaluator's model, data and initialisation, after a warm-up of each;
 * and, where the backend allows the fused engine, the same on it. Fitness training stands in for
 * both phases.
 */
export async function calibrateStacking(
  job: PreparedJob,
  { k = CALIBRATION_K, steps = CALIBRATION_STEPS }: { k?: number; steps?: number } = {},
): Promise<StackCalibration> {
  const ev = job.evaluator;
  if (!isDenseStack(ev.spec)) {
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
  const engine = await calibrateEngine(job, trees, phis, steps, Math.min(oneAtATimeMs, stackedMs));
  return {
    k,
    steps,
    oneAtATimeMs,
    stackedMs,
    speedup,
    // The fused engine's dispatches do not grow with the stack: it always stacks.
    stack: engine?.choice === "fused" || speedup >= CALIBRATION_THRESHOLD,
    backend: tf.getBackend(),
    ...(engine ? { engine } : {}),
  };
}

/** The fused engine against tfjs's `tfjsMs`; undefined where the backend never uses it. */
async function calibrateEngine(
  job: PreparedJob,
  trees: Tree[],
  phis: number[][],
  steps: number,
  tfjsMs: number,
): Promise<EngineCalibration | undefined> {
  const policy = fusedPolicy(job.backend);
  if (policy === "never") return undefined;
  const fused = await fusedEngine(job);
  if (typeof fused === "string") return { choice: "tfjs", reason: fused };
  try {
    // One step compiles every kernel; two timed steps settle a clear case (the software adapter
    // is some 50 times as slow as wasm for the MNIST MLP: 4 s of calibration a job otherwise).
    await fused.fitness(trees, phis, 1);
    const per = async (n: number) => (await timed(() => fused.fitness(trees, phis, n)))[1] / n;
    let perStep = await per(2);
    if (perStep * steps < CLEAR_MARGIN * tfjsMs && perStep * steps * CLEAR_MARGIN > tfjsMs) {
      perStep = await per(FUSED_CALIBRATION_STEPS);
    }
    const fusedMs = perStep * steps;
    const ratio = tfjsMs / fusedMs;
    const measured = ratio >= 1
      ? `${ratio.toFixed(2)}x as fast as tfjs on ${tf.getBackend()}`
      : `${(1 / ratio).toFixed(2)}x as slow as tfjs on ${tf.getBackend()}`;
    const choice = policy === "always" || ratio >= 1 ? "fused" : "tfjs";
    const reason = policy === "always" ? `backend webgpu (measured ${measured})` : measured;
    return { choice, reason, adapter: fused.fd.adapter, fusedMs, tfjsMs };
  } catch (e) {
    return { choice: "tfjs", reason: `the fused engine failed: ${message(e)}`, tfjsMs };
  }
}

/** The job's calibration, measured once; it decides the job's engine on this thread. */
function calibrate(job: PreparedJob): Promise<StackCalibration> {
  job.calibration ??= calibrateStacking(job).then((c) => {
    job.engine ??= c.engine?.choice ?? "tfjs";
    return c;
  });
  return job.calibration;
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
      localSearchAndFitness(job, items),
    /** Stacked against one-at-a-time training on this job's model and data, and the fused
     * engine against tfjs where the backend allows it. */
    calibrate: (): Promise<StackCalibration> => calibrate(job),
    /** Fitness of losses as validated (scale folded in) at another length: a promotion. */
    fitnessAt: async (losses: WeightedTree[], steps: number): Promise<TimedFitness[]> =>
      (await fitnessOfTrees(ev, losses, steps)).map((f) =>
        f.ok ? { ok: true, fitness: f.result, fitnessMs: f.ms } : f
      ),
    /** One training run of the final comparison (one loss, seed and learning rate). */
    finalRuns: (
      tree: Tree,
      phi: number[],
      settings: FinalSettings,
      run: FinalRunRequest,
    ): Promise<FinalRun> => finalRun(job.data, ev.spec, tree, phi, settings, run),
  };
}

export type CandidateOps = ReturnType<typeof candidateOps>;
