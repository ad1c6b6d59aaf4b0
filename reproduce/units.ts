/**
 * The units of work of the study, each a pure function of plain data: a search (GP-LFL or an
 * EvoMAL variant), ML3's meta-training, TaylorGLO's CMA-ES search, and one training run of the
 * final comparison (core/final.ts's FinalRunRequest) for one loss. A unit's result depends only
 * on its description (and the backend), never on which worker ran it or when, so units run in
 * any order on any worker and are cached by their description. A run of the standard loss does
 * not name the method it is compared with, so every method of a task shares the same runs.
 */
import { tf } from "../engine/tensor/tf.ts";
import { loadDataset, prepare, type PreparedData } from "../core/prepare.ts";
import { type SearchConfig, searchConfig } from "../core/search.ts";
import type { SettingsPatch } from "../core/settings.ts";
import { InProcessRunner } from "../engine/runner.ts";
import { searchAndEvaluate } from "../core/pipeline.ts";
import { LOSSMITH_VERSION, type SearchResult } from "../core/result.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { ml3InitialPhi, ml3Loss } from "../engine/ml3.ts";
import { TAYLORGLO_START, taylorGloLoss } from "../engine/taylorglo.ts";
import { compileLoss } from "../engine/metaloss.ts";
import type { ModelSpec } from "../engine/models.ts";
import { standardLoss } from "../engine/train.ts";
import { trainFromScratch } from "../engine/final_runs.ts";
import { curveEveryFor, type FinalRun } from "../core/final.ts";
import type { Tree } from "../core/expr/tree.ts";
import { Cmaes } from "../core/cmaes.ts";
import type { SearchBudget, TaskModel, Variant } from "./plan.ts";
import { MODEL_KINDS, modelSpecFor } from "../core/model_kinds.ts";

/** The loss a training run uses. */
export type LossRef =
  | { kind: "standard" }
  | { kind: "tree"; tree: Tree; phi: number[] }
  | { kind: "ml3"; phi: number[] }
  | { kind: "taylorglo"; phi: number[] };

export type Unit =
  | {
    kind: "search";
    task: TaskModel;
    budget: SearchBudget;
    localSearch: boolean;
    variants: Variant[];
    seed: number;
  }
  | {
    kind: "ml3";
    task: TaskModel;
    budget: SearchBudget;
    metaSteps: number;
    metaLr: number;
    seed: number;
  }
  | {
    kind: "taylorglo";
    task: TaskModel;
    budget: SearchBudget;
    generations: number;
    lambda: number;
    sigma: number;
    seed: number;
  }
  | {
    kind: "run";
    task: TaskModel;
    loss: LossRef;
    /** The run: core/final.ts's FinalRunRequest without the learned/standard label. */
    seed: number;
    steps: number;
    lr: number;
    dataSeed: number;
  };

export interface MlThreeResult {
  phi: number[];
  /** The meta-training curve: the unrolled validation task loss of each meta-step. */
  metaLosses: number[];
  steps: number;
  /** Validation metric after the same partial training that gives EvoMAL's fitness. */
  fitness: number | null;
  wallMs: number;
}

export interface TaylorGloResult {
  phi: number[];
  /** Validation metric of the best loss found. */
  fitness: number | null;
  /** Best and mean finite fitness of each generation. */
  best: (number | null)[];
  mean: (number | null)[];
  evaluations: number;
  wallMs: number;
}

export interface RunResult extends FinalRun {
  wallMs: number;
}

export type UnitResult = SearchResult | MlThreeResult | TaylorGloResult | RunResult;

/**
 * The request that a task's search (or its settings alone) resolves from. Every setting of item 3
 * is given, on or off, so that "as published" means the same whatever the service's defaults are.
 */
