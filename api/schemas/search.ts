/**
 * Schemas of searches. The request's defaults and descriptions follow method.md; the maxima of
 * the budget are the operator's limits, so the document always states the limits in force.
 */
import type { SchemaObject } from "openapi3-ts/oas31";
import type { Limits } from "../../service/config.ts";
import { limitOf } from "../../service/search_request.ts";
import { DEFAULT_PROFILE, PROFILE_NAMES, PROFILES } from "../../core/settings.ts";
import { settingsPatchSchema, settingsSchema } from "../../core/settings_schema.ts";
import { BUNDLED_NAMES } from "../../core/data/mod.ts";
import { JOB_STATES } from "../../store/types.ts";
import { ref } from "./common.ts";

/** The request: the dataset, a task and a profile, and a partial of every setting. */
export function searchRequest(limits: Limits): SchemaObject {
  const settings = settingsPatchSchema(limitOf(limits)) as SchemaObject;
  return {
    type: "object",
    additionalProperties: false,
    required: ["dataset"],
    description: "What to search on, and any settings that differ from the profile's. Every " +
      "setting is listed in docs/settings.md; the CLI's flags name the same settings.",
    properties: {
      dataset: {
        type: "string",
        minLength: 1,
        description: `A bundled dataset (${BUNDLED_NAMES.join(", ")}) or the id of an upload.`,
        examples: ["iris"],
      },
      task: {
        type: "string",
        enum: ["classification", "regression"],
        description: "Inferred from the dataset when absent.",
      },
      profile: {
        type: "string",
        enum: [...PROFILE_NAMES],
        default: DEFAULT_PROFILE,
        description: PROFILE_NAMES.map((p) => `\`${p}\`: ${PROFILES[p].description}`).join(
          "; ",
        ) + ". Settings in the request override the profile's.",
      },
      ...settings.properties,
    },
  };
}

/** Every setting a search runs with, and its dataset by id. */
function publicConfigSchema(): SchemaObject {
  const settings = settingsSchema() as SchemaObject;
  return {
    ...settings,
    description: "Every setting the search runs with: the request resolved against the " +
      "profile, the dataset's preset and the defaults; `dataset` is the dataset's id.",
    required: ["dataset", ...(settings.required ?? [])],
    properties: { dataset: { type: "string" }, ...settings.properties },
  };
}

const nullableNumber: SchemaObject = { type: ["number", "null"] };

export const Progress: SchemaObject = {
  type: "object",
  required: ["phase", "generation", "generations", "evaluations", "bestFitness", "filters"],
  properties: {
    phase: { type: "string", enum: ["queued", "search", "final", "done"] },
    generation: { type: "integer", description: "Generations finished (checkpointed)." },
    generations: { type: "integer" },
    current: {
      type: "object",
      description: "The generation in progress: new candidates finished of those pending.",
      properties: {
        generation: { type: "integer" },
        done: { type: "integer" },
        pending: { type: "integer" },
      },
    },
    evaluations: { type: "integer", description: "Candidates tuned so far." },
    bestFitness: { ...nullableNumber, description: "Best validation metric so far." },
    filters: {
      type: "object",
      description: "How many candidates each filter removed, over finished generations.",
      properties: {
        cacheHits: { type: "integer" },
        rejected: { type: "integer" },
        equivalent: { type: "integer" },
        diverged: { type: "integer" },
        failed: { type: "integer" },
      },
    },
    elapsedMs: { type: "number" },
    etaMs: { ...nullableNumber, description: "Estimated time to the end of the search." },
    resumedFrom: { type: "integer", description: "Generation resumed from after a restart." },
    final: {
      type: "object",
      properties: { done: { type: "integer" }, total: { type: "integer" } },
    },
  },
};

