/** `lossmith search`: a whole search from the command line, with live progress. */
import { initBackend } from "../engine/tensor/backend.ts";
import { tf } from "../engine/tensor/tf.ts";
import { describeRef, loadAndPrepare } from "../core/prepare.ts";
import { dataRefsOf } from "../core/search.ts";
import { InProcessRunner } from "../engine/runner.ts";
import { finalRun } from "../engine/final_runs.ts";
import { LOSSMITH_VERSION, type SearchResult, type Versions } from "../core/result.ts";
import { searchAndEvaluate, type SearchPlatform } from "../core/pipeline.ts";
import { describeModel, modelIssues, modelSpecFor } from "../core/model_kinds.ts";
import { estimateModelSize, formatBytes } from "../core/model_size.ts";
import { flagAt, pathPointer } from "../core/settings_schema.ts";
import { WorkerPool } from "../workers/pool.ts";
import { ProgressPrinter } from "./progress.ts";
import { initialProgress, type ProgressEvent, reduceProgress } from "../core/progress.ts";
import { DataError } from "../core/data/mod.ts";
import { UrlFetchFailed, UrlRefused, UrlTooLarge } from "../service/url_fetch.ts";
import { CLI_FETCH_LIMITS, localizeRef } from "./fetch_dataset.ts";
import { summary } from "./summary.ts";
import { writeReport } from "../report/html.ts";
import { type CliOptions, parseCli, USAGE } from "./args.ts";

export function versions(): Versions {
  return {
    lossmith: LOSSMITH_VERSION,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    tfjs: tf.version.tfjs,
  };
}

/** ", validation FILE, test FILE" for the splits the user gave. */
function givenSources(sources?: { validation: string; test: string }): string {
  if (!sources) return "";
  const given = (["validation", "test"] as const).filter((r) => sources[r] !== "split");
  return given.map((r) => `, ${r} ${sources[r]}`).join("");
}