export function requestFor(
  task: TaskModel,
  budget: SearchBudget,
  localSearch: boolean,
  variants: readonly Variant[],
  seed: number,
  metaLr?: number,
): SettingsPatch {
  const has = (v: Variant) => variants.includes(v);
  return {
    model: {
      kind: task.model,
      ...(MODEL_KINDS[task.model].hasHidden ? { hidden: task.hidden } : {}),
    },
    budget: { population: budget.population, generations: budget.generations },
    evaluation: {
      localSearch: {
        enabled: localSearch,
        metaSteps: budget.metaSteps,
        ...(metaLr === undefined ? {} : { metaLr }),
      },
      fitnessSteps: budget.fitnessSteps,
      multiFidelity: has("multi-fidelity")
        ? { enabled: true, maxSteps: budget.rungMaxSteps }
        : { enabled: false },
      normalizeScale: has("normalize-scale"),
      tieBreak: has("tie-break"),
      folds: { belowRows: has("folds") ? budget.foldsBelow : 0 },
    },
    final: { seeds: 0 },
    seed,
  };
}

/** A search's configuration, resolved as any request is: the dataset's preset, then this. */
export function configFor(
  task: TaskModel,
  request: SettingsPatch = requestFor(task, NO_SEARCH, true, [], 1),
): SearchConfig {
  return searchConfig({ kind: "bundled", name: task.dataset }, { request });
}

/** The budget of a configuration used only for its training settings. */
const NO_SEARCH: SearchBudget = {
  population: 1,
  generations: 1,
  metaSteps: 1,
  fitnessSteps: 1,
  rungMaxSteps: 1,
  foldsBelow: 0,
};

/** One split per dataset and data seed, as every search and training of a task sees it. */
const prepared = new Map<string, PreparedData>();
async function dataFor(task: TaskModel, seed: number): Promise<PreparedData> {
  const key = `${task.dataset}/${seed}`;
  if (!prepared.has(key)) {
    const config = configFor(task);
    prepared.set(
      key,
      prepare(
        await loadDataset({ kind: "bundled", name: task.dataset }),
        seed,
        config.split,
        config.preprocessing,
      ),
    );
  }
  return prepared.get(key)!;
}

export function specFor(task: TaskModel, data: PreparedData): ModelSpec {
  return modelSpecFor({ kind: task.model, hidden: task.hidden }, data);
}

async function search(unit: Extract<Unit, { kind: "search" }>): Promise<SearchResult> {
  const data = await dataFor(unit.task, unit.seed);
  const config = configFor(
    unit.task,
    requestFor(unit.task, unit.budget, unit.localSearch, unit.variants, unit.seed),
  );
  const runner = new InProcessRunner(data, {
    model: specFor(unit.task, data),
    evaluation: config.evaluation,
    seed: unit.seed,
  });
  try {
    const { result } = await searchAndEvaluate(config, data, {
      runner,
      finalRuns: () => Promise.reject(new Error("final runs are separate units")),
      backend: { name: tf.getBackend(), workers: 1 },
      versions: {
        lossmith: LOSSMITH_VERSION,
        deno: Deno.version.deno,
        v8: Deno.version.v8,
        typescript: Deno.version.typescript,
        tfjs: tf.version.tfjs,
      },
    });
    return result;
  } finally {
    await runner.close();
  }
}

async function evaluatorFor(
  task: TaskModel,
  budget: SearchBudget,
  seed: number,
  metaLr?: number,
): Promise<CandidateEvaluator> {
  const data = await dataFor(task, seed);
  const config = configFor(task, requestFor(task, budget, true, [], seed, metaLr));
  return new CandidateEvaluator(data, specFor(task, data), config.evaluation, seed);
}

