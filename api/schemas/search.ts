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
import { JOB_STATES } from "../../service/types.ts";
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
      "profile, the dataset's preset and the defaults; `dataset` is the dataset's id, " +
      "`validation` and `test` those of the request's own splits.",
    required: ["dataset", ...(settings.required ?? [])],
    properties: {
      dataset: { type: "string" },
      validation: { type: "string" },
      test: { type: "string" },
      ...settings.properties,
    },
  };
}

const nullableNumber: SchemaObject = { type: ["number", "null"] };

const splitRows: SchemaObject = {
  type: "object",
  description: "Rows of each split: the internal split's, or the given validation and test sets'.",
  properties: {
    train: { type: "integer" },
    validation: { type: "integer" },
    test: { type: "integer" },
  },
};

export const Progress: SchemaObject = {
  type: "object",
  description: "The progress of a search: the same object in `GET /v1/searches/{id}` and in " +
    "the data of its `progress` events, so each field means the same in both.",
  required: ["phase", "generation", "generations", "evaluations", "bestFitness", "filters"],
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
    resumedFrom: { type: "integer", description: "Generation resumed from after a restart." },
    rows: splitRows,
    final: {
      type: "object",
      description: "The final evaluation: seeds finished, of all, and its time so far.",
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
  required: ["search", "state", "task", "losses"],
  properties: {
    search: { type: "string" },
    state: { type: "string", enum: [...JOB_STATES] },
    stopped: { type: "string" },
    task: { type: "string", enum: ["classification", "regression"] },
    metric: { type: "string" },
    outcome: {
      type: "string",
      enum: ["losses", "no-usable-loss"],
      description: "Once finished: `no-usable-loss` when no candidate gave a finite fitness " +
        "(then `message` says why, and the search's state is `failed`).",
    },
    message: { type: "string" },
    rows: { ...splitRows, type: ["object", "null"] },
    sources: {
      type: "object",
      description: "Where the validation and test rows came from: `split`, or the dataset given.",
      properties: { validation: { type: "string" }, test: { type: "string" } },
    },
    losses: { type: "array", items: ref("RankedLoss") },
    final: {
      type: "object",
      description: "Final evaluation: the best loss against the standard loss, trained from " +
        "scratch over several seeds; `difference` < 0 means the learned loss did better.",
    },
    totals: { type: "object" },
  },
};

export const SearchEvent: SchemaObject = {
  type: "object",
  description: "The data of one Server-Sent Event. Event names: `state` (the job changed state, " +
    "or began its final evaluation), `progress` (a candidate or a final seed finished; its data " +
    "is the search's `Progress`, as in `GET /v1/searches/{id}`), `generation` (a generation " +
    "finished and was checkpointed: its statistics), `best` (a new best loss), `finished` (the " +
    "job ended; the stream closes).",
};
