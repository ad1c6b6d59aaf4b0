/**
 * The project's benchmark: times each workload of bench/README.md on the engine and, pair by
 * pair, on the PyTorch reference in the same run: one repetition of ours, then one of the
 * reference's, workload by workload, so that load which comes and goes on the machine hits both
 * sides of a pair alike. Prints a table and one JSON line per workload
 * `{"workload","ms","torch_ms","ratio","backend","threads",...}`, with `ratio` the median of the
 * paired ratios ours / PyTorch (lower is better) and `threads` PyTorch's thread count (ours is
 * one on wasm and cpu). The fused workloads (engine/webgpu/) add the dispatches of a step and the
 * CPU's cost of a dispatch, and the dispatches tfjs-backend-webgpu issues for one candidate.
 *
 *   deno run -A bench/run.ts [--backend wasm|cpu|webgpu|auto] [--workloads a,b] [--repeats N]
 *                            [--no-torch] [--device cpu|cuda] [--json-only] [--python PATH]
 *                            [--whole-search] [--variant V]
 */
import { parseArgs } from "node:util";
import { wholeSearch } from "./whole_search.ts";
import { tf } from "../engine/tensor/tf.ts";
import { type BackendChoice, BACKENDS, initBackend } from "../engine/tensor/backend.ts";
import { DEFAULT_WORKLOADS, WORKLOADS } from "./workloads.ts";
import { type PairedTiming, repeatsFor, timeInterleaved } from "./timing.ts";
import { torchBlas, TorchServer } from "./torch.ts";
import { tfjsDispatches } from "./tfjs_dispatches.ts";
import { applyVariant } from "./variants.ts";

const USAGE = "usage: deno run -A bench/run.ts [--backend wasm|cpu|webgpu|auto] " +
  "[--workloads a,b] [--repeats N] [--no-torch] [--device cpu|cuda] [--json-only] [--python PATH] " +
  "[--whole-search] [--variant V]";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    workloads: { type: "string", default: DEFAULT_WORKLOADS.join(",") },
    repeats: { type: "string", default: "20" },
    "no-torch": { type: "boolean", default: false },
    device: { type: "string", default: "cpu" },
    "json-only": { type: "boolean", default: false },
    python: { type: "string", default: "/usr/bin/python3" },
    help: { type: "boolean", default: false },
    "whole-search": { type: "boolean", default: false },
    variant: { type: "string", default: "base" },
  },
});

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

if (args.help) {
  console.log(`${USAGE}\nworkloads: ${DEFAULT_WORKLOADS.join(", ")}`);
  Deno.exit(0);
}
const backendChoice = args.backend as BackendChoice;
if (!BACKENDS.includes(backendChoice)) fail(`unknown backend '${args.backend}'`);
const repeats = Number(args.repeats);
if (!Number.isInteger(repeats) || repeats < 1) fail(`--repeats must be a positive integer`);
if (args.device !== "cpu" && args.device !== "cuda") fail(`--device must be cpu or cuda`);
const names = args.workloads.split(",").map((s) => s.trim()).filter(Boolean);
const unknown = names.filter((n) => !(n in WORKLOADS));
if (unknown.length > 0) fail(`unknown workload(s): ${unknown.join(", ")}`);
const jsonOnly = args["json-only"];
const log = (msg: string) => jsonOnly || console.error(msg);

const hasGpu = !!(navigator as Navigator & { gpu?: GPU }).gpu;
const fusedNames = names.filter((n) => WORKLOADS[n].fused);
// Counted before the backend starts: the count switches tfjs to WebGPU for a moment.
let tfjsPerCandidate: { metaStep: number; fitnessStep: number } | undefined;
if (fusedNames.length > 0 && hasGpu) {
  log("  tfjs-backend-webgpu dispatches of one candidate's steps ...");
  tfjsPerCandidate = await tfjsDispatches().catch((e) => {
    log(`  (not counted: ${(e as Error).message})`);
    return undefined;
  });
}
const backend = await initBackend(backendChoice);
const variant = args.variant === "base" ? "base" : applyVariant(args.variant);
const ourThreads = backend.name === "webgpu" ? "gpu" : "1";
log(
  `backend ${backend.name}${backend.adapter ? ` (${backend.adapter})` : ""}, repeats ${repeats}` +
    (variant === "base" ? "" : `, variant ${variant}`),
);

