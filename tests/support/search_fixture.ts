/** A small, real search configuration on bundled Iris, quick enough for tests. */
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from "../../core/search.ts";
import { DEFAULT_EVALUATION } from "../../core/settings.ts";
import { loadDataset, prepare, type PreparedData } from "../../core/prepare.ts";
import type { ModelSpec } from "../../core/models.ts";

export function smallConfig(seed = 1, overrides: Partial<SearchConfig> = {}): SearchConfig {
  return {
    ...DEFAULT_SEARCH_CONFIG,
    dataset: { kind: "bundled", name: "iris" },
    model: { kind: "mlp", hidden: [8] },
    gp: { ...DEFAULT_SEARCH_CONFIG.gp, populationSize: 6, generations: 2 },
    evaluation: {
      ...DEFAULT_EVALUATION,
      screen: { ...DEFAULT_EVALUATION.screen, steps: 30 },
      localSearch: { ...DEFAULT_EVALUATION.localSearch, metaSteps: 5 },
      fitnessSteps: 30,
    },
    final: { steps: 50, seeds: 2 },
    seed,
    ...overrides,
  };
}

export async function prepared(
  config: SearchConfig,
): Promise<{ data: PreparedData; spec: ModelSpec }> {
  const data = prepare(await loadDataset(config.dataset), config.seed, config.split);
  const spec: ModelSpec = {
    kind: config.model.kind,
    inputs: data.inputs,
    outputs: data.nClasses ?? 1,
    hidden: config.model.hidden,
  };
  return { data, spec };
}
