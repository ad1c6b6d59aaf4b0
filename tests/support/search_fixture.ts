/** A small, real search configuration on bundled Iris, quick enough for tests. */
import { type SearchConfig, searchConfig } from "../../core/search.ts";
import { loadDataset, prepare, type PreparedData } from "../../core/prepare.ts";
import type { ModelSpec } from "../../engine/models.ts";
import { modelSpecFor } from "../../core/model_kinds.ts";

export function smallConfig(seed = 1, overrides: Partial<SearchConfig> = {}): SearchConfig {
  const config = searchConfig({ kind: "bundled", name: "iris" }, {
    request: {
      model: { kind: "mlp", hidden: [8] },
      budget: { population: 6, generations: 2 },
      evaluation: { screen: { steps: 30 }, localSearch: { metaSteps: 5 }, fitnessSteps: 30 },
      final: { steps: 50, seeds: 2 },
      seed,
    },
  });
  return { ...config, ...overrides };
}

export async function prepared(
  config: SearchConfig,
): Promise<{ data: PreparedData; spec: ModelSpec }> {
  const data = prepare(
    await loadDataset(config.dataset),
    config.seed,
    config.split,
    config.preprocessing,
  );
  return { data, spec: modelSpecFor(config.model, data) };
}
