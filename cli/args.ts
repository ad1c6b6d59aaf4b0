/**
 * Command-line flags of `lossmith search`, turned into a SearchConfig. Every method setting of
 * core/settings.ts and core/gp/settings.ts has a flag; unset flags keep the method's defaults,
 * except the search budget, which defaults to one that finishes in about ten minutes on a 2-core
 * machine (`--paper` restores the published budget).
 */
import { parseArgs } from "node:util";
import { type BackendChoice, BACKENDS } from "../core/tensor/backend.ts";
import { parseDatasetRef } from "../core/prepare.ts";
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from "../core/search.ts";
import {
  type CandidateBatch,
  defaultEvaluationFor,
  parseCandidateBatch,
} from "../core/settings.ts";
import { validateGpSettings } from "../core/gp/mod.ts";
import type { UnrollOptions } from "../core/train.ts";
import { MODEL_KINDS, type ModelKind } from "../core/models.ts";
import { PAPER_BUDGET, QUICK_BUDGET } from "./budgets.ts";

export interface CliOptions {
  config: SearchConfig;
  backend: BackendChoice;
  /** 0 evaluates in the main thread. */
  workers: number;
  out: string;
  reportDir?: string;
  quiet: boolean;
  /** Allow dataset URLs on loopback, private or link-local hosts. */
  allowPrivateUrls: boolean;
}

export const USAGE = `Usage: deno task search [flags]

Data and model
  --dataset NAME|FILE       mnist (default), boston, iris, or a file, its format by extension:
                            .csv/.tsv/.txt (needs --target), .json (rows as objects with a
                            --target key, or {"x": [[...]], "y": [...]}), .npy/.npy.gz features
                            or IDX images (.idx, -ubyte, .gz), each with --labels.
                            Files may be http(s) URLs: downloaded once (60 s, 512 MiB limits),
                            never from loopback/private hosts unless --allow-private-urls
  --target COLUMN           target column of a CSV file, target key of JSON row objects
  --labels FILE             labels file (.npy, or IDX) of a .npy or IDX features file
  --task classification|regression   for CSV, JSON and .npy files (inferred when absent)
  --model linear|mlp|lenet5|allconv|resnet18   (default mlp; conv models need image data)
  --hidden 100[,50...]      MLP hidden widths (default 100)
Budget
  --population N --generations N    (default ${QUICK_BUDGET.population} x ${QUICK_BUDGET.generations})
  --paper                   the published budget: population ${PAPER_BUDGET.population}, ${PAPER_BUDGET.generations} generations, ${PAPER_BUDGET.finalSteps} final steps
  --max-evaluations N       stop before a generation once N candidates were tuned
  --max-seconds S           stop before a generation that would end after S seconds
Method (defaults from method.md)
  --meta-steps N  --unroll-steps T  --meta-lr X  --fitness-steps N  --batch-size N
  --unroll exact|truncated|first-order  --truncate-to K   (for large T; default exact)
  --screen-steps N  --no-screen  --no-equivalence  --no-local-search (GP-LFL)
  --lr X  --momentum X  --nesterov  --weight-decay X
  --tournament N  --crossover P  --mutation P  --max-height N  --elites N
Final evaluation
  --final-steps N (default ${QUICK_BUDGET.finalSteps})  --final-seeds N (default ${QUICK_BUDGET.finalSeeds})  --no-final
Run
  --seed N (default 1)  --backend ${BACKENDS.join("|")} (default auto)
  --workers N (default: number of cores; 0 = main thread)
  --out FILE (default result.json)  --report DIR (HTML and SVG charts; default FILE-report/)
  --no-report  --quiet
  --candidate-batch auto|off|K   local search and fitness of up to K candidates together (MLP
                            and linear models; same results, a speed setting). auto (default) batches
                            when a short calibration on this model and data says it is faster
`;

function int(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  }
  return n;
}

function num(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    throw new Error(`--${name} must be a number >= ${min}, got '${v}'`);
  }
  return n;
}

function candidateBatch(v: string | undefined, base: CandidateBatch): CandidateBatch {
  if (v === undefined) return base;
  try {
    return parseCandidateBatch(v);
  } catch (e) {
    throw new Error(`--candidate-batch ${(e as Error).message}`);
  }
}

function unrollOptions(mode: string | undefined, truncateTo: number | undefined): UnrollOptions {
  const m = mode ?? (truncateTo !== undefined ? "truncated" : "exact");
  if (m !== "exact" && m !== "truncated" && m !== "first-order") {
    throw new Error(`--unroll must be exact, truncated or first-order, got '${m}'`);
  }
  return m === "truncated" ? { mode: m, truncateTo: truncateTo ?? 1 } : { mode: m };
}

