/**
 * What a learned loss was tuned and validated with, for its exports. A learned loss is tuned for
 * one optimiser, learning rate, batch size, initialisation and input scaling; used elsewhere it
 * may behave quite differently (a loss tuned for plain SGD, used with momentum 0.9, can fail to
 * train at all), so every export states them, and the verdict of its comparison with the
 * standard loss.
 */
import type { SearchResult } from "../result.ts";
import type { Preprocessing } from "../prepare.ts";
import { initFor, type InitScheme } from "../model_kinds.ts";
import { describeLayers } from "../layers.ts";

export interface Provenance {
  optimizer: {
    name: "SGD";
    lr: number;
    momentum: number;
    nesterov: boolean;
    weightDecay: number;
  };
  batchSize: number;
  /** SGD steps of the fitness training, and of each final training run. */
  steps: { fitness: number; final: number };
  model: string;
  init: InitScheme;
  /** Absent while the search runs: the statistics come with its result. */
  preprocessing?: Preprocessing;
  /** This loss's learning rate in the tuned comparison, where it ran, and the standard loss's. */
  tunedLr?: { learned: number; standard: number };
  verdict: {
    outcome: string;
    /** Anything but a `better` verdict on this very loss: use the standard loss. */
    keepStandard: boolean;
    words: string;
  };
}

type ProvenanceSource =
  & Pick<SearchResult, "config">
  & Partial<
    Pick<SearchResult, "final" | "outcome" | "conclusion" | "dataset">
  >;

/**
 * The provenance of the loss ranked `rank` (1 is the best) of a search, from its result, or from
 * its configuration alone while it runs. Only the best loss is compared with the standard loss.
 */
export function provenanceOf(source: ProvenanceSource, rank: number): Provenance {
  const { config, final } = source;
  const inner = config.evaluation.inner;
  let verdict: Provenance["verdict"];
  if (source.outcome === undefined) {
    verdict = {
      outcome: "not-compared",
      keepStandard: true,
      words: "The search had not finished when this was exported: the loss has not been " +
        "compared with the standard loss. Keep the standard loss unless a comparison shows " +
        "otherwise.",
    };
  } else if (rank !== 1) {
    verdict = {
      outcome: "not-compared",
      keepStandard: true,
      words: `Only the rank-1 loss was compared with the standard loss; this is rank ${rank}. ` +
        "Keep the standard loss unless a comparison shows otherwise.",
    };
  } else {
    verdict = {
      outcome: source.outcome,
      keepStandard: source.outcome !== "better",
      words: source.conclusion ?? "",
    };
  }
  return {
    optimizer: {
      name: "SGD",
      lr: inner.lr,
      momentum: inner.momentum,
      nesterov: inner.nesterov,
      weightDecay: inner.weightDecay,
    },
    batchSize: config.evaluation.batchSize,
    steps: { fitness: config.evaluation.fitnessSteps, final: config.final.steps },
    model: config.model.kind +
      (config.model.hidden.length ? ` ${config.model.hidden.join("-")}` : "") +
      (config.model.layers?.length ? `: ${describeLayers(config.model.layers)}` : ""),
    init: initFor(config.model.kind, config.model.init),
    ...(source.dataset?.preprocessing ? { preprocessing: source.dataset.preprocessing } : {}),
    ...(rank === 1 && final?.tuned ? { tunedLr: { ...final.tuned.lr } } : {}),
    verdict,
  };
}

const list = (values: number[]) =>
  values.length > 4
    ? `${values.length} values (listed in the JSON export)`
    : `[${values.map((v) => Number(v.toPrecision(6))).join(", ")}]`;

/** The input and target scaling in words, with its statistics where they are few. */
export function describePreprocessing(p?: Preprocessing): string {
  if (!p) return "recorded with the result once the search has finished";
  const { scaling, mean, std } = p.inputs;
  const inputs = scaling === "none"
    ? "inputs as they are (no scaling)"
    : `inputs scaled ${scaling}, x' = (x - mean) / std with the training rows' mean ${
      list(mean)
    } and std ${list(std)}`;
  const targets = p.targets
    ? `; targets standardised, y' = (y - ${Number(p.targets.mean.toPrecision(6))}) / ${
      Number(p.targets.std.toPrecision(6))
    }: the loss was tuned on standardised targets and predictions`
    : "";
  return inputs + targets;
}

/** Comment lines for the code exports' headers. */
export function describeProvenance(p: Provenance): string[] {
  const o = p.optimizer;
  return [
    "Validated with (it was tuned and compared under these; other settings may not transfer):",
    `  optimiser: ${o.name}, learning rate ${o.lr}, momentum ${o.momentum}` +
    `${o.nesterov && o.momentum ? " (Nesterov)" : ""}, weight decay ${o.weightDecay}`,
    `  batch size ${p.batchSize}; fitness after ${p.steps.fitness} steps; final runs of ` +
    `${p.steps.final} steps`,
    ...(p.tunedLr
      ? [
        `  tuned comparison: this loss at learning rate ${p.tunedLr.learned}, the standard ` +
        `loss at ${p.tunedLr.standard}`,
      ]
      : []),
    `  model: ${p.model}, initialisation ${p.init}`,
    `  data: ${describePreprocessing(p.preprocessing)}`,
    `Verdict: ${p.verdict.words}`,
  ];
}