let torch: TorchServer | undefined;
let torchMissing: string | undefined = args["no-torch"] ? "not run (--no-torch)" : undefined;
if (!args["no-torch"] && names.some((n) => WORKLOADS[n].torch)) {
  log(`  PyTorch reference (${args.python}, OMP_NUM_THREADS=1), interleaved with ours ...`);
  const started = await TorchServer.start(args.python, args.device);
  if (typeof started === "string") torchMissing = started;
  else torch = started;
}
const blas = torch && args.device === "cpu" ? await torchBlas(args.python) : {};
let torchInfo: { torch: string; threads: number; device: string } | undefined;

const timings = new Map<string, PairedTiming>();
for (const name of names) {
  const info = WORKLOADS[name];
  if (!info.make) continue;
  if (info.fused && !hasGpu) {
    log(`  ${name}: skipped, no WebGPU adapter`);
    continue;
  }
  log(`  ${name} ...`);
  let reference: (() => Promise<number>) | undefined;
  if (torch && info.torch) {
    const t = torch;
    try {
      torchInfo = await t.setup(name);
      reference = () => t.time(name);
    } catch (e) {
      torchMissing = `PyTorch reference failed on ${name}: ${(e as Error).message}`;
      torch = undefined;
    }
  }
  const t = await timeInterleaved(info, repeatsFor(info, repeats), reference);
  timings.set(name, t);
  log(
    `  ${name}: ${t.ours.ms.toFixed(3)} ms (min ${t.ours.minMs.toFixed(3)}, ${t.ours.repeats} ` +
      `repeats)${t.ratio === undefined ? "" : `, ratio ${t.ratio.toFixed(2)}x`}`,
  );
  if (t.ours.leaked !== 0) log(`  warning: ${name} leaks ${t.ours.leaked} tensors per repetition`);
}
await torch?.close();

/** The fused figures of a workload, with tfjs's dispatches per candidate beside its own. */
function fusedFigures(
  name: string,
  t: PairedTiming,
): Record<string, number | string> | undefined {
  if (!t.figures) return undefined;
  const k = Number(name.match(/_k(\d+)$/)![1]);
  const perStep = t.figures.dispatches_per_step as number;
  const tfjs = tfjsPerCandidate
    ? name.startsWith("fused_meta") ? tfjsPerCandidate.metaStep : tfjsPerCandidate.fitnessStep
    : undefined;
  return {
    ...t.figures,
    dispatches_per_candidate: Number((perStep / k).toFixed(2)),
    ...(tfjs === undefined ? {} : {
      tfjs_dispatches_per_candidate: tfjs,
      fewer_dispatches: Number((tfjs / (perStep / k)).toFixed(1)),
    }),
  };
}

const fmt = (v: number | undefined) => v === undefined ? "-" : v.toFixed(3);
const rows = names.map((name) => {
  const info = WORKLOADS[name], t = timings.get(name);
  const ratio = t?.ratio;
  const unfair = blas.blas === "reference" ? " (vs reference BLAS)" : "";
  const verdict = ratio === undefined || info.target === undefined
    ? ""
    : (ratio <= info.target ? "meets" : "misses") + unfair;
  const figures = t ? fusedFigures(name, t) : undefined;
  return { name, info, t, ratio, verdict, figures };
});

