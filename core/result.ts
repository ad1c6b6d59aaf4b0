/**
 * The result of a search as plain data: ranked losses in every notation, the filter statistics
 * of each generation, the final comparison with the standard loss, and everything needed to run
 * it again (configuration, seed, versions, backend).
 */
import { toInfix, toLatex, toPrefix } from "./expr/print.ts";
import { type Simplified, simplified } from "./expr/simplify.ts";
import type { Tree } from "./expr/tree.ts";
import {
  type FinalComparison,
  standardLossName,
  upgradeFinal,
  type VerdictOutcome,
} from "./final.ts";
import type {
  CandidateTimes,
  GenerationStats,
  Outcome,
  SearchConfig,
  SearchState,
  StoppedBy,
} from "./search.ts";
import type { PreparedData, Preprocessing } from "./prepare.ts";
import { splitWarnings } from "./warnings.ts";
import { validatedLoss } from "./loss_scale.ts";

export const LOSSMITH_VERSION = "0.1.0";

export interface RankedLoss {
  rank: number;
  /** The formula with its learned weights folded in as coefficients (and its scale). */
  infix: string;
  latex: string;
  /** The plain symbolic structure (all weights 1, no scale). */
  structure: { infix: string; latex: string };
  /** The same function with its weights folded into numeric coefficients and simplified. */
  simplified: Simplified;
  /** Canonical prefix form, the archive key. */
  canonical: string;
  /**
   * Prefix-order tree and one learned weight per node (phi[0], the root's, is unused): the loss
   * as it was validated and is exported, `mul(scale, ...)` where it was scaled.
   */
  tree: Tree;
  phi: number[];
  /** Validation task metric after the partial training that measured fitness. */
  fitness: number;
  /** Training steps of that measurement, where multi-fidelity measured several lengths. */
  fidelity?: number;
  /** Validation task loss of the same trained model (the tie-breaker). */
  taskLoss?: number;
  /** The scale folded into `tree` (`evaluation.normalizeScale`). */
  scale?: number;
}

export interface Versions {
  lossmith: string;
  deno: string;
  v8: string;
  typescript: string;
  tfjs: string;
}

/**
 * What a search came to: no loss survived the filters, the best loss was not compared with the
 * standard loss, or the final comparison's verdict.
 */
export type SearchOutcome = "no-usable-loss" | "not-compared" | VerdictOutcome;

export interface SearchResult {
  kind: "lossmith.search-result";
  createdAt: string;
  versions: Versions;
  backend: { name: string; adapter?: string; workers: number };
  config: SearchConfig;
  stopped: StoppedBy;
  outcome: SearchOutcome;
  /** The outcome in words: what to use, and why. */
  conclusion: string;
  /** Where the splits are too small for their metric to tell losses apart. */
  warnings: string[];
  dataset: {
    name: string;
    task: string;
    inputs: number;
    classes?: number;
    /** Rows of each split: fitness and local search read validation, the comparison test. */
    rows: { train: number; validation: number; test: number };
    /** What was done to inputs and targets before training, with the training rows' statistics. */
    preprocessing?: Preprocessing;
    /** Where the validation and test rows came from: `split` (the internal one) or the name of
     * the dataset given for it. */
    sources?: { validation: string; test: string };
  };
  losses: RankedLoss[];
  generations: GenerationStats[];
  totals: {
    generations: number;
    evaluations: number;
    distinctLosses: number;
    cacheHits: number;
    rejected: number;
    equivalent: number;
    diverged: number;
    failed: number;
    wallMs: number;
  };
  final?: FinalComparison;
}

export function rankLosses(state: SearchState, digits = 4): RankedLoss[] {
  return state.hallOfFame.entries.map((e, i) => {
    const { tree, phi } = validatedLoss(e);
    return {
      rank: i + 1,
      infix: toInfix(tree, phi, { digits }),
      latex: toLatex(tree, phi, { digits }),
      structure: { infix: toInfix(e.tree), latex: toLatex(e.tree) },
      simplified: simplified(tree, phi, digits),
      canonical: toPrefix(e.tree),
      tree,
      phi,
      fitness: e.fitness,
      ...(e.fidelity === undefined ? {} : { fidelity: e.fidelity }),
      ...(e.taskLoss === undefined ? {} : { taskLoss: e.taskLoss }),
      ...(e.scale === undefined ? {} : { scale: e.scale }),
    };
  });
}

/** One distinct loss the search met (an archive entry), for people: the per-candidate table. */
export interface CandidateRecord {
  /** Canonical prefix form, the archive key. */
  key: string;
  /** 1-based: the generation that first met it. */
  generation: number;
  outcome: Outcome;
  fitness: number | null;
  /** With its learned weights where it was tuned, else the plain structure. */
  infix: string;
  structure: string;
  reason?: string;
  equivalentTo?: string;
  screen?: { metricBefore: number; metricAfter: number };
  metaLoss?: { first: number; last: number; steps: number };
  /** Validation task loss of the trained model (the tie-breaker). */
  taskLoss?: number;
  /** The scale folded into `infix` (`evaluation.normalizeScale`). */
  scale?: number;
  /** Multi-fidelity: training steps of the measurement `fitness` is. */
  fidelity?: number;
  times: CandidateTimes;
}

