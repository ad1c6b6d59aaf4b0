/**
 * What `deno task reproduce` runs: the study of issue 10 (docs/reproduction.md). Every task's
 * methods (standard loss, GP-LFL, EvoMAL as published and with the search-objective settings,
 * ML3, TaylorGLO) are searched or meta-trained at a budget sized for a 2-core machine, then each
 * learned loss goes through the service's own final comparison (core/final.ts via
 * core/pipeline.ts evaluateFinalRuns): the paper's row at the shared learning rate and the tuned
 * row, each loss at its own best rate from the validation split, paired over the same seeds.
 * Everything a result depends on is in these plain objects, so cached units can be matched.
 */
import type { BundledName } from "../core/data/mod.ts";
import { MODEL_KINDS, type ModelKind } from "../core/model_kinds.ts";

/** EvoMAL's search-objective settings (issue 10, item 3), alone and together. */
export type Variant = "multi-fidelity" | "normalize-scale" | "tie-break" | "folds";
export const VARIANTS: readonly Variant[] = [
  "multi-fidelity",
  "normalize-scale",
  "tie-break",
  "folds",
];

export type MethodName =
  | "standard"
  | "gp-lfl"
  | "evomal"
  | "evomal-all"
  | `evomal-${Variant}`
  | "ml3"
  | "taylorglo";

export const METHOD_LABELS: Record<MethodName, string> = {
  standard: "Standard loss",
  "gp-lfl": "GP-LFL",
  evomal: "EvoMAL (published)",
  "evomal-all": "EvoMAL + all of item 3",
  "evomal-multi-fidelity": "EvoMAL + multi-fidelity",
  "evomal-normalize-scale": "EvoMAL + scale-fair",
  "evomal-tie-break": "EvoMAL + tie-break",
  "evomal-folds": "EvoMAL + k-fold",
  ml3: "ML3",
  taylorglo: "TaylorGLO",
};

/** The model and data a task trains: what a training run depends on besides its loss. */
export interface TaskModel {
  dataset: BundledName;
  model: ModelKind;
  hidden: number[];
}

export interface SearchBudget {
  population: number;
  generations: number;
  /** Local-search meta-steps per candidate (EvoMAL). */
  metaSteps: number;
  fitnessSteps: number;
  /** Multi-fidelity's top rung (training steps). */
  rungMaxSteps: number;
  /** Validation splits below this many rows use k-fold fitness (the `folds` variant). */
  foldsBelow: number;
}

export interface TaskPlan extends TaskModel {
  /** File-name safe id, e.g. "mnist-mlp". */
  id: string;
  search: SearchBudget;
  /** EvoMAL variants run on this task, besides the published one and all together. */
  variants: Variant[];
  ml3: { metaSteps: number; metaLr: number };
  taylorGlo: { generations: number; lambda: number; sigma: number };
  /** Steps of this task's learning-rate trials, where they differ from the plan's. */
  selectionSteps?: number;
}

export interface Plan {
  name: "study" | "quick" | "tiny" | "paper";
  tasks: TaskPlan[];
  /** Final-comparison seeds (the same initialisation and batches for every loss of a seed). */
  seeds: number;
  /** Training steps of every final run. */
  finalSteps: number;
  /** Steps of a learning-rate trial (absent: finalSteps, the full length). */
  selectionSteps?: number;
  lrGrid: number[];
  /** Rounds that extend the grid past its edge (`final.lrExtend`; absent in older results: 0). */
  lrExtend?: number;
  /** Seed of the data split, the searches and the meta-training. */
  seed: number;
}

function task(
  dataset: BundledName,
  model: ModelKind,
  rest: Omit<TaskPlan, "id" | "dataset" | "model" | "hidden">,
): TaskPlan {
  return {
    id: `${dataset}-${model}`,
    dataset,
    model,
    hidden: MODEL_KINDS[model].hasHidden ? [100] : [],
    ...rest,
  };
}

/**
 * Every task's search at the service's default budget (the `quick` profile a request without a
 * budget gets, core/settings.ts, with the 10,000-step final length): what a user of the service
 * gets, about a thirteenth of the published search. Multi-fidelity's top rung is that final length,
 * as the service's default; k-fold applies below 200 validation rows.
 */
const DEFAULT_SEARCH: SearchBudget = {
  population: 12,
  generations: 8,
  metaSteps: 250,
  fitnessSteps: 500,
  rungMaxSteps: 10_000,
  foldsBelow: 200,
};