export const Search: SchemaObject = {
  type: "object",
  required: ["id", "state", "dataset", "createdAt", "progress", "config"],
  properties: {
    id: { type: "string" },
    state: { type: "string", enum: [...JOB_STATES] },
    dataset: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
    startedAt: { type: ["string", "null"], format: "date-time" },
    finishedAt: { type: ["string", "null"], format: "date-time" },
    cancelRequested: { type: "boolean" },
    progress: ref("Progress"),
    error: {
      type: ["object", "null"],
      properties: { title: { type: "string" }, detail: { type: "string" } },
    },
    failures: {
      type: "array",
      description: "Candidates whose evaluation failed twice (worst fitness, with the reason).",
      items: {
        type: "object",
        properties: {
          generation: { type: "integer" },
          loss: { type: "string" },
          reason: { type: "string" },
        },
      },
    },
    config: publicConfigSchema(),
    links: { type: "object", additionalProperties: { type: "string" } },
  },
};

export const RankedLoss: SchemaObject = {
  type: "object",
  required: ["rank", "infix", "latex", "phi", "fitness", "tree"],
  properties: {
    rank: { type: "integer" },
    infix: { type: "string", description: "With the learned weights as coefficients." },
    latex: { type: "string" },
    structure: {
      type: "object",
      description: "The plain symbolic structure (weights 1).",
      properties: { infix: { type: "string" }, latex: { type: "string" } },
    },
    canonical: { type: "string" },
    tree: { type: "array", items: { type: ["string", "number"] } },
    phi: { type: "array", items: { type: "number" } },
    fitness: { type: "number", description: "Validation task metric after partial training." },
  },
};

const OUTCOMES = ["better", "no-significant-difference", "worse", "undetermined"];

const MetricSummary: SchemaObject = {
  type: "object",
  required: ["values", "mean", "std", "curve"],
  properties: {
    values: {
      type: "array",
      items: nullableNumber,
      description: "Test metric per seed; null where training diverged.",
    },
    mean: nullableNumber,
    std: nullableNumber,
    curve: { type: "array", items: { type: "number" } },
  },
};

export const PairedTest: SchemaObject = {
  type: "object",
  description: "Paired tests over the seeds (learned - standard): the two runs of a seed start " +
    "from the same initial weights and see the same batches.",
  required: ["n", "meanDifference", "ci", "confidence", "tTest", "wilcoxon"],
  properties: {
    n: { type: "integer", description: "Seeds where neither loss diverged." },
    meanDifference: { ...nullableNumber, description: "Negative favours the learned loss." },
    ci: {
      type: ["array", "null"],
      items: { type: "number" },
      minItems: 2,
      maxItems: 2,
      description: "Confidence interval of the mean difference, at level `confidence`.",
    },
    confidence: { type: "number" },
    tTest: {
      type: ["object", "null"],
      required: ["t", "df", "p"],
      properties: { t: { type: "number" }, df: { type: "number" }, p: { type: "number" } },
    },
    wilcoxon: {
      type: ["object", "null"],
      description: "Signed-rank test, from 6 seeds on.",
      required: ["v", "p", "exact"],
      properties: { v: { type: "number" }, p: { type: "number" }, exact: { type: "boolean" } },
    },
    note: { type: "string" },
  },
};

const rowProperties = {
  lr: {
    type: "object",
    required: ["learned", "standard"],
    properties: { learned: { type: "number" }, standard: { type: "number" } },
  },
  learned: MetricSummary,
  standard: MetricSummary,
  difference: { ...nullableNumber, description: "learned.mean - standard.mean." },
  paired: ref("PairedTest"),
  outcome: { type: "string", enum: OUTCOMES },
} satisfies Record<string, SchemaObject>;

export const ComparisonRow: SchemaObject = {
  type: "object",
  description: "Both losses trained from scratch over the seeds at the learning rates `lr`.",
  required: Object.keys(rowProperties),
  properties: rowProperties,
};