if (!jsonOnly) {
  console.log(
    `\nours: tfjs ${tf.version_core}, backend ${backend.name}, threads ${ourThreads}` +
      (fusedNames.length
        ? `; fused engine on ${
          [...timings.values()].find((t) => t.figures)?.figures?.adapter ?? "(no adapter)"
        }`
        : "") +
      `\ntorch: ${
        torchInfo
          ? `${torchInfo.torch}, device ${torchInfo.device}, threads ${torchInfo.threads}` +
            (blas.blas ? `, BLAS ${blas.blas} (${blas.paths?.join(", ")})` : "")
          : "-"
      }` +
      `\nratio: median over the repetitions of ours / PyTorch, each pair run back to back`,
  );
  if (torchMissing) console.log(`ratio missing: ${torchMissing}`);
  if (blas.blas === "reference") {
    console.log(
      "warning: PyTorch runs on netlib's reference BLAS (matMul about 10x slower than OpenBLAS " +
        "here), so every ratio flatters us. Install libopenblas0-serial (Debian) or point " +
        "LD_LIBRARY_PATH at an OpenBLAS libblas.so.3 for a fair reference.",
    );
  }
  const header = ["workload", "ours ms", "(min)", "torch ms", "ratio", "target", "note"];
  const table = rows.map(({ name, info, t, ratio, verdict, figures }) => [
    name,
    fmt(t?.ours.ms),
    fmt(t?.ours.minMs),
    fmt(t?.reference?.ms),
    ratio === undefined ? "-" : ratio.toFixed(2) + "x",
    info.target === undefined ? "-" : `<= ${info.target}x`,
    figures
      ? `${figures.dispatches_per_step} dispatches/step (${figures.dispatches_per_candidate}` +
        ` per candidate${
          figures.tfjs_dispatches_per_candidate === undefined
            ? ""
            : `; tfjs ${figures.tfjs_dispatches_per_candidate}, ${figures.fewer_dispatches}x as many`
        }), ${figures.cpu_us_per_dispatch} us CPU/dispatch`
      : t
      ? verdict
      : info.note ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  for (const row of [header, ...table]) {
    console.log(
      row.map((c, i) => (i === 0 || i === 6 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
        .join("  ").trimEnd(),
    );
  }
  console.log();
}
for (const { name, info, t, ratio, figures } of rows) {
  console.log(JSON.stringify({
    workload: name,
    ms: t ? Number(t.ours.ms.toFixed(3)) : null,
    torch_ms: t?.reference ? Number(t.reference.ms.toFixed(3)) : null,
    ratio: ratio === undefined ? null : Number(ratio.toFixed(3)),
    ratio_of_means: t?.reference ? Number((t.ours.ms / t.reference.ms).toFixed(3)) : null,
    backend: backend.name,
    threads: torchInfo?.threads ?? null,
    torch_blas: t?.reference ? blas.blas ?? null : null,
    repeats: t?.ours.repeats ?? null,
    min_ms: t ? Number(t.ours.minMs.toFixed(3)) : null,
    median_ms: t ? Number(t.ours.medianMs.toFixed(3)) : null,
    torch_median_ms: t?.reference ? Number(t.reference.medianMs.toFixed(3)) : null,
    target: info.target ?? null,
    ...(variant === "base" ? {} : { variant }),
    ...(figures ? { fused: figures } : {}),
    ...(t ? {} : { note: info.fused && !hasGpu ? "no WebGPU adapter" : info.note ?? null }),
    ...(t?.reference ? {} : { torch_missing: torchMissing ?? "not in the reference" }),
  }));
}

// The whole-search figure runs a complete search (minutes), so it is asked for explicitly.
if (args["whole-search"]) {
  log("  whole search: MNIST, MLP, population 25 x 10 generations, default settings ...");
  const w = await wholeSearch(backendChoice);
  const perMinute = (n: number) => Number((n / (w.ms / 60_000)).toFixed(1));
  if (!jsonOnly) {
    console.log(
      `whole search: ${(w.ms / 1000).toFixed(1)} s, ${w.individuals} individuals ` +
        `(${perMinute(w.individuals)}/min), ${w.tuned} tuned (${perMinute(w.tuned)}/min), ` +
        `${w.cacheHits} cache hits, ${w.rejected} rejected, ${w.equivalent} equivalent; ` +
        `${w.workers} ${w.backend} workers`,
    );
  }
  console.log(JSON.stringify({
    workload: "search_whole",
    ms: Number(w.ms.toFixed(0)),
    torch_ms: null,
    ratio: null,
    backend: w.backend,
    threads: w.workers,
    individuals_per_min: perMinute(w.individuals),
    tuned_per_min: perMinute(w.tuned),
  }));
}
