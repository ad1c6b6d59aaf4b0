/**
 * The project's benchmark: times each workload of bench/README.md on the engine,
 * runs the PyTorch reference in the same run, and prints a table plus one JSON line per workload
 * `{"workload","ms","torch_ms","ratio","backend","threads",...}` (ratio = ours / PyTorch, lower is
 * better; `threads` is PyTorch's thread count, ours is one on wasm and cpu).
 *
 *   deno run -A bench/run.ts [--backend wasm|cpu|webgpu|auto] [--workloads a,b] [--repeats N]
 *                            [--no-torch] [--device cpu|cuda] [--json-only] [--python PATH]
 */
import { parseArgs } from "node:util";
import { wholeSearch } from "./whole_search.ts";
import { tf } from "../engine/tensor/tf.ts";
import { type BackendChoice, BACKENDS, initBackend } from "../engine/tensor/backend.ts";
import { DEFAULT_WORKLOADS, WORKLOADS } from "./workloads.ts";
import { repeatsFor, timeWorkload, type Timing } from "./timing.ts";
import { runTorch, type TorchRun } from "./torch.ts";

const USAGE = "usage: deno run -A bench/run.ts [--backend wasm|cpu|webgpu|auto] " +
  "[--workloads a,b] [--repeats N] [--no-torch] [--device cpu|cuda] [--json-only] [--python PATH] " +
  "[--whole-search]";

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

const backend = await initBackend(backendChoice);
const ourThreads = backend.name === "webgpu" ? "gpu" : "1";
log(`backend ${backend.name}${backend.adapter ? ` (${backend.adapter})` : ""}, repeats ${repeats}`);

const ours = new Map<string, Timing>();
for (const name of names) {
  const info = WORKLOADS[name];
  if (!info.make) continue;
  log(`  ${name} ...`);
  const t = await timeWorkload(info, repeatsFor(info, repeats));
  ours.set(name, t);
  log(`  ${name}: ${t.ms.toFixed(3)} ms (min ${t.minMs.toFixed(3)}, ${t.repeats} repeats)`);
  if (t.leaked !== 0) log(`  warning: ${name} leaks ${t.leaked} tensors per repetition`);
}

const torchNames = names.filter((n) => WORKLOADS[n].torch);
let torch: TorchRun = { results: new Map(), missing: "not run (--no-torch)" };
if (!args["no-torch"] && torchNames.length > 0) {
  log(`  PyTorch reference (${args.python}, OMP_NUM_THREADS=1) ...`);
  torch = await runTorch(args.python, torchNames, repeats, args.device);
}

const fmt = (v: number | undefined) => v === undefined ? "-" : v.toFixed(3);
const rows = names.map((name) => {
  const info = WORKLOADS[name], t = ours.get(name), r = torch.results.get(name);
  const ratio = t && r ? t.ms / r.ms : undefined;
  const unfair = torch.blas === "reference" ? " (vs reference BLAS)" : "";
  const verdict = ratio === undefined || info.target === undefined
    ? ""
    : (ratio <= info.target ? "meets" : "misses") + unfair;
  return { name, info, t, r, ratio, verdict };
});

if (!jsonOnly) {
  const first = [...torch.results.values()][0];
  console.log(
    `\nours: tfjs ${tf.version_core}, backend ${backend.name}, threads ${ourThreads}` +
      `\ntorch: ${
        first
          ? `${first.torch}, device ${first.device}, threads ${first.threads}` +
            (torch.blas ? `, BLAS ${torch.blas} (${torch.blasPaths?.join(", ")})` : "")
          : "-"
      }`,
  );
  if (torch.missing) console.log(`ratio missing: ${torch.missing}`);
  if (torch.blas === "reference") {
    console.log(
      "warning: PyTorch runs on netlib's reference BLAS (matMul about 10x slower than OpenBLAS " +
        "here), so every ratio flatters us. Install libopenblas0-serial (Debian) or point " +
        "LD_LIBRARY_PATH at an OpenBLAS libblas.so.3 for a fair reference.",
    );
  }
  const header = ["workload", "ours ms", "(min)", "torch ms", "ratio", "target", "note"];
  const table = rows.map(({ name, info, t, r, ratio, verdict }) => [
    name,
    fmt(t?.ms),
    fmt(t?.minMs),
    fmt(r?.ms),
    ratio === undefined ? "-" : ratio.toFixed(2) + "x",
    info.target === undefined ? "-" : `<= ${info.target}x`,
    t ? verdict : info.note ?? "",
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
for (const { name, info, t, r, ratio } of rows) {
  console.log(JSON.stringify({
    workload: name,
    ms: t ? Number(t.ms.toFixed(3)) : null,
    torch_ms: r?.ms ?? null,
    ratio: ratio === undefined ? null : Number(ratio.toFixed(3)),
    backend: backend.name,
    threads: r?.threads ?? null,
    torch_blas: r ? torch.blas ?? null : null,
    repeats: t?.repeats ?? null,
    min_ms: t ? Number(t.minMs.toFixed(3)) : null,
    median_ms: t ? Number(t.medianMs.toFixed(3)) : null,
    target: info.target ?? null,
    ...(t ? {} : { note: info.note ?? null }),
    ...(r ? {} : { torch_missing: torch.missing ?? "not in the reference" }),
  }));
}

// The whole-search figure runs a complete search (minutes), so it is asked for explicitly.
if (args["whole-search"]) {
  log("  whole search: MNIST, MLP, population 25 x 10 generations, default settings ...");
  const w = await wholeSearch(backend.name);
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
