/**
 * The result of a search as plain data: ranked losses in every notation, the filter statistics
 * of each generation, the final comparison with the standard loss, and everything needed to run
 * it again (configuration, seed, versions, backend).
 */
import { toInfix, toLatex, toPrefix } from "./expr/print.ts";
import { type Simplified, simplified } from "./expr/simplify.ts";
import type { Tree } from "./expr/tree.ts";
import type { FinalComparison } from "./final.ts";
import type {
  CandidateTimes,
  GenerationStats,
  Outcome,
  SearchConfig,
  SearchState,
  StoppedBy,
} from "./search.ts";
import type { PreparedData } from "./prepare.ts";

export const LOSSMITH_VERSION = "0.1.0";

export interface RankedLoss {
  rank: number;
  /** The formula with its learned weights folded in as coefficients. */
  infix: string;
  latex: string;
  /** The plain symbolic structure (all weights 1). */
  structure: { infix: string; latex: string };
  /** The same function with its weights folded into numeric coefficients and simplified. */
  simplified: Simplified;
  /** Canonical prefix form, the archive key. */
  canonical: string;
  /** Prefix-order tree and one learned weight per node (phi[0], the root's, is unused). */
  tree: Tree;
  phi: number[];
  /** Validation task metric after the partial training that measured fitness. */
  fitness: number;
}

export interface Versions {
  lossmith: string;
  deno: string;
  v8: string;
  typescript: string;
  tfjs: string;
}

export interface SearchResult {
  kind: "lossmith.search-result";
  createdAt: string;
  versions: Versions;
  backend: { name: string; adapter?: string; workers: number };
  config: SearchConfig;
  stopped: StoppedBy;
  dataset: {
    name: string;
    task: string;
    inputs: number;
    classes?: number;
    rows: { train: number; validation: number; test: number };
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
    const phi = e.phi ? [...e.phi] : e.tree.map(() => 1);
    return {
      rank: i + 1,
      infix: toInfix(e.tree, phi, { digits }),
      latex: toLatex(e.tree, phi, { digits }),
      structure: { infix: toInfix(e.tree), latex: toLatex(e.tree) },
      simplified: simplified(e.tree, phi, digits),
      canonical: toPrefix(e.tree),
      tree: [...e.tree],
      phi,
      fitness: e.fitness,
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
  times: CandidateTimes;
}

/** The archive of a search state as records, in the order the search met them. */
export function candidateRecords(state: SearchState, digits = 4): CandidateRecord[] {
  return Object.entries(state.archive).map(([key, e]) => ({
    key,
    generation: e.generation + 1,
    outcome: e.outcome,
    fitness: e.fitness,
    // Weights of 1 where there are none, so that folded constants print rounded too.
    infix: toInfix(e.tree, e.phi ?? e.tree.map(() => 1), { digits }),
    structure: toInfix(e.tree, e.tree.map(() => 1), { digits }),
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.equivalentTo !== undefined ? { equivalentTo: e.equivalentTo } : {}),
    ...(e.screen ? { screen: e.screen } : {}),
    ...(e.metaLoss ? { metaLoss: e.metaLoss } : {}),
    times: state.candidateTimes?.[key] ?? {},
  }));
}

/** A stored result in today's shape: results written before the simplified formula existed get
 * it from their tree and weights. */
export function upgradeResult(result: SearchResult): SearchResult {
  if (result.losses.every((l) => l.simplified)) return result;
  return {
    ...result,
    losses: result.losses.map((l) =>
      l.simplified ? l : { ...l, simplified: simplified(l.tree, l.phi) }
    ),
  };
}

/** What a result says about the data: PreparedData has it, and so does a summary made elsewhere
 * (the service describes data prepared inside its workers). */
export type DataSummary = Pick<PreparedData, "name" | "task" | "inputs" | "nClasses"> & {
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
  return {
    kind: "lossmith.search-result",
    createdAt: new Date().toISOString(),
    versions,
    backend,
    config,
    stopped,
    dataset: {
      name: data.name,
      task: data.task,
      inputs: data.inputs,
      classes: data.nClasses,
      rows: { train: data.train.n, validation: data.validation.n, test: data.test.n },
    },
    losses: rankLosses(state),
    generations: state.history,
    totals: {
      generations: state.generation,
      evaluations: state.evaluations,
      distinctLosses: Object.keys(state.archive).length,
      cacheHits: sum((g) => g.cacheHits),
      rejected: sum((g) => g.rejected),
      equivalent: sum((g) => g.equivalent),
      diverged: sum((g) => g.diverged),
      failed: sum((g) => g.failed),
      wallMs: state.elapsedMs,
    },
    final,
  };
}