/** ML3: its loss network tuned by the same unrolled-differentiation loop as EvoMAL's weights. */
async function metaTrainMl3(unit: Extract<Unit, { kind: "ml3" }>): Promise<MlThreeResult> {
  const t0 = performance.now();
  const data = await dataFor(unit.task, unit.seed);
  const ev = await evaluatorFor(unit.task, unit.budget, unit.seed, unit.metaLr);
  try {
    const loss = ml3Loss(data.task);
    const local = await ev.localSearchOf(loss, ml3InitialPhi(unit.seed), unit.metaSteps);
    const fit = await ev.fitnessOf(loss, local.phi);
    return {
      phi: local.phi,
      metaLosses: local.metaLosses,
      steps: local.steps,
      fitness: fit.diverged ? null : fit.fitness,
      wallMs: performance.now() - t0,
    };
  } finally {
    ev.dispose();
  }
}

/**
 * TaylorGLO: CMA-ES (core/cmaes.ts) over the eight parameters of the Taylor-polynomial loss,
 * each point's fitness the validation metric after the same partial training as EvoMAL's
 * fitness (diverged: worst). Starts from the polynomial of squared error.
 */
async function searchTaylorGlo(
  unit: Extract<Unit, { kind: "taylorglo" }>,
): Promise<TaylorGloResult> {
  const t0 = performance.now();
  const data = await dataFor(unit.task, unit.seed);
  const ev = await evaluatorFor(unit.task, unit.budget, unit.seed);
  const loss = taylorGloLoss(data.task);
  try {
    const es = new Cmaes({
      mean: TAYLORGLO_START,
      sigma: unit.sigma,
      lambda: unit.lambda,
      seed: unit.seed,
    });
    let best: { phi: number[]; fitness: number } | null = null;
    const bests: (number | null)[] = [];
    const means: (number | null)[] = [];
    let evaluations = 0;
    for (let g = 0; g < unit.generations; g++) {
      const points = es.ask();
      const fitness: number[] = [];
      for (const phi of points) {
        const r = await ev.fitnessOf(loss, phi);
        evaluations++;
        const f = r.diverged || !Number.isFinite(r.fitness) ? Infinity : r.fitness;
        fitness.push(f);
        if (Number.isFinite(f) && (best === null || f < best.fitness)) best = { phi, fitness: f };
      }
      const ok = fitness.filter(Number.isFinite);
      bests.push(ok.length ? Math.min(...ok) : null);
      means.push(ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null);
      es.tell(fitness);
    }
    return {
      phi: best?.phi ?? TAYLORGLO_START,
      fitness: best?.fitness ?? null,
      best: bests,
      mean: means,
      evaluations,
      wallMs: performance.now() - t0,
    };
  } finally {
    ev.dispose();
  }
}

/**
 * One run of the final comparison under one loss, as the service's final runs train it
 * (engine/final_runs.ts): the seed's initial weights and batches, the dataset's optimiser at the
 * run's learning rate, test and validation metrics and the test curve.
 */
async function trainRun(unit: Extract<Unit, { kind: "run" }>): Promise<RunResult> {
  const t0 = performance.now();
  const data = await dataFor(unit.task, unit.dataSeed);
  const settings = configFor(unit.task).evaluation;
  const ref = unit.loss;
  const loss = ref.kind === "standard"
    ? standardLoss(data.task)
    : ref.kind === "tree"
    ? compileLoss(ref.tree, data.task)
    : ref.kind === "ml3"
    ? ml3Loss(data.task)
    : taylorGloLoss(data.task);
  const run = await trainFromScratch(
    data,
    specFor(unit.task, data),
    loss,
    ref.kind === "standard" ? [1] : ref.phi,
    {
      seed: unit.seed,
      steps: unit.steps,
      inner: { ...settings.inner, lr: unit.lr },
      batchSize: settings.batchSize,
      curveEvery: curveEveryFor(unit.steps),
    },
  );
  return { ...run, wallMs: performance.now() - t0 };
}

export function runUnit(unit: Unit): Promise<UnitResult> {
  switch (unit.kind) {
    case "search":
      return search(unit);
    case "ml3":
      return metaTrainMl3(unit);
    case "taylorglo":
      return searchTaylorGlo(unit);
    case "run":
      return trainRun(unit);
  }
}
