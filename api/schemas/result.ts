/**
 * Schemas of what a search produces: the final comparison, the totals, each generation's
 * statistics, the whole result document, the per-candidate records, the JSON export, and the data
 * of each Server-Sent Event. Every object a client reads is typed, so generated clients see its
 * fields (tests/openapi_clients.test.ts generates TypeScript types and type-checks a program that
 * reads them). Objects stay open to new fields (no `additionalProperties: false`): a field added
 * later, a verdict of the comparison say, is then an addition, not a break.
 */
import type { SchemaObject } from "openapi3-ts/oas31";
import { JOB_STATES } from "../../service/types.ts";
import { ref } from "./common.ts";

const integer: SchemaObject = { type: "integer" };
const number: SchemaObject = { type: "number" };
const string: SchemaObject = { type: "string" };
const nullableNumber: SchemaObject = { type: ["number", "null"] };
const STOPPED_BY = ["generations", "max-evaluations", "max-seconds", "cancelled"];
const ms = (what: string): SchemaObject => ({ type: "number", description: `${what}, in ms.` });

export const MetricSummary: SchemaObject = {
  type: "object",
  required: ["values", "mean", "std", "curve"],
  properties: {
    values: {
      type: "array",
      items: nullableNumber,
      description: "One test metric per seed; null where training diverged.",
    },
    mean: nullableNumber,
    std: nullableNumber,
    curve: {
      type: "array",
      items: number,
      description: "Test metric every `curveEvery` steps, averaged over the seeds that did " +
        "not diverge.",
    },
  },
};

export const FinalComparison: SchemaObject = {
  type: "object",
  description: "Final evaluation: the best loss against the standard loss (cross-entropy or " +
    "squared error), each trained from scratch on the same seeds; lower is better for both " +
    "metrics.",
  required: ["metric", "steps", "seeds", "curveEvery", "learned", "standard", "difference"],
  properties: {
    metric: { type: "string", enum: ["error rate", "mse"] },
    steps: { ...integer, description: "Training steps of each run." },
    seeds: { type: "array", items: integer },
    curveEvery: { ...integer, description: "Steps between two points of each curve." },
    learned: ref("MetricSummary"),
    standard: ref("MetricSummary"),
    difference: {
      ...nullableNumber,
      description: "learned.mean - standard.mean: negative means the learned loss did better; " +
        "null when one of them diverged on every seed.",
    },
  },
};

export const Totals: SchemaObject = {
  type: "object",
  description: "Sums over the generations of a search.",
  required: [
    "generations",
    "evaluations",
    "distinctLosses",
    "cacheHits",
    "rejected",
    "equivalent",
    "diverged",
    "failed",
    "wallMs",
  ],
  properties: {
    generations: integer,
    evaluations: { ...integer, description: "Candidates tuned by local search and fitness." },
    distinctLosses: { ...integer, description: "Canonical forms met." },
    cacheHits: integer,
    rejected: integer,
    equivalent: integer,
    diverged: integer,
    failed: integer,
    wallMs: ms("Wall time of the search"),
  },
};

const StackCalibration: SchemaObject = {
  type: "object",
  required: ["k", "steps", "oneAtATimeMs", "stackedMs", "speedup", "stack", "backend"],
  properties: {
    k: integer,
    steps: integer,
    oneAtATimeMs: number,
    stackedMs: number,
    speedup: number,
    stack: { type: "boolean" },
    backend: string,
  },
};

