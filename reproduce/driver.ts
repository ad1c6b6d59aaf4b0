/**
 * Runs the study (plan.ts): for every task, the searches (GP-LFL, the EvoMAL variants),
 * ML3's meta-training and TaylorGLO's CMA-ES, then every learned loss through the service's own
 * final comparison (core/pipeline.ts evaluateFinalRuns, core/final.ts): the paper's row at the
 * shared learning rate, the learning-rate trials on the validation split, the tuned row, the
 * paired tests and the verdict. Each unit's result is cached as JSON under the cache folder as
 * soon as it finishes, keyed by the unit's full description, so an interruption loses at most
 * the units in flight, a rerun picks up where it stopped, and the standard loss's runs, which
 * name no method, are trained once per task and shared by every comparison.
 */
import { evaluateFinalRuns } from "../core/pipeline.ts";
import {
  combineRow,
  type ComparisonRow,
  type FinalComparison,
  type FinalRunRequest,
  finalSeeds,
  type FinalSettings,
  finalSettingsFor,
} from "../core/final.ts";
import type { SearchResult } from "../core/result.ts";
import { LOSSMITH_VERSION } from "../core/result.ts";
import { evomalMethods, type MethodName, type Plan, type TaskPlan, type Variant } from "./plan.ts";
import { loadDataset, prepare } from "../core/prepare.ts";
import { UnitPool } from "./pool.ts";
import {
  configFor,
  type LossRef,
  type MlThreeResult,
  requestFor,
  type RunResult,
  type TaylorGloResult,
  type Unit,
  type UnitResult,
} from "./units.ts";

export interface SearchCost {
  wallMs: number;
  generations: number;
  evaluations: number;
  distinct: number;
  rejected: number;
  diverged: number;
  /** Best validation fitness of each generation (null: none finite). */
  bestPerGeneration: (number | null)[];
}

export interface MethodResult {
  method: MethodName;
  /** The service's final comparison against the standard loss: paper row, tuned row, verdict. */
  comparison: FinalComparison | null;
  /** Why there is no comparison (the search found no usable loss). */
  missing?: string;
  formula?: { infix: string; structure: string };
  /** Validation fitness of the loss after partial training (what the search minimised). */
  fitness?: number | null;
  search?: SearchCost;
  ml3?: { steps: number; metaLosses: number[]; metaLr: number; wallMs: number };
  taylorGlo?: {
    phi: number[];
    best: (number | null)[];
    mean: (number | null)[];
    evaluations: number;
    wallMs: number;
  };
  /** Summed wall time of the final runs of the learned loss. */
  finalMs: number;
}

export interface TaskResult {
  task: TaskPlan;
  metric: "error rate" | "mse";
  rows: { train: number; validation: number; test: number };
  sharedLr: number;
  /** The standard loss at its tuned learning rate against itself at the shared one. */
  standardTuned: ComparisonRow;
  /** Summed wall time of the standard loss's runs. */
  standardMs: number;
  methods: MethodResult[];
  /** Wall time of every unit of this task, by kind (for the budget estimates). */
  unitMs: Record<string, number[]>;
}

export interface Results {
  kind: "lossmith.study";
  createdAt: string;
  plan: Plan;
  backend: string;
  workers: number;
  versions: { lossmith: string; deno: string; v8: string };
  /** Per part run: tasks, wall time (units from the cache count as zero), cached units. */
  parts: {
    tasks: string[];
    startedAt: string;
    wallMs: number;
    cachedUnits: number;
    /** Assembled from the unit cache alone, after the study stopped. */
    cachedOnly?: boolean;
  }[];
  tasks: TaskResult[];
}

export interface DriverOptions {
  plan: Plan;
  /** Ids of the tasks to run (default: all). */
  only?: string[];
  /** Leave out the EvoMAL variants with one setting alone (a part of a study run in parts). */
  coreOnly?: boolean;
  /**
   * Compute nothing: build the results from the cached units alone, a method whose units are
   * not all cached reported as not run (what a study stopped short of its end has).
   */
  cachedOnly?: boolean;
  cacheDir: string;
  workers: number;
  backend: "wasm" | "cpu";
  log?: (line: string) => void;
}