/**
 * The settings alone that can change a task's search: the tie-breaker acts only on equal fitness
 * (never where the metric is continuous, MSE), k-fold only below `foldsBelow` validation rows.
 */
const CONTINUOUS_METRIC_VARIANTS = VARIANTS.filter((v) => v !== "tie-break");
const LARGE_SPLIT_VARIANTS = VARIANTS.filter((v) => v !== "folds");

/**
 * The study's budget, sized for this project's 2-core machine: 39 minutes of wall time on two wasm
 * workers near idle, the final runs and trials at the full length being most of it (unit times in
 * docs/reproduction.md). The final protocol is the paper's: 10,000 steps, 6 seeds (the
 * signed-rank test needs 6), every loss also at its own learning rate. The searches are far below
 * the published budget (PAPER_PLAN). LeNet-5 is left out: at about 70 ms a step here its final
 * comparisons alone would take hours. Every task has the same budgets; only the settings that can
 * act on it alone differ.
 */
const STUDY_BUDGETS = {
  search: DEFAULT_SEARCH,
  ml3: { metaSteps: 1000, metaLr: 0.01 },
  taylorGlo: { generations: 6, lambda: 10, sigma: 0.5 },
};

export const STUDY_PLAN: Plan = {
  name: "study",
  seed: 1,
  seeds: 6,
  finalSteps: 10_000,
  lrGrid: [0.001, 0.003, 0.01, 0.03, 0.1],
  lrExtend: 2,
  tasks: [
    task("mnist", "linear", { ...STUDY_BUDGETS, variants: LARGE_SPLIT_VARIANTS }),
    task("mnist", "mlp", { ...STUDY_BUDGETS, variants: LARGE_SPLIT_VARIANTS }),
    task("boston", "mlp", { ...STUDY_BUDGETS, variants: CONTINUOUS_METRIC_VARIANTS }),
    task("iris", "mlp", { ...STUDY_BUDGETS, variants: [...VARIANTS] }),
    task("spam", "linear", { ...STUDY_BUDGETS, variants: LARGE_SPLIT_VARIANTS }),
  ],
};

/** Every task at a few minutes' budget, to try the pipeline (not a result). */
export const QUICK_PLAN: Plan = {
  ...STUDY_PLAN,
  name: "quick",
  finalSteps: 500,
  tasks: STUDY_PLAN.tasks.map((t) => ({
    ...t,
    search: { ...t.search, population: 4, generations: 2, metaSteps: 5, fitnessSteps: 20 },
    ml3: { ...t.ml3, metaSteps: 10 },
    taylorGlo: { ...t.taylorGlo, generations: 2 },
  })),
};

/** Iris only, seconds: the end-to-end test. */
export const TINY_PLAN: Plan = {
  name: "tiny",
  seed: 1,
  seeds: 2,
  finalSteps: 60,
  lrGrid: [0.003, 0.03],
  tasks: [
    task("iris", "mlp", {
      search: {
        ...DEFAULT_SEARCH,
        population: 3,
        generations: 2,
        metaSteps: 2,
        fitnessSteps: 20,
        rungMaxSteps: 3200,
      },
      variants: ["tie-break"],
      ml3: { metaSteps: 3, metaLr: 0.01 },
      taylorGlo: { generations: 2, lambda: 4, sigma: 0.5 },
    }),
  ],
};

/** The published budgets (method.md), for a bigger host: days on this machine. */
export const PAPER_PLAN: Plan = {
  ...STUDY_PLAN,
  name: "paper",
  tasks: STUDY_PLAN.tasks.map((t) => ({
    ...t,
    search: {
      ...t.search,
      population: 25,
      generations: 50,
      metaSteps: 250,
      fitnessSteps: 500,
      rungMaxSteps: 10_000,
    },
    variants: [...VARIANTS],
    selectionSteps: undefined,
    ml3: { metaSteps: 1000, metaLr: 0.001 },
    taylorGlo: { generations: 50, lambda: 20, sigma: 1.2 },
  })),
};

export const PLANS = {
  study: STUDY_PLAN,
  quick: QUICK_PLAN,
  tiny: TINY_PLAN,
  paper: PAPER_PLAN,
} as const;

/** The EvoMAL-family methods of a task, with the settings each adds. */
export function evomalMethods(t: TaskPlan): { method: MethodName; variants: Variant[] }[] {
  return [
    { method: "evomal", variants: [] },
    { method: "evomal-all", variants: [...VARIANTS] },
    ...t.variants.map((v) => ({ method: `evomal-${v}` as MethodName, variants: [v] })),
  ];
}