export const GenerationStats: SchemaObject = {
  type: "object",
  description: "One finished generation: what became of its individuals (population = " +
    "cacheHits + distinct; distinct = rejected + equivalent + evaluated + failed), its fitness, " +
    "and its times. The data of a `generation` event.",
  required: [
    "generation",
    "population",
    "cacheHits",
    "rejected",
    "equivalent",
    "distinct",
    "evaluated",
    "diverged",
    "failed",
    "bestFitness",
    "medianFitness",
    "times",
  ],
  properties: {
    generation: { ...integer, description: "1-based." },
    population: integer,
    cacheHits: {
      ...integer,
      description: "Individuals whose canonical form was met before (no evaluation).",
    },
    rejected: { ...integer, description: "Removed by the rejection screen." },
    equivalent: { ...integer, description: "Fitness reused through gradient equivalence." },
    distinct: { ...integer, description: "Canonical forms new to the archive." },
    evaluated: { ...integer, description: "Local search and fitness run (diverged included)." },
    diverged: integer,
    failed: integer,
    bestFitness: nullableNumber,
    medianFitness: nullableNumber,
    times: {
      type: "object",
      required: ["screenMs", "localSearchMs", "fitnessMs", "wallMs"],
      properties: {
        screenMs: ms("Screens, summed over candidates"),
        localSearchMs: ms("Local searches, summed over candidates"),
        fitnessMs: ms("Fitness trainings, summed over candidates"),
        wallMs: ms("Wall time of the generation"),
      },
    },
    stacking: {
      type: "object",
      description: "How candidates were stacked (absent in older checkpoints).",
      required: ["largest", "stacks"],
      properties: {
        setting: { type: ["string", "integer"] },
        largest: integer,
        stacks: integer,
        calibration: StackCalibration,
        note: string,
      },
    },
  },
};

export const OUTCOMES = ["tuned", "rejected", "diverged", "equivalent", "failed"];

export const Candidate: SchemaObject = {
  type: "object",
  description: "One distinct loss (canonical form) the search met, and what became of it.",
  required: ["key", "generation", "outcome", "fitness", "infix", "structure", "times"],
  properties: {
    key: { ...string, description: "The canonical form in prefix notation: the archive key." },
    generation: { ...integer, description: "The generation that first met it (1-based)." },
    outcome: {
      type: "string",
      enum: OUTCOMES,
      description: "`tuned`: local search and fitness ran; `rejected` by the screen; " +
        "`diverged` in training; `equivalent`: fitness reused from `equivalentTo`; `failed`: " +
        "its evaluation threw twice.",
    },
    fitness: { ...nullableNumber, description: "Validation metric; null is worst." },
    infix: { ...string, description: "With its learned weights, where it was tuned." },
    structure: { ...string, description: "The plain structure (weights 1)." },
    reason: string,
    equivalentTo: string,
    screen: {
      type: "object",
      required: ["metricBefore", "metricAfter"],
      properties: { metricBefore: nullableNumber, metricAfter: nullableNumber },
    },
    metaLoss: {
      type: "object",
      description: "Validation loss at the first and last meta-step of local search.",
      required: ["first", "last", "steps"],
      properties: { first: nullableNumber, last: nullableNumber, steps: integer },
    },
    times: {
      type: "object",
      description: "Per stage; absent stages did not run (or predate the record).",
      properties: {
        screenMs: number,
        localSearchMs: number,
        fitnessMs: number,
      },
    },
  },
};

const formula: SchemaObject = {
  type: "object",
  required: ["infix", "latex"],
  properties: { infix: string, latex: string },
};

export const SearchResult: SchemaObject = {
  type: "object",
  description: "Everything a finished search produced, and everything needed to run it again.",
  required: [
    "kind",
    "createdAt",
    "versions",
    "backend",
    "config",
    "stopped",
    "dataset",
    "losses",
    "generations",
    "totals",
  ],
  properties: {
    kind: { type: "string", const: "lossmith.search-result" },
    createdAt: { type: "string", format: "date-time" },
    versions: {
      type: "object",
      required: ["lossmith", "deno", "v8", "typescript", "tfjs"],
      properties: { lossmith: string, deno: string, v8: string, typescript: string, tfjs: string },
    },
    backend: {
      type: "object",
      required: ["name", "workers"],
      properties: { name: string, adapter: string, workers: integer },
    },
    config: ref("SearchConfig"),
    stopped: ref("StoppedBy"),
    dataset: {
      type: "object",
      required: ["name", "task", "inputs", "rows"],
      properties: {
        name: string,
        task: { type: "string", enum: ["classification", "regression"] },
        inputs: integer,
        classes: integer,
        rows: {
          type: "object",
          required: ["train", "validation", "test"],
          properties: { train: integer, validation: integer, test: integer },
        },
      },
    },
    losses: { type: "array", items: ref("RankedLoss") },
    generations: { type: "array", items: ref("GenerationStats") },
    totals: ref("Totals"),
    final: ref("FinalComparison"),
  },
};

