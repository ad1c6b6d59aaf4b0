/**
 * Schemas of searches. The request's defaults and descriptions follow method.md; the maxima of
 * the budget are the operator's limits, so the document always states the limits in force.
 */
import type { SchemaObject } from "openapi3-ts/oas31";
import type { Limits } from "../../service/config.ts";
import { DEFAULT_BUDGET } from "../../service/search_request.ts";
import { DEFAULT_EVALUATION, MAX_CANDIDATE_BATCH } from "../../core/settings.ts";
import { DEFAULT_GP_SETTINGS } from "../../core/gp/settings.ts";
import { DEFAULT_SEARCH_CONFIG } from "../../core/search.ts";
import { JOB_STATES } from "../../store/types.ts";
import { ref } from "./common.ts";

const int = (min: number, max: number, description: string, dflt?: number): SchemaObject => ({
  type: "integer",
  minimum: min,
  maximum: max,
  description,
  ...(dflt === undefined ? {} : { default: dflt }),
});
const num = (min: number, max: number, description: string, dflt?: number): SchemaObject => ({
  type: "number",
  minimum: min,
  maximum: max,
  description,
  ...(dflt === undefined ? {} : { default: dflt }),
});
const bool = (description: string, dflt: boolean): SchemaObject => ({
  type: "boolean",
  description,
  default: dflt,
});
const object = (properties: Record<string, SchemaObject>, description?: string): SchemaObject => ({
  type: "object",
  additionalProperties: false,
  properties,
  ...(description ? { description } : {}),
});

const E = DEFAULT_EVALUATION;
const G = DEFAULT_GP_SETTINGS;

