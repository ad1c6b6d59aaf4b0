/**
 * Schemas of searches. The request's defaults and descriptions follow method.md; the maxima of
 * the budget are the operator's limits, so the document always states the limits in force.
 */
import type { SchemaObject } from "openapi3-ts/oas31";
import type { Limits } from "../../service/config.ts";
import { limitOf, MAX_LABELS } from "../../service/search_request.ts";
import { DEFAULT_PROFILE, PROFILE_NAMES, PROFILES } from "../../core/settings.ts";
import { settingsPatchSchema, settingsSchema } from "../../core/settings_schema.ts";
import { BUNDLED_NAMES } from "../../core/data/mod.ts";
import { JOB_STATES } from "../../service/types.ts";
import { ref } from "./common.ts";
import { RESULT_FIELDS } from "./result.ts";

/** Label keys: lower case, as Kubernetes and Vertex AI have them; values a little freer. */
export const LABEL_KEY = "^[a-z][a-z0-9_.-]{0,62}$";
export const LABEL_VALUE = "^[A-Za-z0-9_.-]{0,63}$";

/** A search's name: for people, not unique; no control characters. */
export const name: SchemaObject = {
  type: "string",
  minLength: 1,
  maxLength: 100,
  pattern: "^[^\\u0000-\\u001f\\u007f]+$",
  "x-expected": "a name without control characters",
  description: "A name for people (not unique): at most 100 characters.",
  examples: ["resnet-lr-sweep"],
};

/** Labels as a request gives them; `nullable` values remove a label (PATCH). */
export function labels(nullable = false): SchemaObject {
  const value: SchemaObject = {
    type: nullable ? ["string", "null"] : "string",
    maxLength: 63,
    pattern: LABEL_VALUE,
    "x-expected": "at most 63 letters, digits, '_', '.' or '-'",
  };
  return {
    type: "object",
    maxProperties: MAX_LABELS,
    propertyNames: {
      pattern: LABEL_KEY,
      "x-expected": "a lower-case letter, then at most 62 lower-case letters, digits, '_', " +
        "'.' or '-'",
    },
    additionalProperties: value,
    description: `Up to ${MAX_LABELS} labels to find searches by (\`GET /v1/searches?` +
      "label=key:value`): keys start with a lower-case letter and hold lower-case letters, " +
      "digits, `_`, `.` and `-` (at most 63); values hold letters, digits, `_`, `.` and `-` " +
      `(at most 63, may be empty).${nullable ? " A null value removes the label." : ""}`,
    examples: [{ team: "vision", experiment: "lr-sweep" }],
  };
}

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
      validation: {
        type: "string",
        minLength: 1,
        description: "The id of an upload to validate on (fitness, local search) in place of " +
          "the internal validation split: the same task and features as `dataset`, classes " +
          "among its classes.",
      },
      test: {
        type: "string",
        minLength: 1,
        description: "The id of an upload to test the final comparison on, in place of the " +
          "internal test split; the same rules as `validation`.",
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
      name,
      labels: labels(),
      warmStart: {
        type: "object",
        additionalProperties: false,
        required: ["search"],
        description: "Seed the initial population with the best losses of another search of " +
          "this key (its ranking so far: the structures, whose weights are tuned again); the " +
          "rest of the population is drawn as usual. The losses taken are in `config.warmStart`.",
        properties: {
          search: {
            type: "string",
            minLength: 1,
            maxLength: 100,
            description: "The id of the search to take the losses from.",
          },
          losses: {
            type: "integer",
            minimum: 1,
            maximum: limits.maxPopulation,
            description: "How many of its best losses to take (default: half the population, " +
              "rounded up); never more than the population, nor than it ranked.",
          },
        },
      },
      ...settings.properties,
    },
  };
}

/** `POST /v1/searches/{id}:continue`: how many more generations, and the budget raised. */
export function continueRequest(limits: Limits): SchemaObject {
  const budget = (settingsPatchSchema(limitOf(limits)) as SchemaObject).properties!
    .budget as SchemaObject;
  const field = (key: string, text: string): SchemaObject => {
    const { description: _, ...schema } = budget.properties![key] as SchemaObject;
    return { ...schema, description: text };
  };
  return {
    type: "object",
    additionalProperties: false,
    required: ["generations"],
    description: "More generations for a finished search. `maxEvaluations` and `maxSeconds` " +
      "count the whole search (the generations before included), as they do when a search " +
      "resumes after a restart: raise them when they are used up.",
    properties: {
      generations: {
        type: "integer",
        minimum: 1,
        maximum: limits.maxGenerations,
        description: "Generations to run after the last one the search finished.",
      },
      maxEvaluations: field("maxEvaluations", "Replaces `budget.maxEvaluations`."),
      maxSeconds: field("maxSeconds", "Replaces `budget.maxSeconds`."),
      name: { ...name, description: "The new search's name (default: the one continued's)." },
      labels: {
        ...labels(),
        description: "The new search's labels (default: the one continued's).",
      },
    },
  };
}