export function parseCli(argv: string[]): CliOptions | "help" {
  const str = { type: "string" } as const;
  const bool = { type: "boolean" } as const;
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { ...bool, short: "h" },
      dataset: str,
      target: str,
      labels: str,
      task: str,
      model: str,
      hidden: str,
      population: str,
      generations: str,
      paper: bool,
      "max-evaluations": str,
      "max-seconds": str,
      "meta-steps": str,
      "unroll-steps": str,
      unroll: str,
      "truncate-to": str,
      "meta-lr": str,
      "fitness-steps": str,
      "batch-size": str,
      "candidate-batch": str,
      "screen-steps": str,
      "no-screen": bool,
      "no-equivalence": bool,
      "no-local-search": bool,
      lr: str,
      momentum: str,
      nesterov: bool,
      "weight-decay": str,
      tournament: str,
      crossover: str,
      mutation: str,
      "max-height": str,
      elites: str,
      "final-steps": str,
      "final-seeds": str,
      "no-final": bool,
      seed: str,
      backend: str,
      workers: str,
      out: str,
      report: str,
      "no-report": bool,
      "allow-private-urls": bool,
      quiet: bool,
    },
  });
  if (v.help) return "help";
  const dataset = parseDatasetRef(v.dataset ?? "mnist", v.target, v.labels);
  if (v.labels && dataset.kind !== "npy" && dataset.kind !== "idx") {
    throw new Error(`--labels is for .npy and IDX features files, not '${v.dataset ?? "mnist"}'`);
  }
  if (v.task) {
    if (v.task !== "classification" && v.task !== "regression") {
      throw new Error(`--task must be classification or regression, got '${v.task}'`);
    }
    if (dataset.kind === "csv" || dataset.kind === "json" || dataset.kind === "npy") {
      dataset.task = v.task;
    }
  }
  const model = (v.model ?? "mlp") as ModelKind;
  if (!(MODEL_KINDS as readonly string[]).includes(model)) {
    throw new Error(`--model must be one of ${MODEL_KINDS.join(", ")}, got '${model}'`);
  }
  const hidden = v.hidden === undefined
    ? [100]
    : v.hidden.split(",").map((h) => int("hidden", h, 1)!);
  const backend = (v.backend ?? "auto") as BackendChoice;
  if (!BACKENDS.includes(backend)) {
    throw new Error(`--backend must be one of ${BACKENDS.join(", ")}`);
  }
  const budget = v.paper ? PAPER_BUDGET : QUICK_BUDGET;

  const base = defaultEvaluationFor(dataset.kind === "bundled" ? dataset.name : "");
  const evaluation = {
    ...base,
    screen: {
      ...base.screen,
      enabled: !v["no-screen"],
      steps: int("screen-steps", v["screen-steps"], 1) ?? base.screen.steps,
    },
    gradientEquivalence: { ...base.gradientEquivalence, enabled: !v["no-equivalence"] },
    localSearch: {
      ...base.localSearch,
      enabled: !v["no-local-search"],
      metaSteps: int("meta-steps", v["meta-steps"], 1) ?? base.localSearch.metaSteps,
      unrollSteps: int("unroll-steps", v["unroll-steps"], 1) ?? base.localSearch.unrollSteps,
      metaLr: num("meta-lr", v["meta-lr"]) ?? base.localSearch.metaLr,
      unroll: unrollOptions(v.unroll, int("truncate-to", v["truncate-to"], 1)),
    },
    inner: {
      lr: num("lr", v.lr) ?? base.inner.lr,
      momentum: num("momentum", v.momentum) ?? base.inner.momentum,
      nesterov: v.nesterov ?? base.inner.nesterov,
      weightDecay: num("weight-decay", v["weight-decay"]) ?? base.inner.weightDecay,
    },
    fitnessSteps: int("fitness-steps", v["fitness-steps"], 1) ?? base.fitnessSteps,
    batchSize: int("batch-size", v["batch-size"], 1) ?? base.batchSize,
    candidateBatch: candidateBatch(v["candidate-batch"], base.candidateBatch ?? "auto"),
  };
  const d = DEFAULT_SEARCH_CONFIG.gp;
  const crossoverProb = num("crossover", v.crossover) ?? d.crossoverProb;
  const mutationProb = num("mutation", v.mutation) ?? d.mutationProb;
  const gp = validateGpSettings({
    ...d,
    populationSize: int("population", v.population, 1) ?? budget.population,
    generations: int("generations", v.generations, 1) ?? budget.generations,
    tournamentSize: int("tournament", v.tournament, 1) ?? d.tournamentSize,
    crossoverProb,
    mutationProb,
    reproductionProb: Math.max(0, 1 - crossoverProb - mutationProb),
    maxHeight: int("max-height", v["max-height"], 1) ?? d.maxHeight,
    elites: int("elites", v.elites) ?? d.elites,
  });
  const finalSeeds = v["no-final"]
    ? 0
    : int("final-seeds", v["final-seeds"], 1) ?? budget.finalSeeds;
  const config: SearchConfig = {
    ...DEFAULT_SEARCH_CONFIG,
    dataset,
    model: { kind: model, hidden: model === "mlp" ? hidden : [] },
    gp,
    evaluation,
    budget: {
      maxEvaluations: int("max-evaluations", v["max-evaluations"], 1),
      maxSeconds: num("max-seconds", v["max-seconds"]),
    },
    final: {
      steps: int("final-steps", v["final-steps"], 1) ?? budget.finalSteps,
      seeds: finalSeeds,
    },
    seed: int("seed", v.seed) ?? DEFAULT_SEARCH_CONFIG.seed,
  };
  const out = v.out ?? "result.json";
  return {
    config,
    backend,
    workers: int("workers", v.workers) ?? navigator.hardwareConcurrency ?? 1,
    out,
    reportDir: v["no-report"] ? undefined : v.report ?? out.replace(/\.json$/, "") + "-report",
    quiet: v.quiet ?? false,
    // The service's variable works here too, so its refusal message holds for both.
    allowPrivateUrls: v["allow-private-urls"] ??
      /^(1|true|yes|on)$/i.test(Deno.env.get("LOSSMITH_ALLOW_PRIVATE_URLS") ?? ""),
  };
}