export async function runCli(opts: CliOptions): Promise<SearchResult> {
  // maxSeconds bounds the whole command from here, loading the data and starting workers included.
  const startedAt = performance.now();
  const { config } = opts;
  const log = (s: string) => opts.quiet || console.error(s);
  const backend = await initBackend(opts.backend);
  const fetchOpts = { ...CLI_FETCH_LIMITS, allowPrivate: opts.allowPrivateUrls };
  config.dataset = await localizeRef(config.dataset, fetchOpts);
  if (config.validation) config.validation = await localizeRef(config.validation, fetchOpts);
  if (config.test) config.test = await localizeRef(config.test, fetchOpts);
  const data = await loadAndPrepare(config, config.seed, config.split, config.preprocessing);
  const issues = modelIssues(config.model, data);
  if (issues.length) {
    throw new Error(
      issues.map((i) => {
        const flag = flagAt(pathPointer(i.path.slice(0, 2))) ?? i.path.join(".");
        const [layer, field] = i.path.slice(2);
        const at = layer === undefined ? "" : `layer ${layer}${field ? ` ${field}` : ""} `;
        return `--${flag}: ${at}${i.detail}`;
      }).join("; "),
    );
  }
  const spec = modelSpecFor(config.model, data);
  const size = estimateModelSize(spec, config, {
    train: data.train.n,
    validation: data.validation.n,
    test: data.test.n,
  });
  log(
    `Lossmith ${LOSSMITH_VERSION}: ${
      describeRef(config.dataset)
    } (${data.task}, ${data.train.n}/${data.validation.n}/${data.test.n} rows${
      givenSources(data.sources)
    }), ` +
      `${describeModel(spec)} (${size.parameters} parameters, about ${
        formatBytes(size.bytes.total)
      } per worker), population ${config.budget.population} x ${config.budget.generations} generations, ` +
      `seed ${config.seed}, backend ${backend.name}${
        backend.adapter ? ` (${backend.adapter})` : ""
      }${
        backend.fused
          ? `, fused WebGPU engine on ${backend.fused}${
            opts.backend === "auto" ? " where a calibration measures it faster" : ""
          }`
          : ""
      }, ` +
      `${opts.workers > 0 ? `${opts.workers} workers` : "main thread"}`,
  );
  const evaluatorConfig = { model: spec, evaluation: config.evaluation, seed: config.seed };
  let platform: SearchPlatform;
  let pool: WorkerPool | undefined;
  if (opts.workers > 0) {
    pool = await WorkerPool.start({ size: opts.workers, backend: opts.backend });
    const runner = pool.forJob({
      id: "cli",
      ...dataRefsOf(config),
      split: config.split,
      preprocessing: config.preprocessing,
      config: evaluatorConfig,
    });
    platform = {
      runner,
      finalRuns: runner.finalRuns,
      backend: { name: backend.name, adapter: backend.adapter, workers: opts.workers },
      versions: versions(),
    };
  } else {
    platform = {
      runner: new InProcessRunner(data, evaluatorConfig, opts.backend),
      finalRuns: (tree, phi, settings, run) => finalRun(data, spec, tree, phi, settings, run),
      backend: { name: backend.name, adapter: backend.adapter, workers: 0 },
      versions: versions(),
    };
  }

  const controller = new AbortController();
  const onInterrupt = () => {
    log("\nInterrupted: stopping after the last finished generation (Ctrl-C again to quit now).");
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  const printer = new ProgressPrinter(opts.quiet);
  let progress = initialProgress(config.budget.generations);
  const step = (event: ProgressEvent) => {
    progress = reduceProgress(progress, event);
    printer.update(progress);
  };
  let finalStartedAt = 0;
  try {
    step({ kind: "started" });
    const { result } = await searchAndEvaluate(config, data, platform, {
      onProgress: (p) => step({ kind: "candidate", progress: p }),
      onGeneration: (_stats, state) => step({ kind: "generation", state }),
      signal: controller.signal,
      onFinalStart: (seeds) => {
        const tuned = config.final.tuneLr
          ? `, at the shared learning rate and each at its own best of ${
            config.final.lrGrid.join(", ")
          }${
            config.final.lrExtend ? ` (or past its edge, up to ${config.final.lrExtend} more)` : ""
          }`
          : "";
        printer.done(
          `Final evaluation: ${seeds} seeds x ${config.final.steps} steps, learned and ` +
            `standard loss${tuned}...`,
        );
        finalStartedAt = performance.now();
        step({ kind: "final-started", seeds });
      },
      onFinalSeed: (done, total) =>
        step({ kind: "final-seed", done, total, elapsedMs: performance.now() - finalStartedAt }),
    }, { finalWhenCancelled: true, startedAt });
    step({ kind: "finished" });
    printer.done();
    return result;
  } finally {
    await platform.runner.close();
    await pool?.close();
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

export async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseCli(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === "help") {
    console.log(USAGE);
    return 0;
  }
  let result: SearchResult;
  try {
    result = await runCli(opts);
  } catch (e) {
    // Bad data or settings are the user's to fix: a clear message, not a stack trace.
    const userErrors = [DataError, UrlRefused, UrlTooLarge, UrlFetchFailed];
    if (e instanceof Error && (userErrors.some((k) => e instanceof k) || e.constructor === Error)) {
      const where = e instanceof DataError
        ? [e.row && `row ${e.row}`, e.column && `column '${e.column}'`].filter(Boolean).join(", ")
        : "";
      console.error(
        `error: ${e.message}${where && !e.message.includes("row") ? ` (${where})` : ""}`,
      );
      return 1;
    }
    throw e;
  }
  await Deno.writeTextFile(opts.out, JSON.stringify(result, null, 2) + "\n");
  console.log(summary(result));
  console.log(`Result written to ${opts.out}`);
  if (opts.reportDir) {
    const written = await writeReport(result, opts.reportDir);
    console.log(`Report written to ${written.html} (${written.svgs.length} charts)`);
  }
  // Finished, but with nothing to recommend: a status of its own, for scripts.
  return result.outcome === "no-usable-loss" ? NO_USABLE_LOSS_STATUS : 0;
}

/** The exit status of a search that ran to its end and found no usable loss. */
export const NO_USABLE_LOSS_STATUS = 3;