/** The archive of a search state as records, in the order the search met them. */
export function candidateRecords(state: SearchState, digits = 4): CandidateRecord[] {
  return Object.entries(state.archive).map(([key, e]) => ({
    key,
    generation: e.generation + 1,
    outcome: e.outcome,
    fitness: e.fitness,
    // Weights of 1 where there are none, so that folded constants print rounded too; a scaled
    // loss as validated, its scale folded in.
    infix: toInfix(validatedLoss(e).tree, validatedLoss(e).phi, { digits }),
    structure: toInfix(e.tree, e.tree.map(() => 1), { digits }),
    ...(e.taskLoss !== undefined ? { taskLoss: e.taskLoss } : {}),
    ...(e.scale !== undefined ? { scale: e.scale } : {}),
    ...(e.fidelity !== undefined ? { fidelity: e.fidelity } : {}),
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.equivalentTo !== undefined ? { equivalentTo: e.equivalentTo } : {}),
    ...(e.screen ? { screen: e.screen } : {}),
    ...(e.metaLoss ? { metaLoss: e.metaLoss } : {}),
    times: state.candidateTimes?.[key] ?? {},
  }));
}

/** What a result says about the data: PreparedData has it, and so does a summary made elsewhere
 * (the service describes data prepared inside its workers). */
export type DataSummary =
  & Pick<
    PreparedData,
    "name" | "task" | "inputs" | "nClasses" | "preprocessing" | "sources"
  >
  & {
    train: { n: number };
    validation: { n: number };
    test: { n: number };
  };

export function buildResult(args: {
  config: SearchConfig;
  state: SearchState;
  stopped: StoppedBy;
  data: DataSummary;
  versions: Versions;
  backend: { name: string; adapter?: string; workers: number };
  final?: FinalComparison;
}): SearchResult {
  const { config, state, stopped, data, versions, backend, final } = args;
  const sum = (f: (g: GenerationStats) => number) => state.history.reduce((a, g) => a + f(g), 0);
  const losses = rankLosses(state);
  const rows = { train: data.train.n, validation: data.validation.n, test: data.test.n };
  const filtered = {
    rejected: sum((g) => g.rejected),
    diverged: sum((g) => g.diverged),
    failed: sum((g) => g.failed),
  };
  const { outcome, conclusion } = outcomeOf(data.task, losses.length, final, stopped, filtered);
  return {
    kind: "lossmith.search-result",
    createdAt: new Date().toISOString(),
    versions,
    backend,
    config,
    stopped,
    outcome,
    conclusion,
    warnings: splitWarnings(data.task, rows, losses, final),
    dataset: {
      name: data.name,
      task: data.task,
      inputs: data.inputs,
      classes: data.nClasses,
      rows,
      preprocessing: data.preprocessing,
      ...(data.sources ? { sources: data.sources } : {}),
    },
    losses,
    generations: state.history,
    totals: {
      generations: state.generation,
      evaluations: state.evaluations,
      distinctLosses: Object.keys(state.archive).length,
      cacheHits: sum((g) => g.cacheHits),
      rejected: filtered.rejected,
      equivalent: sum((g) => g.equivalent),
      diverged: filtered.diverged,
      failed: filtered.failed,
      wallMs: state.elapsedMs,
    },
    final,
  };
}

/** The outcome and its words: the verdict where the best loss was compared. */
export function outcomeOf(
  task: "classification" | "regression",
  losses: number,
  final: FinalComparison | undefined,
  stopped: StoppedBy,
  filtered: { rejected: number; diverged: number; failed: number },
): { outcome: SearchOutcome; conclusion: string } {
  const keep = `Keep the standard loss, ${standardLossName(task)}.`;
  if (losses === 0) {
    return {
      outcome: "no-usable-loss",
      conclusion: `No usable loss: every candidate was rejected by the screen, diverged or ` +
        `failed (${filtered.rejected} rejected, ${filtered.diverged} diverged, ` +
        `${filtered.failed} failed). ${keep}`,
    };
  }
  if (!final) {
    const why = stopped === "cancelled" ? "the search was cancelled" : "final.seeds is 0";
    return {
      outcome: "not-compared",
      conclusion: `The best loss was not compared with the standard loss (${why}), so nothing ` +
        `shows that it is better. ${keep}`,
    };
  }
  return { outcome: final.verdict.outcome, conclusion: final.verdict.words };
}

/**
 * A result as stored by any version, in today's shape: one made before the paired statistics
 * gets them (and a verdict on the paper's comparison alone, as it has no tuned one), and its
 * outcome, conclusion and split warnings.
 */
export function upgradeResult(stored: SearchResult): SearchResult {
  // Written before the simplified formula existed: made from each loss's tree and weights.
  const losses = stored.losses.every((l) => l.simplified) ? stored.losses : stored.losses.map((
    l,
  ) => l.simplified ? l : { ...l, simplified: simplified(l.tree, l.phi) });
  if (stored.outcome !== undefined) return { ...stored, losses };
  // Written before the verdict existed: the comparison and its verdict are made from the runs.
  const task = stored.dataset.task as "classification" | "regression";
  const final = stored.final &&
    upgradeFinal(stored.final, task, stored.config.evaluation.inner.lr);
  const t = stored.totals;
  return {
    ...stored,
    losses,
    ...outcomeOf(task, losses.length, final, stored.stopped, t),
    warnings: splitWarnings(task, stored.dataset.rows, losses, final),
    final,
  };
}
