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

/** What a comparison concludes: the learned loss is better, no different, or worse. */
export const COMPARISON_OUTCOMES = ["better", "no-significant-difference", "worse", "undetermined"];

export const PairedTest: SchemaObject = {
  type: "object",
  description: "Paired tests over the seeds (learned - standard): the two runs of a seed start " +
    "from the same initial weights and see the same batches.",
  required: ["n", "meanDifference", "ci", "confidence", "tTest", "wilcoxon"],
  properties: {
    n: { ...integer, description: "Seeds where neither loss diverged." },
    meanDifference: { ...nullableNumber, description: "Negative favours the learned loss." },
    ci: {
      type: ["array", "null"],
      items: number,
      minItems: 2,
      maxItems: 2,
      description: "Confidence interval of the mean difference, at level `confidence`.",
    },
    confidence: number,
    tTest: {
      type: ["object", "null"],
      required: ["t", "df", "p"],
      properties: { t: number, df: number, p: number },
    },
    wilcoxon: {
      type: ["object", "null"],
      description: "Signed-rank test, from 6 seeds on.",
      required: ["v", "p", "exact"],
      properties: { v: number, p: number, exact: { type: "boolean" } },
    },
    note: string,
  },
};

const rowProperties = {
  lr: {
    type: "object",
    required: ["learned", "standard"],
    description: "The learning rate each loss was trained with.",
    properties: { learned: number, standard: number },
  },
  learned: ref("MetricSummary"),
  standard: ref("MetricSummary"),
  difference: {
    ...nullableNumber,
    description: "learned.mean - standard.mean: negative means the learned loss did better; " +
      "null when one of them diverged on every seed.",
  },
  paired: ref("PairedTest"),
  outcome: { type: "string", enum: COMPARISON_OUTCOMES },
} satisfies Record<string, SchemaObject>;

export const ComparisonRow: SchemaObject = {
  type: "object",
  description: "Both losses trained from scratch over the seeds at the learning rates `lr`.",
  required: Object.keys(rowProperties),
  properties: rowProperties,
};

export const Verdict: SchemaObject = {
  type: "object",
  required: ["outcome", "basis", "significance", "keepStandard", "words"],
  properties: {
    outcome: { type: "string", enum: COMPARISON_OUTCOMES },
    basis: {
      type: "string",
      enum: ["tuned", "paper", "versus-shared"],
      description: "The comparison that decided: the tuned row; the paper's where there is no " +
        "tuned row; `versus-shared` where a win in the tuned row did not hold against the " +
        "standard loss at the shared learning rate (`tuned.versusShared`).",
    },
    significance: number,
    keepStandard: {
      type: "boolean",
      description: "True unless the learned loss is significantly better: use the standard loss.",
    },
    words: string,
  },
};

export const FinalComparison: SchemaObject = {
  type: "object",
  description: "The best loss against the standard loss (cross-entropy or squared error), each " +
    "trained from scratch on the same seeds; lower is better for both metrics. The top level " +
    "is the paper's comparison (both at the shared learning rate); `tuned` has each loss at " +
    "its own best learning rate, chosen on the validation split; `verdict` decides on the " +
    "tuned row where there is one, and a win there must hold in `tuned.versusShared`.",
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
    steps: { ...integer, description: "Training steps of each run." },
    seeds: { type: "array", items: integer },
    curveEvery: { ...integer, description: "Steps between two points of each curve." },
    significance: number,
    ...rowProperties,
    tuned: {
      allOf: [ref("ComparisonRow")],
      type: "object",
      required: ["selection"],
      properties: {
        selection: {
          type: "object",
          required: ["candidates", "steps", "seed", "trials"],
          description: "How the learning rates were chosen: each candidate trained for `steps` " +
            "on the training split with `seed`, measured on the validation split.",
          properties: {
            candidates: { type: "array", items: number },
            extended: {
              type: "array",
              items: number,
              description: "Candidates past the grid's edge (`final.lrExtend`), tried because " +
                "a loss's best trial was at that edge.",
            },
            steps: integer,
            seed: integer,
            trials: {
              type: "array",
              items: {
                type: "object",
                required: ["lr", "learned", "standard"],
                properties: { lr: number, learned: nullableNumber, standard: nullableNumber },
              },
            },
          },
        },
        versusShared: {
          allOf: [ref("ComparisonRow")],
          description: "The learned loss at its own learning rate against the standard loss at " +
            "the shared one, from the two rows' runs: a win in the tuned row must hold here too.",
        },
      },
    },
    verdict: ref("Verdict"),
  },
};

/** Fields of a finished search's result that its losses response repeats. */
export const RESULT_FIELDS = {
  outcome: {
    type: "string",
    enum: ["no-usable-loss", "not-compared", ...COMPARISON_OUTCOMES],
    description: "What the search came to: no loss survived the filters, the best loss was " +
      "not compared, or the final comparison's verdict.",
  },
  conclusion: { ...string, description: "The outcome in words: what to use, and why." },
  warnings: {
    type: "array",
    items: string,
    description: "Splits too small for their metric to tell losses apart.",
  },
} satisfies Record<string, SchemaObject>;

export const SplitRows: SchemaObject = {
  type: "object",
  required: ["train", "validation", "test"],
  description: "Rows of each split: the internal split's, or the given validation and test sets'.",
  properties: { train: integer, validation: integer, test: integer },
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
    promoted: {
      ...integer,
      description: "Multi-fidelity: candidates trained again at a longer rung.",
    },
    bestFitness: { ...nullableNumber, description: "Of the best-ranked individual." },
    medianFitness: nullableNumber,
    times: {
      type: "object",
      required: ["screenMs", "localSearchMs", "fitnessMs", "wallMs"],
      properties: {
        screenMs: ms("Screens, summed over candidates"),
        localSearchMs: ms("Local searches, summed over candidates"),
        fitnessMs: ms("Fitness trainings, summed over candidates, promotions included"),
        fitnessSteps: {
          ...integer,
          description: "SGD steps behind fitnessMs: the speed that estimates the final's time.",
        },
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
    taskLoss: { ...number, description: "Validation task loss of the trained model." },
    scale: { ...number, description: "The scale folded into `infix` (normalizeScale)." },
    fidelity: { ...integer, description: "Training steps of the fitness (multi-fidelity)." },
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
    ...Object.keys(RESULT_FIELDS),
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
        rows: ref("SplitRows"),
        preprocessing: {
          type: "object",
          description: "Input scaling (and regression target scaling) with the training rows' " +
            "statistics.",
        },
        sources: {
          type: "object",
          description: "Where the validation and test rows came from: `split`, or the name of " +
            "the dataset given for it.",
          properties: { validation: string, test: string },
        },
      },
    },
    ...RESULT_FIELDS,
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
