/** `lossmith search`: a whole search from the command line, with live progress. */
import { initBackend } from "../core/tensor/backend.ts";
import { tf } from "../core/tensor/tf.ts";
import { describeRef, loadDataset, prepare } from "../core/prepare.ts";
import { type CandidateRunner, InProcessRunner } from "../core/runner.ts";
import { runSearch } from "../core/search.ts";
import { type FinalComparison, finalEvaluation } from "../core/final.ts";
import { buildResult, LOSSMITH_VERSION, type SearchResult, type Versions } from "../core/result.ts";
import { outputCount } from "../core/batches.ts";
import type { ModelSpec } from "../core/models.ts";
import { WorkerPool } from "../workers/pool.ts";
import { clock, ProgressPrinter } from "./progress.ts";
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

function describeFinal(f: FinalComparison, standardName: string): string {
  const fmt = (m: number | null, s: number | null) =>
    m === null ? "diverged" : `${m.toFixed(4)} ± ${(s ?? 0).toFixed(4)}`;
  const diff = f.difference === null
    ? "n/a"
    : `${f.difference > 0 ? "+" : ""}${f.difference.toFixed(4)} (${
      f.difference < 0 ? "learned loss better" : f.difference > 0 ? "standard loss better" : "equal"
    })`;
  return [
    `Final evaluation: test ${f.metric}, ${f.steps} steps from scratch, ${f.seeds.length} seeds`,
    `  learned loss   ${fmt(f.learned.mean, f.learned.std)}`,
    `  ${standardName.padEnd(14)} ${fmt(f.standard.mean, f.standard.std)}`,
    `  difference     ${diff}`,
  ].join("\n");
}

export function summary(result: SearchResult): string {
  const lines = [
    `Ranked losses (${result.dataset.name}, ${result.config.model.kind}, validation ${
      result.dataset.task === "classification" ? "error rate" : "MSE (standardised targets)"
    }):`,
  ];
  for (const l of result.losses.slice(0, 5)) {
    lines.push(`  ${l.rank}. ${l.fitness.toFixed(4)}  ${l.structure.infix}`);
    lines.push(`     learned: ${l.infix}`);
  }
  if (result.losses.length === 0) lines.push("  (none: every candidate was rejected or diverged)");
  const t = result.totals;
  lines.push(
    `Search: ${t.generations} generations, ${t.evaluations} evaluations, ${t.cacheHits} cache hits, ` +
      `${t.rejected} rejected, ${t.equivalent} equivalent, ${t.diverged} diverged, ${t.failed} failed, ${
        clock(t.wallMs)
      }` +
      ` (stopped: ${result.stopped})`,
  );
  if (result.final) {
    lines.push(
      describeFinal(
        result.final,
        result.dataset.task === "classification" ? "cross-entropy" : "MSE",
      ),
    );
  }
  return lines.join("\n");
}

export async function runCli(opts: CliOptions): Promise<SearchResult> {
  const { config } = opts;
  const log = (s: string) => opts.quiet || console.error(s);
  const backend = await initBackend(opts.backend);
  const data = prepare(await loadDataset(config.dataset), config.seed, config.split);
  const spec: ModelSpec = {
    kind: config.model.kind,
    inputs: data.inputs,
    outputs: outputCount(data.task, data.nClasses),
    hidden: config.model.hidden,
  };
  log(
    `Lossmith ${LOSSMITH_VERSION}: ${
      describeRef(config.dataset)
    } (${data.task}, ${data.train.n}/${data.validation.n}/${data.test.n} rows), ` +
      `${spec.kind} ${
        [spec.inputs, ...spec.hidden, spec.outputs].join("-")
      }, population ${config.gp.populationSize} x ${config.gp.generations} generations, ` +
      `seed ${config.seed}, backend ${backend.name}${
        backend.adapter ? ` (${backend.adapter})` : ""
      }, ` +
      `${opts.workers > 0 ? `${opts.workers} workers` : "main thread"}`,
  );
  const evaluatorConfig = { model: spec, evaluation: config.evaluation, seed: config.seed };
  const runner: CandidateRunner = opts.workers > 0
    ? await WorkerPool.start({
      size: opts.workers,
      backend: opts.backend,
      dataset: config.dataset,
      split: config.split,
      config: evaluatorConfig,
    })
    : new InProcessRunner(data, evaluatorConfig);

  const controller = new AbortController();
  const onInterrupt = () => {
    log("\nInterrupted: stopping after the last finished generation (Ctrl-C again to quit now).");
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  const progress = new ProgressPrinter(opts.quiet);
  let outcome;
  try {
    outcome = await runSearch(config, runner, {
      onProgress: (p) => progress.update(p),
      signal: controller.signal,
    });
  } finally {
    await runner.close();
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  progress.done();

  const best = outcome.state.hallOfFame.entries[0];
  let final: FinalComparison | undefined;
  if (best && config.final.seeds > 0) {
    log(
      `Final evaluation: ${config.final.seeds} seeds x ${config.final.steps} steps, learned and standard loss...`,
    );
    final = await finalEvaluation(
      data,
      spec,
      best.tree,
      [...(best.phi ?? best.tree.map(() => 1))],
      {
        steps: config.final.steps,
        seeds: config.final.seeds,
        inner: config.evaluation.inner,
        batchSize: config.evaluation.batchSize,
        baseSeed: config.seed,
      },
      (done, total) =>
        opts.quiet ||
        Deno.stderr.isTerminal() &&
          Deno.stderr.writeSync(new TextEncoder().encode(`\r  ${done}/${total} runs`)),
    );
    if (!opts.quiet && Deno.stderr.isTerminal()) console.error();
  }
  return buildResult({
    config,
    state: outcome.state,
    stopped: outcome.stopped,
    data,
    versions: versions(),
    backend: { name: backend.name, adapter: backend.adapter, workers: opts.workers },
    final,
  });
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
  const result = await runCli(opts);
  await Deno.writeTextFile(opts.out, JSON.stringify(result, null, 2) + "\n");
  console.log(summary(result));
  console.log(`Result written to ${opts.out}`);
  if (opts.reportDir) {
    const written = await writeReport(result, opts.reportDir);
    console.log(`Report written to ${written.html} (${written.svgs.length} charts)`);
  }
  return 0;
}