/** A unit that a cached-only run does not have. */
class NotRun extends Error {}
const NOT_RUN = "not run: its units were not all computed when the study stopped";

/** FNV-1a over the unit's JSON: a file name for the cache, checked against the content. */
function keyOf(text: string): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    h1 = Math.imul(h1 ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ text.charCodeAt(i), 0x811c9dc5) >>> 0;
  }
  return h1.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0");
}

const modelOf = (t: TaskPlan) => ({ dataset: t.dataset, model: t.model, hidden: t.hidden });

/** The final comparison's settings for a task: the service's, with the plan's protocol. */
export function finalSettingsOf(plan: Plan, task: TaskPlan): FinalSettings {
  const request = requestFor(modelOf(task), task.search, true, [], plan.seed);
  return finalSettingsFor(configFor(modelOf(task), {
    ...request,
    final: {
      steps: plan.finalSteps,
      seeds: plan.seeds,
      tuneLr: true,
      lrGrid: plan.lrGrid,
      lrExtend: plan.lrExtend ?? 0,
      ...((task.selectionSteps ?? plan.selectionSteps) === undefined
        ? {}
        : { selectionSteps: task.selectionSteps ?? plan.selectionSteps }),
    },
  }));
}

export async function runPlan(opts: DriverOptions): Promise<Results> {
  const { plan, log = () => {} } = opts;
  const t0 = performance.now();
  await Deno.mkdir(opts.cacheDir, { recursive: true });
  const pool = await UnitPool.start(opts.workers, opts.backend);
  let cachedUnits = 0;
  let done = 0;
  const inFlight = new Map<string, Promise<UnitResult>>();
  const unitMs = new Map<string, Record<string, number[]>>();
  const run = <T extends UnitResult>(unit: Unit, taskId: string, label: string): Promise<T> => {
    const text = JSON.stringify(unit);
    if (!inFlight.has(text)) inFlight.set(text, compute(unit, text, taskId, label));
    return inFlight.get(text)! as Promise<T>;
  };
  const compute = async (
    unit: Unit,
    text: string,
    taskId: string,
    label: string,
  ): Promise<UnitResult> => {
    const file = `${opts.cacheDir}/${keyOf(text)}.json`;
    // A unit's own time, not counting its wait in the queue.
    const record = (r: UnitResult) => {
      const ms = "totals" in r ? r.totals.wallMs : r.wallMs;
      const byKind = unitMs.get(taskId) ?? {};
      (byKind[unit.kind] ??= []).push(Math.round(ms));
      unitMs.set(taskId, byKind);
    };
    try {
      const stored = JSON.parse(await Deno.readTextFile(file));
      if (JSON.stringify(stored.unit) === text) {
        cachedUnits++;
        record(stored.result);
        return stored.result as UnitResult;
      }
    } catch { /* not cached */ }
    if (opts.cachedOnly) throw new NotRun(label);
    const started = performance.now();
    const result = await pool.run(unit);
    const ms = performance.now() - started;
    record(result);
    await Deno.writeTextFile(file, JSON.stringify({ unit, result }) + "\n");
    log(
      `[${((performance.now() - t0) / 1000).toFixed(0)}s] ${++done} done: ${label} (${
        (ms / 1000).toFixed(1)
      }s)`,
    );
    return result;
  };
  const tasks = plan.tasks.filter((t) => !opts.only || opts.only.includes(t.id));
  try {
    const settled = await Promise.all(tasks.map(async (task): Promise<TaskResult | null> => {
      const model = modelOf(task);
      const settings = finalSettingsOf(plan, task);
      const kind = (await loadDataset({ kind: "bundled", name: task.dataset })).task;
      const trainOf = (loss: LossRef, name: string) => (r: FinalRunRequest) =>
        run<RunResult>(
          {
            kind: "run",
            task: model,
            loss: r.loss === "standard" ? { kind: "standard" } : loss,
            seed: r.seed,
            steps: r.steps,
            lr: r.lr,
            dataSeed: plan.seed,
          },
          task.id,
          `${task.id} ${r.loss === "standard" ? "standard" : name} seed ${r.seed} lr ${r.lr}`,
        );
      const compare = (loss: LossRef, name: string) =>
        evaluateFinalRuns(
          kind,
          settings,
          trainOf(loss, name),
        );
      const learnedMs = async (loss: LossRef, c: FinalComparison) => {
        const lrs = new Set([c.lr.learned, ...(c.tuned ? [c.tuned.lr.learned] : [])]);
        const runs = await Promise.all(
          [...lrs].flatMap((lr) =>
            finalSeeds(settings).map((seed) =>
              trainOf(loss, "")({ loss: "learned", seed, steps: settings.steps, lr })
            )
          ),
        );
        return runs.reduce((a, r) => a + r.wallMs, 0);
      };

      const searchUnit = (localSearch: boolean, variants: Variant[]) =>
        run<SearchResult>(
          {
            kind: "search",
            task: model,
            budget: task.search,
            localSearch,
            variants,
            seed: plan.seed,
          },
          task.id,
          `${task.id} ${localSearch ? "EvoMAL" : "GP-LFL"} search [${variants.join(", ")}]`,
        );
      const notRun = (method: MethodName) => (e: unknown): MethodResult => {
        if (!(e instanceof NotRun)) throw e;
        return { method, comparison: null, missing: NOT_RUN, finalMs: 0 };
      };
      const fromSearch = (method: MethodName, r: Promise<SearchResult>): Promise<MethodResult> =>
        fromSearchOf(method, r).catch(notRun(method));
      const fromSearchOf = async (
        method: MethodName,
        r: Promise<SearchResult>,
      ): Promise<MethodResult> => {
        const s = await r;
        const best = s.losses[0];
        const t = s.totals;
        const search: SearchCost = {
          wallMs: t.wallMs,
          generations: t.generations,
          evaluations: t.evaluations,
          distinct: t.distinctLosses,
          rejected: t.rejected,
          diverged: t.diverged,
          bestPerGeneration: s.generations.map((g) => g.bestFitness),
        };
        if (!best) {
          return {
            method,
            comparison: null,
            missing: "the search found no usable loss",
            search,
            finalMs: 0,
          };
        }
        const loss: LossRef = { kind: "tree", tree: best.tree, phi: best.phi };
        const comparison = await compare(loss, method);
        return {
          method,
          comparison,
          formula: { infix: best.infix, structure: best.structure.infix },
          fitness: best.fitness,
          search,
          finalMs: await learnedMs(loss, comparison),
        };
      };

      const ml3 = (async (): Promise<MethodResult> => {
        const m = await run<MlThreeResult>(
          {
            kind: "ml3",
            task: model,
            budget: task.search,
            metaSteps: task.ml3.metaSteps,
            metaLr: task.ml3.metaLr,
            seed: plan.seed,
          },
          task.id,
          `${task.id} ML3 meta-training`,
        );
        const loss: LossRef = { kind: "ml3", phi: m.phi };
        const comparison = await compare(loss, "ML3");
        return {
          method: "ml3",
          comparison,
          fitness: m.fitness,
          ml3: {
            steps: m.steps,
            metaLosses: m.metaLosses,
            metaLr: task.ml3.metaLr,
            wallMs: m.wallMs,
          },
          finalMs: await learnedMs(loss, comparison),
        };
      })().catch(notRun("ml3"));

      const taylor = (async (): Promise<MethodResult> => {
        const g = await run<TaylorGloResult>(
          {
            kind: "taylorglo",
            task: model,
            budget: task.search,
            ...task.taylorGlo,
            seed: plan.seed,
          },
          task.id,
          `${task.id} TaylorGLO CMA-ES`,
        );
        const loss: LossRef = { kind: "taylorglo", phi: g.phi };
        const comparison = await compare(loss, "TaylorGLO");
        return {
          method: "taylorglo",
          comparison,
          fitness: g.fitness,
          taylorGlo: {
            phi: g.phi,
            best: g.best,
            mean: g.mean,
            evaluations: g.evaluations,
            wallMs: g.wallMs,
          },
          finalMs: await learnedMs(loss, comparison),
        };
      })().catch(notRun("taylorglo"));

      // Searches first: their final runs queue behind the standard loss's.
      const methodsP = Promise.all([
        fromSearch("gp-lfl", searchUnit(false, [])),
        ...evomalMethods(task)
          .filter((m) => !opts.coreOnly || m.variants.length !== 1)
          .map((m) => fromSearch(m.method, searchUnit(true, m.variants))),
        ml3,
        taylor,
      ]);
      // The standard loss as the "learned" one: its runs are the standard runs themselves, so
      // this costs nothing more and gives its tuned learning rate and its curves.
      const standard = await compare({ kind: "standard" }, "standard").catch((e) => {
        if (!(e instanceof NotRun)) throw e;
        return null;
      });
      if (!standard) {
        await methodsP;
        return null;
      }
      const tunedLr = standard.tuned?.lr.standard ?? settings.inner.lr;
      const seeds = finalSeeds(settings);
      const stdRuns = (lr: number) =>
        Promise.all(
          seeds.map((seed) =>
            trainOf({ kind: "standard" }, "standard")({
              loss: "standard",
              seed,
              steps: settings.steps,
              lr,
            })
          ),
        );
      const [atTuned, atShared] = await Promise.all([stdRuns(tunedLr), stdRuns(settings.inner.lr)]);
      const standardTuned = combineRow(
        settings,
        { learned: tunedLr, standard: settings.inner.lr },
        seeds.map((seed, i) => ({ seed, learned: atTuned[i], standard: atShared[i] })),
      );
      const methods = await methodsP;
      const config = configFor(model);
      const split = prepare(
        await loadDataset({ kind: "bundled", name: task.dataset }),
        plan.seed,
        config.split,
        config.preprocessing,
      );
      const stdMs = new Set([...atTuned, ...atShared]);
      return {
        task,
        metric: standard.metric,
        rows: { train: split.train.n, validation: split.validation.n, test: split.test.n },
        sharedLr: settings.inner.lr,
        standardTuned,
        standardMs: [...stdMs].reduce((a, r) => a + r.wallMs, 0),
        methods,
        unitMs: unitMs.get(task.id) ?? {},
      };
    }));
    return {
      kind: "lossmith.study",
      createdAt: new Date().toISOString(),
      plan,
      backend: pool.backend,
      workers: opts.workers,
      versions: { lossmith: LOSSMITH_VERSION, deno: Deno.version.deno, v8: Deno.version.v8 },
      parts: [{
        tasks: tasks.map((t) => t.id),
        startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
        wallMs: performance.now() - t0,
        cachedUnits,
        ...(opts.cachedOnly ? { cachedOnly: true } : {}),
      }],
      tasks: settled.filter((t): t is TaskResult => t !== null),
    };
  } finally {
    pool.close();
  }
}

/** An earlier part's results with this part's tasks put in (plan order), for runs in parts. */
export function mergeResults(previous: Results | null, part: Results): Results {
  if (!previous || previous.kind !== part.kind || previous.plan.name !== part.plan.name) {
    return part;
  }
  const ran = new Set(part.tasks.map((t) => t.task.id));
  const tasks = [...previous.tasks.filter((t) => !ran.has(t.task.id)), ...part.tasks];
  const order = part.plan.tasks.map((t) => t.id);
  tasks.sort((a, b) => order.indexOf(a.task.id) - order.indexOf(b.task.id));
  // An earlier part is kept while a task it ran is still in the results.
  const kept = previous.parts.filter((p) => p.tasks.some((id) => !ran.has(id)));
  return { ...part, parts: [...kept, ...part.parts], tasks };
}