/** `PATCH /v1/searches/{id}`: a JSON merge patch (RFC 7396) of the name and labels. */
export function searchPatch(): SchemaObject {
  return {
    type: "object",
    additionalProperties: false,
    minProperties: 1,
    description: "A JSON merge patch (RFC 7396): `name` replaces the name (null removes it); " +
      "each label given is set, and one given as null is removed; the others stay.",
    properties: {
      name: { ...name, type: ["string", "null"] },
      labels: labels(true),
    },
  };
}

const tree: SchemaObject = {
  type: "array",
  items: { type: ["string", "number"] },
  description: "An expression tree in prefix order (as `RankedLoss.tree`, without weights).",
};

/** Every setting a search runs with, and its dataset by id. */
export function SearchConfig(): SchemaObject {
  const settings = settingsSchema() as SchemaObject;
  return {
    ...settings,
    description: "Every setting the search runs with: the request resolved against the " +
      "profile, the dataset's preset and the defaults; `dataset` is the dataset's id, " +
      "`validation` and `test` those of the request's own splits.",
    required: ["dataset", ...(settings.required ?? [])],
    properties: {
      dataset: { type: "string" },
      validation: { type: "string" },
      test: { type: "string" },
      warmStart: {
        type: "object",
        required: ["search", "losses"],
        description: "The search warm-started from, and the losses from its ranking that " +
          "opened the initial population, best first.",
        properties: {
          search: { type: "string" },
          losses: { type: "array", items: tree },
        },
      },
      ...settings.properties,
    },
  };
}

const nullableNumber: SchemaObject = { type: ["number", "null"] };

const SEARCH_LINKS = [
  "self",
  "events",
  "losses",
  "candidates",
  "result",
  "report",
  "cancel",
  "continue",
];

export const Progress: SchemaObject = {
  type: "object",
  description: "The progress of a search: the same object in `GET /v1/searches/{id}` and in " +
    "the data of its `progress` events, so each field means the same in both.",
  required: [
    "phase",
    "generation",
    "generations",
    "evaluations",
    "bestFitness",
    "filters",
    "elapsedMs",
    "etaMs",
  ],
  properties: {
    phase: { type: "string", enum: ["queued", "search", "final", "done"] },
    generation: {
      type: "integer",
      description: "Generations finished (checkpointed); the one in progress is " +
        "`current.generation`.",
    },
    generations: { type: "integer" },
    current: {
      type: "object",
      description: "The generation in progress: new candidates finished of those pending.",
      required: ["generation", "done", "pending"],
      properties: {
        generation: { type: "integer", description: "The generation in progress (1-based)." },
        done: { type: "integer" },
        pending: { type: "integer" },
      },
    },
    evaluations: { type: "integer", description: "Candidates tuned so far." },
    bestFitness: { ...nullableNumber, description: "Best validation metric so far." },
    filters: {
      type: "object",
      description: "How many candidates each filter removed, over finished generations.",
      required: ["cacheHits", "rejected", "equivalent", "diverged", "failed"],
      properties: {
        cacheHits: { type: "integer" },
        rejected: { type: "integer" },
        equivalent: { type: "integer" },
        diverged: { type: "integer" },
        failed: { type: "integer" },
      },
    },
    elapsedMs: { type: "number" },
    etaMs: {
      ...nullableNumber,
      description: "Estimated time to the end of the current phase: the search, then the " +
        "final evaluation; null when it cannot be estimated yet, and once the search is done.",
    },
    resumedFrom: {
      type: "integer",
      description: "The generation this run started from: a checkpoint after a restart, or " +
        "the last generation of the search it continues.",
    },
    rows: ref("SplitRows"),
    final: {
      type: "object",
      description: "The final evaluation: training runs finished, of those planned so far " +
        "(the tuned row's are planned once the learning-rate trials have chosen; before the " +
        "first is planned, `total` is the number of seeds), and its time so far.",
      required: ["done", "total", "elapsedMs"],
      properties: {
        done: { type: "integer" },
        total: { type: "integer" },
        elapsedMs: { type: "number" },
      },
    },
  },
};