export const StoppedBy: SchemaObject = {
  type: "string",
  enum: STOPPED_BY,
  description: "Why the search ended.",
};

export const LossDocument: SchemaObject = {
  type: "object",
  description: "A learned loss as a self-describing document (the `json` export): `tree` and " +
    "`phi` are the exact loss; the rest is for reading and reimplementing it.",
  required: ["format", "task", "tree", "phi", "infix", "latex", "structure", "semantics"],
  properties: {
    format: { type: "string", const: "lossmith.loss/v1" },
    task: { type: "string", enum: ["classification", "regression"] },
    tree: {
      type: "array",
      items: { type: ["string", "number"] },
      description: "Prefix order; nodes are op names, `y`, `fx` or numbers.",
    },
    phi: { type: "array", items: number, description: "float32, one per node; phi[0] unused." },
    infix: string,
    latex: string,
    structure: formula,
    semantics: {
      type: "object",
      required: ["weights", "inputs", "reduction", "primitives"],
      properties: {
        weights: string,
        inputs: string,
        reduction: string,
        primitives: {
          type: "object",
          description: "The primitives this tree uses, each defined in words.",
          additionalProperties: string,
        },
      },
    },
  },
};

// The data of each Server-Sent Event, by event name.

const StateEventData: SchemaObject = {
  type: "object",
  description: "The job changed state, or (with `phase: final`) began its final evaluation.",
  required: ["state"],
  properties: {
    state: { type: "string", enum: [...JOB_STATES] },
    resumedFrom: {
      type: ["integer", "null"],
      description: "On `running`: the generation resumed from after a restart, else null.",
    },
    phase: { type: "string", enum: ["final"] },
    seeds: { ...integer, description: "With `phase: final`: the seeds to train." },
  },
};

const BestEventData: SchemaObject = {
  type: "object",
  description: "A new best loss after a generation.",
  required: ["generation", "fitness", "infix", "latex"],
  properties: { generation: integer, fitness: number, infix: string, latex: string },
};

const FinishedEventData: SchemaObject = {
  type: "object",
  description: "The job ended; the stream closes after this event.",
  required: ["state", "error", "stopped"],
  properties: {
    state: { type: "string", enum: ["succeeded", "failed", "cancelled"] },
    error: {
      type: ["object", "null"],
      required: ["title", "detail"],
      properties: { title: string, detail: string },
    },
    stopped: {
      type: ["string", "null"],
      enum: [...STOPPED_BY, null],
      description: "Why the search ended; null when it failed or was cancelled while queued.",
    },
  },
};

const eventOf = (name: string, data: SchemaObject): SchemaObject => ({
  type: "object",
  required: ["id", "event", "data"],
  properties: {
    id: { ...integer, description: "Send as `Last-Event-ID` to resume after it." },
    event: { type: "string", const: name },
    data,
  },
});

/** The event schemas, each named for its event. */
export const EVENT_SCHEMAS: Record<string, SchemaObject> = {
  StateEvent: eventOf("state", StateEventData),
  ProgressEvent: eventOf("progress", ref("Progress")),
  GenerationEvent: eventOf("generation", ref("GenerationStats")),
  BestEvent: eventOf("best", BestEventData),
  FinishedEvent: eventOf("finished", FinishedEventData),
};

export const SearchEvent: SchemaObject = {
  description: "One Server-Sent Event of a search: its `id`, its `event` name and its `data` " +
    "(JSON), one of the event schemas below by name. On the wire each is `id: ...`, " +
    "`event: ...`, `data: <JSON>` lines, then a blank line.",
  oneOf: Object.keys(EVENT_SCHEMAS).map(ref),
  discriminator: {
    propertyName: "event",
    mapping: Object.fromEntries(
      Object.entries(EVENT_SCHEMAS).map(([name, s]) => [
        (s.properties!.event as SchemaObject).const as string,
        `#/components/schemas/${name}`,
      ]),
    ),
  },
};
