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
  chosenLrs,
  combineFinal,
  type FinalComparison,
  type FinalRun,
  type FinalRunRequest,
  type FinalSettings,
  finalSettingsFor,
  rowRuns,
  runKey,
  selectionRounds,
  trialRuns,
} from "./final.ts";
import { buildResult, type DataSummary, type SearchResult, type Versions } from "./result.ts";
import type { Task } from "./data/dataset.ts";
import type { Tree } from "./expr/tree.ts";
import { validatedLoss } from "./loss_scale.ts";

export interface SearchPlatform {
  runner: CandidateRunner;
  /** Trains one run of the final comparison; runs may go concurrently. */
  finalRuns(
    tree: Tree,
    phi: number[],
    settings: FinalSettings,
    run: FinalRunRequest,
  ): Promise<FinalRun>;
  backend: { name: string; adapter?: string; workers: number };
  versions: Versions;
}

export interface PipelineHooks extends SearchHooks {
  /** Called once before the final evaluation starts, with the number of seeds. */
  onFinalStart?(seeds: number): void;
  /** Called as each training run of the final comparison finishes, with the runs planned so
   * far (the tuned row's are planned once the learning-rate trials have chosen). */
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

/**
 * Final evaluation of one loss (core/final.ts): the paper's runs and the learning-rate trials at
 * once, then the tuned row's runs at the rates the trials chose. Runs go concurrently on the
 * platform, and a run planned twice (a trial at the final length is also a tuned or paper run of
 * the first seed) is trained once. `onRun` hears of each run finished, and of runs planned as
 * they are: the tuned row's runs count as soon as the trials have chosen, so that a progress
 * line does not stand at "all done" while they train.
 */
export function evaluateFinal(
  platform: Pick<SearchPlatform, "finalRuns">,
  task: Task,
  tree: Tree,
  phi: number[],
  settings: FinalSettings,
  onRun?: (done: number, total: number) => void,
): Promise<FinalComparison> {
  return evaluateFinalRuns(
    task,
    settings,
    (r) => platform.finalRuns(tree, phi, settings, r),
    onRun,
  );
}

/**
 * The final comparison with any learned loss, symbolic or not: `train` trains one run (its
 * `loss` says which of the two). The one protocol of the service, the CLI and the study
 * (reproduce/): which runs, in which order, and the comparison built from them.
 */
export async function evaluateFinalRuns(
  task: Task,
  settings: FinalSettings,
  train: (run: FinalRunRequest) => Promise<FinalRun>,
  onRun?: (done: number, total: number) => void,
): Promise<FinalComparison> {
  const runs = new Map<string, Promise<FinalRun>>();
  const results = new Map<string, FinalRun>();
  let done = 0;
  const start = (requests: FinalRunRequest[]) => {
    const planned = runs.size;
    const all = Promise.all(requests.map((r) => {
      const key = runKey(r);
      if (!runs.has(key)) {
        runs.set(
          key,
          train(r).then((out) => {
            results.set(key, out);
            onRun?.(++done, runs.size);
            return out;
          }),
        );
      }
      return runs.get(key)!;
    }));
    if (runs.size > planned) onRun?.(done, runs.size);
    return all;
  };
  const shared = settings.inner.lr;
  const paper = rowRuns(settings, { learned: shared, standard: shared });
  const result = (r: FinalRunRequest) => results.get(runKey(r))!;
  // The paper's row alongside the first round of trials; each later round (the grid extended
  // past an edge) once the trials before it are known.
  let first = true;
  for (const rates of selectionRounds(settings, (r) => results.get(runKey(r)))) {
    await start([...(first ? paper : []), ...trialRuns(settings, rates)]);
    first = false;
  }
  if (settings.tuneLr) {
    const { lr } = chosenLrs(settings, result);
    if (lr) await start(rowRuns(settings, lr));
  }
  return combineFinal(task, settings, result);
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
