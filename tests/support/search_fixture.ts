/** A small, real search configuration on bundled Iris, quick enough for tests. */
import { runSearch, type SearchConfig, searchConfig, type SearchState } from "../../core/search.ts";
import { InProcessRunner } from "../../engine/runner.ts";
import { loadDataset, prepare, type PreparedData } from "../../core/prepare.ts";
import type { ModelSpec } from "../../engine/models.ts";
import { modelSpecFor } from "../../core/model_kinds.ts";

export function smallConfig(seed = 1, overrides: Partial<SearchConfig> = {}): SearchConfig {
  const config = searchConfig({ kind: "bundled", name: "iris" }, {
    request: {
      model: { kind: "mlp", hidden: [8] },
      budget: { population: 6, generations: 2 },
      // The published objective: the tests of the search-objective settings turn them on.
      evaluation: {
        screen: { steps: 30 },
        localSearch: { metaSteps: 5 },
        fitnessSteps: 30,
        multiFidelity: { enabled: false },
        normalizeScale: false,
        tieBreak: false,
        folds: { belowRows: 0 },
      },
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

/** The search's data and a runner on this thread for it; the caller closes the runner. */
export async function inProcess(config: SearchConfig) {
  const { data, spec } = await prepared(config);
  const runner = new InProcessRunner(data, {
    model: spec,
    evaluation: config.evaluation,
    seed: config.seed,
  });
  return { data, spec, runner };
}

/** A whole search on this thread, from the start or from a state. */
export async function searchInProcess(config: SearchConfig, resumeFrom?: SearchState) {
  const { runner } = await inProcess(config);
  try {
    return await runSearch(config, runner, {}, resumeFrom);
  } finally {
    await runner.close();
  }
}
