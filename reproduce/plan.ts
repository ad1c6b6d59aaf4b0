/**
 * What `deno task reproduce` runs: the paper's tasks and methods at budgets sized for a 2-core
 * machine, and the published budgets for a GPU host. Everything a result depends on is in these
 * plain objects, so a cached run can be matched to the plan that produced it.
 */
import type { BundledName } from "../core/data/mod.ts";
import { MODEL_KINDS, type ModelKind } from "../core/model_kinds.ts";

export type MethodName = "standard" | "gp-lfl" | "evomal" | "ml3";
export const METHODS: readonly MethodName[] = ["standard", "gp-lfl", "evomal", "ml3"];
export const METHOD_LABELS: Record<MethodName, string> = {
  standard: "Standard loss",
  "gp-lfl": "GP-LFL",
  evomal: "EvoMAL",
  ml3: "ML3",
};

export interface TaskPlan {
  /** File-name safe id, e.g. "mnist-mlp". */
  id: string;
  dataset: BundledName;
  model: ModelKind;
  hidden: number[];
  population: number;
  generations: number;
  /** Local-search meta-steps per candidate; ML3 gets the same number (same loop, same Adam). */
  metaSteps: number;
  fitnessSteps: number;
  /** SGD steps of each final training from scratch. */
  finalSteps: number;
}

export interface SampleEfficiencyPlan {
  task: string;
  fractions: number[];
}

export interface Plan {
  name: "default" | "quick" | "tiny" | "paper";
  tasks: TaskPlan[];
  /** Final-evaluation seeds per method and task. */
  seeds: number;
  /** Seed of the data split, the searches and ML3. */
  seed: number;
  sampleEfficiency?: SampleEfficiencyPlan;
}

function task(
  dataset: BundledName,
  model: ModelKind,
  budget: Omit<TaskPlan, "id" | "dataset" | "model" | "hidden">,
): TaskPlan {
  return {
    id: `${dataset}-${model}`,
    dataset,
    model,
    hidden: MODEL_KINDS[model].hasHidden ? [100] : [],
    ...budget,
  };
}

/**
 * The default budget, measured on this project's 2-core machine (wasm backend, see
 * docs/reproduction.md for the timings): about 40 minutes in all with two workers. LeNet-5 costs
 * about 70 ms per SGD step and 190 ms per meta-step there, so it gets the smallest search.
 */
export const DEFAULT_PLAN: Plan = {
  name: "default",
  seed: 1,
  seeds: 5,
  tasks: [
    task("mnist", "linear", {
      population: 12,
      generations: 8,
      metaSteps: 50,
      fitnessSteps: 200,
      finalSteps: 2000,
    }),
    task("mnist", "mlp", {
      population: 12,
      generations: 8,
      metaSteps: 50,
      fitnessSteps: 200,
      finalSteps: 2000,
    }),
    task("mnist", "lenet5", {
      population: 8,
      generations: 4,
      metaSteps: 10,
      fitnessSteps: 50,
      finalSteps: 500,
    }),
    task("boston", "mlp", {
      population: 12,
      generations: 8,
      metaSteps: 50,
      fitnessSteps: 200,
      finalSteps: 2000,
    }),
    task("iris", "mlp", {
      population: 12,
      generations: 8,
      metaSteps: 50,
      fitnessSteps: 200,
      finalSteps: 2000,
    }),
  ],
  sampleEfficiency: { task: "mnist-mlp", fractions: [0.1, 0.3, 1] },
};

/** Every task at a few minutes' budget, to try the pipeline. */
export const QUICK_PLAN: Plan = {
  name: "quick",
  seed: 1,
  seeds: 5,
  tasks: DEFAULT_PLAN.tasks.map((t) => ({
    ...t,
    population: 4,
    generations: 2,
    metaSteps: 5,
    fitnessSteps: 20,
    finalSteps: t.model === "lenet5" ? 40 : 200,
  })),
  sampleEfficiency: { task: "mnist-mlp", fractions: [0.1, 0.3, 1] },
};

/** Iris only, seconds: the end-to-end test. */
export const TINY_PLAN: Plan = {
  name: "tiny",
  seed: 1,
  seeds: 2,
  tasks: [
    task("iris", "mlp", {
      population: 3,
      generations: 2,
      metaSteps: 3,
      fitnessSteps: 20,
      finalSteps: 60,
    }),
  ],
  sampleEfficiency: { task: "iris-mlp", fractions: [0.5, 1] },
};

/** The published budget (method.md), for a GPU host: days on this machine. */
export const PAPER_PLAN: Plan = {
  name: "paper",
  seed: 1,
  seeds: 5,
  tasks: DEFAULT_PLAN.tasks.map((t) => ({
    ...t,
    population: 25,
    generations: 50,
    metaSteps: 250,
    fitnessSteps: 500,
    finalSteps: 10_000,
  })),
  sampleEfficiency: { task: "mnist-mlp", fractions: [0.1, 0.3, 0.5, 1] },
};

export const PLANS = {
  default: DEFAULT_PLAN,
  quick: QUICK_PLAN,
  tiny: TINY_PLAN,
  paper: PAPER_PLAN,
} as const;
