/**
 * The whole search, as both the CLI and the service run it: search generations (optionally from a
 * checkpoint), final evaluation of the best loss, and the result document. Where the tensor work
 * happens is the caller's choice, through the runner and `platform.finalRuns`: the CLI may train
 * on its own thread, the service only in workers. This module itself does no tensor work and
 * imports no tensor code, so the service's main thread can use it.
 */
import type { CandidateRunner } from "./runner.ts";
import {
  runSearch,
  type SearchConfig,
  type SearchHooks,
  type SearchState,
  type StoppedBy,
} from "./search.ts";
import {
  combineFinal,
  type FinalComparison,
  type FinalSeedRuns,
  finalSeeds,
  type FinalSettings,
} from "./final.ts";
import { buildResult, type DataSummary, type SearchResult, type Versions } from "./result.ts";
import type { Task } from "./data/dataset.ts";
import type { Tree } from "./expr/tree.ts";
import { validatedLoss } from "./loss_scale.ts";

export interface SearchPlatform {
  runner: CandidateRunner;
  /** Trains one final seed (learned and standard loss); seeds may run concurrently. */
  finalRuns(tree: Tree, phi: number[], settings: FinalSettings, seed: number): Promise<
    FinalSeedRuns
  >;
  backend: { name: string; adapter?: string; workers: number };
  versions: Versions;
}

export interface PipelineHooks extends SearchHooks {
  /** Called once before the final evaluation starts, with the number of seeds. */
  onFinalStart?(seeds: number): void;
  /** Called as each final seed finishes. */
  onFinalSeed?(done: number, total: number): void;
}

export interface PipelineOptions {
  /** Run the final evaluation on the best loss so far even when the search was cancelled (the
   * CLI's Ctrl-C); the service stops promptly instead. */
  finalWhenCancelled?: boolean;
  resumeFrom?: SearchState;
  /** When the job began in this run (`performance.now()`): its time limit counts from here. */
  startedAt?: number;
}

export function finalSettingsFor(config: SearchConfig): FinalSettings {
  return {
    steps: config.final.steps,
    seeds: config.final.seeds,
    inner: config.evaluation.inner,
    batchSize: config.evaluation.batchSize,
    baseSeed: config.seed,
  };
}

/** Final evaluation of one loss, its seeds run concurrently on the platform. */
export async function evaluateFinal(
  platform: Pick<SearchPlatform, "finalRuns">,
  task: Task,
  tree: Tree,
  phi: number[],
  settings: FinalSettings,
  onSeed?: (done: number, total: number) => void,
): Promise<FinalComparison> {
  const seeds = finalSeeds(settings);
  let done = 0;
  const runs = await Promise.all(seeds.map(async (seed) => {
    const r = await platform.finalRuns(tree, phi, settings, seed);
    onSeed?.(++done, seeds.length);
    return r;
  }));
  return combineFinal(task, settings.steps, runs);
}

export async function searchAndEvaluate(
  config: SearchConfig,
  data: DataSummary,
  platform: SearchPlatform,
  hooks: PipelineHooks = {},
  opts: PipelineOptions = {},
): Promise<{ result: SearchResult; state: SearchState; stopped: StoppedBy }> {
  const { state, stopped } = await runSearch(
    config,
    platform.runner,
    hooks,
    opts.resumeFrom,
    opts.startedAt,
  );
  const best = state.hallOfFame.entries[0];
  let final: FinalComparison | undefined;
  const wanted = stopped !== "cancelled" || opts.finalWhenCancelled;
  if (best && config.final.seeds > 0 && wanted) {
    hooks.onFinalStart?.(config.final.seeds);
    // The loss as validated, its scale folded in: what the ranking shows and the exports write.
    const { tree, phi } = validatedLoss(best);
    final = await evaluateFinal(
      platform,
      data.task,
      tree,
      phi,
      finalSettingsFor(config),
      hooks.onFinalSeed,
    );
  }
  const result = buildResult({
    config,
    state,
    stopped,
    data,
    versions: platform.versions,
    backend: platform.backend,
    final,
  });
  return { result, state, stopped };
}