export const Search: SchemaObject = {
  type: "object",
  required: [
    "id",
    "name",
    "labels",
    "continues",
    "state",
    "dataset",
    "task",
    "createdAt",
    "startedAt",
    "finishedAt",
    "cancelRequested",
    "progress",
    "failures",
    "error",
    "config",
    "model",
    "links",
  ],
  properties: {
    id: { type: "string" },
    name: { type: ["string", "null"], description: "For people; not unique." },
    labels: {
      type: "object",
      additionalProperties: { type: "string" },
      description: "Labels to find it by (`GET /v1/searches?label=key:value`).",
    },
    continues: {
      type: ["object", "null"],
      description: "Set when this search continues another (`:continue`): that search, and " +
        "the generation this one started from (its last).",
      required: ["search", "generation"],
      properties: { search: { type: "string" }, generation: { type: "integer" } },
    },
    state: { type: "string", enum: [...JOB_STATES] },
    dataset: { type: "string" },
    task: { type: "string", enum: ["classification", "regression"] },
    createdAt: { type: "string", format: "date-time" },
    startedAt: { type: ["string", "null"], format: "date-time" },
    finishedAt: { type: ["string", "null"], format: "date-time" },
    cancelRequested: { type: "boolean" },
    progress: ref("Progress"),
    error: {
      type: ["object", "null"],
      required: ["title", "detail"],
      properties: { title: { type: "string" }, detail: { type: "string" } },
    },
    failures: {
      type: "array",
      description: "Candidates whose evaluation failed twice (worst fitness, with the reason).",
      items: {
        type: "object",
        required: ["generation", "loss", "reason"],
        properties: {
          generation: { type: "integer" },
          loss: { type: "string" },
          reason: { type: "string" },
        },
      },
    },
    config: ref("SearchConfig"),
    model: {
      type: ["object", "null"],
      description: "The model trained under each loss, on this dataset: its description, its " +
        "parameters and its estimated memory per evaluation worker (docs/service.md), checked " +
        "against the service's `--max-model-bytes` when the search was submitted. Null for a " +
        "model that cannot be built on the data.",
      required: ["description", "parameters", "estimatedBytes"],
      properties: {
        description: {
          type: "string",
          examples: [
            "sequential 28x28x1: Conv2D(8, 3x3, relu), MaxPooling2D(2x2), Flatten, Dense(10)",
          ],
        },
        parameters: { type: "integer", description: "Trainable scalars (tfjs's countParams)." },
        estimatedBytes: {
          type: "object",
          description: "At the peak of a local-search meta-step, of a forward pass over a " +
            "whole evaluation split, of the dataset's rows, and the worker's total (the rows " +
            "and the larger peak).",
          required: ["localSearch", "evaluation", "data", "total"],
          properties: {
            localSearch: { type: "integer" },
            evaluation: { type: "integer" },
            data: { type: "integer" },
            total: { type: "integer" },
          },
        },
      },
    },
    links: {
      type: "object",
      description: "Where to go next: the search itself (GET, PATCH, DELETE), its events, " +
        "ranked losses, candidates, result document, HTML report, and its cancel and continue " +
        "methods.",
      required: SEARCH_LINKS,
      properties: Object.fromEntries(SEARCH_LINKS.map((k) => [k, { type: "string" }])),
    },
  },
};

const formula: SchemaObject = {
  type: "object",
  required: ["infix", "latex"],
  properties: { infix: { type: "string" }, latex: { type: "string" } },
};

export const RankedLoss: SchemaObject = {
  type: "object",
  required: [
    "rank",
    "infix",
    "latex",
    "structure",
    "simplified",
    "canonical",
    "phi",
    "fitness",
    "tree",
  ],
  properties: {
    rank: { type: "integer" },
    infix: { type: "string", description: "With the learned weights as coefficients." },
    latex: { type: "string" },
    structure: {
      ...formula,
      description: "The plain symbolic structure (weights 1).",
    },
    simplified: {
      ...formula,
      description: "The same function with the learned weights folded into numeric " +
        "coefficients (4 significant digits): products expanded, like terms collected. " +
        "`div`, `log` and `sqrt` keep their protected meanings (`div(a, b)` is " +
        "a / sqrt(1 + b^2); log and sqrt act on max(|x|, 1e-7)).",
    },
    canonical: { type: "string" },
    tree: { type: "array", items: { type: ["string", "number"] } },
    phi: { type: "array", items: { type: "number" } },
    fitness: { type: "number", description: "Validation task metric after partial training." },
    fidelity: {
      type: "integer",
      description: "Multi-fidelity: training steps of the measurement `fitness` is.",
    },
    taskLoss: {
      type: "number",
      description: "Validation task loss of the same trained model (the tie-breaker).",
    },
    scale: {
      type: "number",
      description: "The scale folded into `tree` and `phi` (`evaluation.normalizeScale`): the " +
        "loss as validated and exported is `scale` times the tuned one.",
    },
  },
};

export const Losses: SchemaObject = {
  type: "object",
  required: ["search", "state", "task", "metric", "losses"],
  description: "Once the search has finished: `outcome`, `conclusion`, `rows`, `warnings` and " +
    "`final` (absent while it runs, and `final` also when there was no final comparison).",
  properties: {
    search: { type: "string" },
    state: { type: "string", enum: [...JOB_STATES] },
    stopped: ref("StoppedBy"),
    task: { type: "string", enum: ["classification", "regression"] },
    metric: { type: "string", enum: ["error rate", "mse"] },
    ...RESULT_FIELDS,
    rows: {
      oneOf: [ref("SplitRows"), { type: "null" }],
      description: "Rows of each split (the internal split's, or the given validation and test " +
        "sets'); null until the data is prepared.",
    },
    sources: {
      type: "object",
      description: "Where the validation and test rows came from: `split`, or the dataset given.",
      properties: { validation: { type: "string" }, test: { type: "string" } },
    },
    losses: { type: "array", items: ref("RankedLoss") },
    final: {
      ...ref("FinalComparison"),
      description: "Once the search has finished with a final evaluation.",
    },
    totals: { ...ref("Totals"), description: "Once the search has finished." },
  },
};