export const FinalComparison: SchemaObject = {
  type: "object",
  description: "The best loss against the standard loss, trained from scratch over several " +
    "seeds. The top level is the paper's comparison (both at the shared learning rate); " +
    "`tuned` has each loss at its own best learning rate, chosen on the validation split; " +
    "`verdict` decides on the tuned row where there is one.",
  required: [
    "metric",
    "steps",
    "seeds",
    "curveEvery",
    "significance",
    "verdict",
    ...Object.keys(rowProperties),
  ],
  properties: {
    metric: { type: "string", enum: ["error rate", "mse"] },
    steps: { type: "integer" },
    seeds: { type: "array", items: { type: "integer" } },
    curveEvery: { type: "integer" },
    significance: { type: "number" },
    ...rowProperties,
    tuned: {
      allOf: [ref("ComparisonRow")],
      type: "object",
      required: ["selection"],
      properties: {
        selection: {
          type: "object",
          required: ["candidates", "steps", "seed", "trials"],
          properties: {
            candidates: { type: "array", items: { type: "number" } },
            steps: { type: "integer" },
            seed: { type: "integer" },
            trials: {
              type: "array",
              items: {
                type: "object",
                required: ["lr", "learned", "standard"],
                properties: {
                  lr: { type: "number" },
                  learned: nullableNumber,
                  standard: nullableNumber,
                },
              },
            },
          },
        },
      },
    },
    verdict: ref("Verdict"),
  },
};

export const Verdict: SchemaObject = {
  type: "object",
  required: ["outcome", "basis", "significance", "keepStandard", "words"],
  properties: {
    outcome: { type: "string", enum: OUTCOMES },
    basis: { type: "string", enum: ["tuned", "paper"] },
    significance: { type: "number" },
    keepStandard: {
      type: "boolean",
      description: "True unless the learned loss is significantly better: use the standard loss.",
    },
    words: { type: "string" },
  },
};

const resultFields = {
  outcome: {
    type: "string",
    enum: ["no-usable-loss", "not-compared", ...OUTCOMES],
    description: "What the search came to: no loss survived the filters, the best loss was " +
      "not compared, or the final comparison's verdict.",
  },
  conclusion: { type: "string", description: "The outcome in words: what to use, and why." },
  warnings: {
    type: "array",
    items: { type: "string" },
    description: "Splits too small for their metric to tell losses apart.",
  },
} satisfies Record<string, SchemaObject>;

const splitRows: SchemaObject = {
  type: "object",
  required: ["train", "validation", "test"],
  description: "Rows of each split.",
  properties: {
    train: { type: "integer" },
    validation: { type: "integer" },
    test: { type: "integer" },
  },
};

export const Losses: SchemaObject = {
  type: "object",
  required: ["search", "state", "task", "losses"],
  description: "Once the search has finished: `outcome`, `conclusion`, `rows`, `warnings` and " +
    "`final` (absent while it runs, and `final` also when there was no final comparison).",
  properties: {
    search: { type: "string" },
    state: { type: "string", enum: [...JOB_STATES] },
    stopped: { type: "string" },
    task: { type: "string", enum: ["classification", "regression"] },
    metric: { type: "string" },
    ...resultFields,
    rows: splitRows,
    losses: { type: "array", items: ref("RankedLoss") },
    final: ref("FinalComparison"),
    totals: { type: "object" },
  },
};

export const Result: SchemaObject = {
  type: "object",
  description: "The whole result document of a finished search.",
  required: [
    "kind",
    "config",
    "stopped",
    "dataset",
    "losses",
    "totals",
    ...Object.keys(resultFields),
  ],
  properties: {
    kind: { const: "lossmith.search-result" },
    createdAt: { type: "string", format: "date-time" },
    versions: { type: "object" },
    backend: { type: "object" },
    config: { type: "object" },
    stopped: { type: "string" },
    ...resultFields,
    dataset: {
      type: "object",
      required: ["name", "task", "inputs", "rows"],
      properties: {
        name: { type: "string" },
        task: { type: "string", enum: ["classification", "regression"] },
        inputs: { type: "integer" },
        classes: { type: "integer" },
        rows: splitRows,
        preprocessing: {
          type: "object",
          description: "Input scaling (and regression target scaling) with the training rows' " +
            "statistics.",
        },
      },
    },
    losses: { type: "array", items: ref("RankedLoss") },
    generations: { type: "array", items: { type: "object" } },
    totals: { type: "object" },
    final: ref("FinalComparison"),
  },
};

export const SearchEvent: SchemaObject = {
  type: "object",
  description: "The data of one Server-Sent Event. Event names: `state` (the job changed state), " +
    "`progress` (a candidate finished), `generation` (a generation finished and was " +
    "checkpointed), `best` (a new best loss), `finished` (the job ended; the stream closes).",
};
