/**
 * The units of work of a reproduction, each a pure function of plain data: a search (GP-LFL or
 * EvoMAL), ML3's meta-training, and one training from scratch of one loss for one seed. A unit's
 * result depends only on its description (and the backend), never on which worker ran it or
 * when, so units can run in any order on any worker and be cached by their description.
 */
import { tf } from "../engine/tensor/tf.ts";
import { loadDataset, prepare, type PreparedData } from "../core/prepare.ts";
import { type SearchConfig, searchConfig } from "../core/search.ts";
import type { EvaluationSettings } from "../core/settings.ts";
import { InProcessRunner } from "../engine/runner.ts";
import { searchAndEvaluate } from "../core/pipeline.ts";
import { LOSSMITH_VERSION, type SearchResult } from "../core/result.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { ml3InitialPhi, ml3Loss } from "../engine/ml3.ts";
import { compileLoss } from "../engine/metaloss.ts";
import type { ModelSpec } from "../engine/models.ts";
import { standardLoss } from "../engine/train.ts";
import { trainFromScratch } from "../engine/final_runs.ts";
import type { LabeledRows } from "../engine/batches.ts";
import { curveEveryFor } from "../core/final.ts";
import type { Tree } from "../core/expr/tree.ts";
import { Rng } from "../core/rng.ts";
import type { TaskPlan } from "./plan.ts";
import { MODEL_KINDS, modelSpecFor } from "../core/model_kinds.ts";

/** The loss a training unit uses. */
export type LossRef =
  | { kind: "standard" }
  | { kind: "tree"; tree: Tree; phi: number[] }
  | { kind: "ml3"; phi: number[] };

export type Unit =
  | { kind: "search"; task: TaskPlan; localSearch: boolean; seed: number }
  | { kind: "ml3"; task: TaskPlan; seed: number }
  | {
    kind: "train";
    task: TaskPlan;
    loss: LossRef;
    seed: number;
    fraction: number;
    dataSeed: number;
  };

export interface MlThreeResult {
  phi: number[];
  metaLosses: number[];
  steps: number;
  /** Validation metric after the same partial training that gives EvoMAL's fitness. */
  fitness: number | null;
  wallMs: number;
}

export interface TrainResult {
  /** Test metric (error rate, or MSE in the target's original units); null when diverged. */
  value: number | null;
  curve: number[];
  curveEvery: number;
  trainRows: number;
  wallMs: number;
}

export type UnitResult = SearchResult | MlThreeResult | TrainResult;

/** One split per dataset and data seed, as every search and training of a task sees it. */
const prepared = new Map<string, PreparedData>();
async function dataFor(task: TaskPlan, seed: number): Promise<PreparedData> {
  const key = `${task.dataset}/${seed}`;
  if (!prepared.has(key)) {
    prepared.set(key, prepare(await loadDataset({ kind: "bundled", name: task.dataset }), seed));
  }
  return prepared.get(key)!;
}

export function specFor(task: TaskPlan, data: PreparedData): ModelSpec {
  return modelSpecFor({ kind: task.model, hidden: task.hidden }, data);
}

/**
 * The search of a plan's task, resolved as any request is: the dataset's published settings
 * (plain SGD for MNIST), then the plan's budget. Final evaluation runs as separate units, shared
 * by all methods (see driver.ts).
 */
export function searchConfigFor(task: TaskPlan, localSearch: boolean, seed: number): SearchConfig {
  return searchConfig({ kind: "bundled", name: task.dataset }, {
    request: {
      model: {
        kind: task.model,
        ...(MODEL_KINDS[task.model].hasHidden ? { hidden: task.hidden } : {}),
      },
      budget: { population: task.population, generations: task.generations },
      evaluation: {
        localSearch: { enabled: localSearch, metaSteps: task.metaSteps },
        fitnessSteps: task.fitnessSteps,
      },
      final: { steps: task.finalSteps, seeds: 0 },
      seed,
    },
  });
}

/** The evaluation settings of a plan's task. */
export function evaluationFor(task: TaskPlan, localSearch: boolean): EvaluationSettings {
  return searchConfigFor(task, localSearch, 1).evaluation;
}

async function search(unit: Extract<Unit, { kind: "search" }>): Promise<SearchResult> {
  const data = await dataFor(unit.task, unit.seed);
  const config = searchConfigFor(unit.task, unit.localSearch, unit.seed);
  const spec = specFor(unit.task, data);
  const runner = new InProcessRunner(data, {
    model: spec,
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

async function metaTrainMl3(unit: Extract<Unit, { kind: "ml3" }>): Promise<MlThreeResult> {
  const t0 = performance.now();
  const data = await dataFor(unit.task, unit.seed);
  const ev = new CandidateEvaluator(
    data,
    specFor(unit.task, data),
    evaluationFor(unit.task, true),
    unit.seed,
  );
  try {
    const loss = ml3Loss(data.task);
    const local = await ev.localSearchOf(loss, ml3InitialPhi(unit.seed));
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

/** The first `fraction` of the training rows in a seeded random order (all when fraction 1). */
function subsetOf(rows: LabeledRows, fraction: number, seed: number): LabeledRows {
  if (fraction >= 1) return rows;
  const n = Math.max(1, Math.round(rows.n * fraction));
  const order = Array.from({ length: rows.n }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const x = new Float32Array(n * rows.d);
  const y = new Float32Array(n);
  order.slice(0, n).forEach((r, i) => {
    x.set(rows.x.subarray(r * rows.d, (r + 1) * rows.d), i * rows.d);
    y[i] = rows.y[r];
  });
  return { x, y, n, d: rows.d };
}

/**
 * One training from scratch under one loss, as the final comparison trains each of its runs
 * (engine/final_runs.ts: same initialisation, batches, curve and reported units for a seed), so
 * that the standard loss is trained once per seed and shared by every method's comparison, and
 * ML3 goes through the same code as the symbolic losses.
 */
async function trainUnit(unit: Extract<Unit, { kind: "train" }>): Promise<TrainResult> {
  const t0 = performance.now();
  const data = await dataFor(unit.task, unit.dataSeed);
  const spec = specFor(unit.task, data);
  const settings = evaluationFor(unit.task, true);
  const trainRows = subsetOf(data.train, unit.fraction, unit.seed);
  const ref = unit.loss;
  const loss = ref.kind === "standard"
    ? standardLoss(data.task)
    : ref.kind === "tree"
    ? compileLoss(ref.tree, data.task)
    : ml3Loss(data.task);
  const curveEvery = curveEveryFor(unit.task.finalSteps);
  const run = await trainFromScratch(
    { ...data, train: trainRows, validation: undefined },
    spec,
    loss,
    ref.kind === "standard" ? [1] : ref.phi,
    {
      seed: unit.seed,
      steps: unit.task.finalSteps,
      inner: settings.inner,
      batchSize: settings.batchSize,
      curveEvery,
    },
  );
  return {
    value: run.value,
    curve: run.curve,
    curveEvery,
    trainRows: trainRows.n,
    wallMs: performance.now() - t0,
  };
}

export function runUnit(unit: Unit): Promise<UnitResult> {
  switch (unit.kind) {
    case "search":
      return search(unit);
    case "ml3":
      return metaTrainMl3(unit);
    case "train":
      return trainUnit(unit);
  }
}
