/**
 * A search request as clients send it, and its resolution into the SearchConfig the engine runs:
 * every absent setting takes the default of method.md (through core's own defaults, so the
 * service, the CLI and the engine cannot disagree). The request's shape has already been checked
 * against its JSON Schema (api/schemas/search.ts); what a schema cannot say (operator
 * probabilities that must sum to 1, a population smaller than the elites) is checked here,
 * with the JSON pointer of the field at fault.
 */
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from "../core/search.ts";
import { defaultEvaluationFor } from "../core/settings.ts";
import { type GpSettings, validateGpSettings } from "../core/gp/mod.ts";
import type { DatasetRef, SplitSettings } from "../core/prepare.ts";
import type { EvaluationSettings } from "../core/settings.ts";
import type { ModelKind } from "../core/models.ts";
import type { Task } from "../core/data/dataset.ts";
import { invalid } from "./errors.ts";

type Partial2<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

export interface SearchRequest {
  dataset: string;
  task?: Task;
  model?: { kind?: ModelKind; hidden?: number[] };
  budget?: {
    population?: number;
    generations?: number;
    maxEvaluations?: number;
    maxSeconds?: number;
  };
  method?: Partial2<EvaluationSettings> & {
    gp?: Partial<Omit<GpSettings, "populationSize" | "generations">>;
    split?: Partial<SplitSettings>;
    hallOfFameSize?: number;
  };
  final?: { steps?: number; seeds?: number };
  seed?: number;
}

/** The published budget (method.md): population 25, 50 generations, 5 final seeds. */
export const DEFAULT_BUDGET = { population: 25, generations: 50 };

export function resolveSearchConfig(
  req: SearchRequest,
  dataset: DatasetRef,
  datasetName: string,
): SearchConfig {
  const m = req.method ?? {};
  const base = defaultEvaluationFor(datasetName);
  const evaluation: EvaluationSettings = {
    screen: { ...base.screen, ...m.screen },
    gradientEquivalence: { ...base.gradientEquivalence, ...m.gradientEquivalence },
    localSearch: { ...base.localSearch, ...m.localSearch },
    inner: { ...base.inner, ...m.inner },
    fitnessSteps: m.fitnessSteps ?? base.fitnessSteps,
    batchSize: m.batchSize ?? base.batchSize,
    candidateBatch: m.candidateBatch ?? base.candidateBatch,
  };
  const d = DEFAULT_SEARCH_CONFIG.gp;
  const g = m.gp ?? {};
  // As on the command line: naming crossover and mutation only leaves reproduction the rest.
  const crossoverProb = g.crossoverProb ?? d.crossoverProb;
  const mutationProb = g.mutationProb ?? d.mutationProb;
  const reproductionProb = g.reproductionProb ??
    (g.crossoverProb !== undefined || g.mutationProb !== undefined
      ? Math.max(0, 1 - crossoverProb - mutationProb)
      : d.reproductionProb);
  let gp: GpSettings;
  try {
    gp = validateGpSettings({
      ...d,
      ...g,
      crossoverProb,
      mutationProb,
      reproductionProb,
      populationSize: req.budget?.population ?? DEFAULT_BUDGET.population,
      generations: req.budget?.generations ?? DEFAULT_BUDGET.generations,
    });
  } catch (e) {
    const why = (e as Error).message.replace(/^invalid GP settings: /, "");
    const pointer = /elites/.test(why)
      ? "/method/gp/elites"
      : /initMinHeight/.test(why)
      ? "/method/gp/initMinHeight"
      : /mutationMinHeight/.test(why)
      ? "/method/gp/mutationMinHeight"
      : "/method/gp";
    throw invalid(why, { pointer });
  }
  const kind = req.model?.kind ?? DEFAULT_SEARCH_CONFIG.model.kind;
  return {
    ...DEFAULT_SEARCH_CONFIG,
    dataset,
    model: {
      kind,
      hidden: kind === "mlp" ? req.model?.hidden ?? DEFAULT_SEARCH_CONFIG.model.hidden : [],
    },
    gp,
    evaluation,
    split: { ...DEFAULT_SEARCH_CONFIG.split, ...m.split },
    budget: { maxEvaluations: req.budget?.maxEvaluations, maxSeconds: req.budget?.maxSeconds },
    final: { ...DEFAULT_SEARCH_CONFIG.final, ...req.final },
    hallOfFameSize: m.hallOfFameSize ?? DEFAULT_SEARCH_CONFIG.hallOfFameSize,
    seed: req.seed ?? DEFAULT_SEARCH_CONFIG.seed,
  };
}