export function searchRequest(limits: Limits): SchemaObject {
  return {
    type: "object",
    additionalProperties: false,
    required: ["dataset"],
    properties: {
      dataset: {
        type: "string",
        minLength: 1,
        description: "A bundled dataset (iris, boston, mnist) or the id of an upload.",
        examples: ["iris"],
      },
      task: {
        type: "string",
        enum: ["classification", "regression"],
        description: "Inferred from the dataset when absent.",
      },
      model: object({
        kind: { type: "string", enum: ["linear", "mlp"], default: "mlp" },
        hidden: {
          type: "array",
          items: { type: "integer", minimum: 1, maximum: 4096 },
          maxItems: 8,
          default: DEFAULT_SEARCH_CONFIG.model.hidden,
          description: "MLP hidden layer widths.",
        },
      }),
      budget: object({
        population: int(
          1,
          limits.maxPopulation,
          "Individuals per generation.",
          DEFAULT_BUDGET.population,
        ),
        generations: int(1, limits.maxGenerations, "Generations.", DEFAULT_BUDGET.generations),
        maxEvaluations: int(
          1,
          limits.maxEvaluations,
          "Stop before a generation once this many candidates were tuned.",
        ),
        maxSeconds: num(
          1,
          limits.maxSeconds,
          "Stop before a generation that would, at the last one's pace, end past this.",
        ),
      }, "When the search stops; the first limit reached ends it."),
      method: object({
        screen: object({
          enabled: bool("Run the rejection screen before local search.", E.screen.enabled),
          examples: int(
            1,
            100_000,
            "Training examples whose predictions are optimised.",
            E.screen.examples,
          ),
          steps: int(1, 100_000, "Adam steps of the screen (100 for MNIST).", E.screen.steps),
          lr: num(0, 10, "Adam learning rate of the screen.", E.screen.lr),
        }),
        gradientEquivalence: object({
          enabled: bool(
            "Reuse the fitness of a loss with the same gradients.",
            E.gradientEquivalence.enabled,
          ),
          probeSize: int(
            1,
            100_000,
            "Examples in the probe batch.",
            E.gradientEquivalence.probeSize,
          ),
          decimals: int(
            0,
            10,
            "Decimals the gradient norms are compared to.",
            E.gradientEquivalence.decimals,
          ),
        }),
        localSearch: object({
          enabled: bool(
            "Tune phi by unrolled differentiation (off: GP-LFL).",
            E.localSearch.enabled,
          ),
          metaSteps: int(1, 100_000, "Meta-steps per candidate.", E.localSearch.metaSteps),
          unrollSteps: int(
            1,
            100,
            "Differentiable SGD steps per meta-step (T).",
            E.localSearch.unrollSteps,
          ),
          metaLr: num(0, 10, "Adam learning rate on phi.", E.localSearch.metaLr),
        }),
        inner: object({
          lr: num(0, 10, "SGD learning rate.", E.inner.lr),
          momentum: num(0, 1, "SGD momentum (0 for MNIST).", E.inner.momentum),
          nesterov: bool("Nesterov momentum.", E.inner.nesterov),
          weightDecay: num(0, 1, "L2 weight decay.", E.inner.weightDecay),
        }, "The inner optimiser, used by local search, fitness and final training."),
        fitnessSteps: int(
          1,
          1_000_000,
          "SGD steps of the partial training that measures fitness.",
          E.fitnessSteps,
        ),
        batchSize: int(1, 65_536, "Mini-batch size.", E.batchSize),
        candidateBatch: {
          anyOf: [
            { type: "string", enum: ["auto", "off"] },
            { type: "integer", minimum: 2, maximum: MAX_CANDIDATE_BATCH },
          ],
          default: E.candidateBatch,
          description: "A speed setting, not a method one: train up to K candidates' fitness " +
            "together (MLP and linear models), `off` one at a time, `auto` batched when a short " +
            "calibration on the search's model and data finds it faster. The cpu backend gives " +
            "the same results either way; wasm and WebGPU may differ in the last bits.",
        },
        gp: object({
          tournamentSize: int(1, 1000, "Tournament size.", G.tournamentSize),
          crossoverProb: num(0, 1, "One-point subtree crossover.", G.crossoverProb),
          mutationProb: num(0, 1, "Uniform subtree mutation.", G.mutationProb),
          reproductionProb: num(0, 1, "Reproduction; the three must sum to 1.", G.reproductionProb),
          initMinHeight: int(0, 10, "Initial trees, least height.", G.initMinHeight),
          initMaxHeight: int(0, 10, "Initial trees, greatest height.", G.initMaxHeight),
          maxHeight: int(1, 17, "Taller offspring are replaced by a parent.", G.maxHeight),
          mutationMinHeight: int(0, 10, "Heights of mutation subtrees.", G.mutationMinHeight),
          mutationMaxHeight: int(0, 10, "Heights of mutation subtrees.", G.mutationMaxHeight),
          elites: int(0, limits.maxPopulation, "Best individuals kept unchanged.", G.elites),
        }),
        split: object({
          testFraction: {
            type: "number",
            exclusiveMinimum: 0,
            exclusiveMaximum: 1,
            default: DEFAULT_SEARCH_CONFIG.split.testFraction,
          },
          validationFraction: {
            type: "number",
            exclusiveMinimum: 0,
            exclusiveMaximum: 1,
            default: DEFAULT_SEARCH_CONFIG.split.validationFraction,
          },
        }),
        hallOfFameSize: int(1, 100, "Ranked losses kept.", DEFAULT_SEARCH_CONFIG.hallOfFameSize),
      }, "Method settings; each absent one keeps the default of method.md."),
      final: object({
        steps: int(
          1,
          limits.maxFinalSteps,
          "Training steps from scratch.",
          DEFAULT_SEARCH_CONFIG.final.steps,
        ),
        seeds: int(
          0,
          limits.maxFinalSeeds,
          "Seeds (0 skips the final evaluation).",
          DEFAULT_SEARCH_CONFIG.final.seeds,
        ),
      }, "Final evaluation of the best loss against the standard loss."),
      seed: int(
        0,
        2 ** 31 - 1,
        "Seed: the same request and seed give the same result.",
        DEFAULT_SEARCH_CONFIG.seed,
      ),
    },
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
    config: {
      type: "object",
      description: "Every setting the search runs with (the request resolved against the " +
        "defaults); `dataset` is the dataset's id.",
    },
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

export const Losses: SchemaObject = {
  type: "object",
  required: ["search", "state", "task", "losses"],
  properties: {
    search: { type: "string" },
    state: { type: "string", enum: [...JOB_STATES] },
    stopped: { type: "string" },
    task: { type: "string", enum: ["classification", "regression"] },
    metric: { type: "string" },
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
  description: "The data of one Server-Sent Event. Event names: `state` (the job changed state), " +
    "`progress` (a candidate finished), `generation` (a generation finished and was " +
    "checkpointed), `best` (a new best loss), `finished` (the job ended; the stream closes).",
};
