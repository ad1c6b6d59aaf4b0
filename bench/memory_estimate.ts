/**
 * The memory estimate (core/memory.ts) against real peaks: for each workload, a fresh process
 * starts one real worker (wasm unless told otherwise), prepares the job's data on it and runs
 * the job's largest request (local search and fitness of one candidate, or of a stack), and
 * reports its peak resident set (VmHWM) beside the estimate.
 *
 *   deno run -A bench/memory_estimate.ts [--backend wasm|cpu] [--only REGEXP]
 *
 * Measured per worker: `data` is the peak after the worker prepared the job's data less the
 * resident set with the idle worker; `request` is the peak after the request less the peak
 * before it; `worker` is everything the worker added to the process (its runtime included).
 * The error is estimate / measured for the worker's whole share.
 */
import { parseArgs } from "node:util";
import { WorkerPool } from "../workers/pool.ts";
import { searchConfig } from "../core/search.ts";
import { modelSpecFor } from "../core/model_kinds.ts";
import { type DataSource, estimateSearchMemory, formatBytes } from "../core/memory.ts";
import { type DatasetRef, loadDataset } from "../core/prepare.ts";
import type { SettingsPatch } from "../core/settings.ts";
import type { Tree } from "../core/expr/tree.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    only: { type: "string" },
    child: { type: "string" },
    dir: { type: "string" },
  },
});

interface Workload {
  name: string;
  /** A bundled dataset, synthetic IDX images (rows of 28 x 28), or a synthetic CSV. */
  data: "iris" | "boston" | "mnist" | { images: number } | { csvRows: number } | {
    jsonRows: number;
  };
  settings: SettingsPatch;
  /** Candidates computed together (a stack), 1 by default. */
  stack?: number;
}

/** One meta-step and a few fitness steps: the peak is reached in the first; stacking pinned. */
const quick = (patch: SettingsPatch): SettingsPatch => ({
  execution: { candidateStack: "off" },
  ...patch,
  evaluation: {
    ...patch.evaluation,
    localSearch: { metaSteps: 1, ...patch.evaluation?.localSearch },
    fitnessSteps: 3,
  },
});

const WORKLOADS: Workload[] = [
  { name: "iris mlp 8, T=1", data: "iris", settings: quick({ model: { hidden: [8] } }) },
  { name: "mnist mlp 100, T=1, B=128", data: "mnist", settings: quick({}) },
  {
    name: "mnist mlp 100, T=20, B=128",
    data: "mnist",
    settings: quick({ evaluation: { localSearch: { unrollSteps: 20 } } }),
  },
  {
    name: "mnist mlp 100, T=5, B=2048",
    data: "mnist",
    settings: quick({ evaluation: { localSearch: { unrollSteps: 5 }, batchSize: 2048 } }),
  },
  {
    name: "mnist mlp 1024-1024, T=5, B=256",
    data: "mnist",
    settings: quick({
      model: { hidden: [1024, 1024] },
      evaluation: { localSearch: { unrollSteps: 5 }, batchSize: 256 },
    }),
  },
  {
    name: "mnist mlp 100, T=5, 8 stacked",
    data: "mnist",
    settings: quick({
      evaluation: { localSearch: { unrollSteps: 5 } },
      execution: { candidateStack: 8 },
      budget: { population: 8 },
    }),
    stack: 8,
  },
  {
    name: "boston mlp 64, T=50, B=256",
    data: "boston",
    settings: quick({
      model: { hidden: [64] },
      evaluation: { localSearch: { unrollSteps: 50 }, batchSize: 256 },
    }),
  },
  {
    name: "40k images mlp 100, T=10, B=4096",
    data: { images: 40_000 },
    settings: quick({ evaluation: { localSearch: { unrollSteps: 10 }, batchSize: 4096 } }),
  },
  {
    name: "CSV 20k x 50, mlp 100, T=5, B=512",
    data: { csvRows: 20_000 },
    settings: quick({ evaluation: { localSearch: { unrollSteps: 5 }, batchSize: 512 } }),
  },
  {
    name: "JSON 20k x 50, mlp 100, T=5, B=512",
    data: { jsonRows: 20_000 },
    settings: quick({ evaluation: { localSearch: { unrollSteps: 5 }, batchSize: 512 } }),
  },
  {
    name: "mnist lenet5, T=1, B=128",
    data: "mnist",
    settings: quick({ model: { kind: "lenet5" } }),
  },
];

const TREE: Tree = ["square", "sub", "fx", "y"];

function kb(field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return 1024 * Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]);
}

/** Synthetic IDX images and labels, written once for all children. */
function writeImages(dir: string, n: number): DatasetRef {
  const images = new Uint8Array(16 + n * 784);
  const view = new DataView(images.buffer);
  images[2] = 8;
  images[3] = 3;
  [n, 28, 28].forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 16; i < images.length; i++) images[i] = Math.imul(i, 2654435761) >>> 24;
  const labels = new Uint8Array(8 + n);
  labels[2] = 8;
  labels[3] = 1;
  new DataView(labels.buffer).setUint32(4, n, false);
  for (let i = 0; i < n; i++) labels[8 + i] = i % 10;
  Deno.writeFileSync(`${dir}/images-${n}`, images);
  Deno.writeFileSync(`${dir}/labels-${n}`, labels);
  return { kind: "idx", images: `${dir}/images-${n}`, labels: `${dir}/labels-${n}` };
}

/** A CSV of n rows, 50 features and a class label (4 classes). */
function writeCsv(dir: string, n: number): void {
  const header = [...Array.from({ length: 50 }, (_, j) => `f${j}`), "y"].join(",");
  const lines = [header];
  for (let i = 0; i < n; i++) {
    const row = Array.from(
      { length: 50 },
      (_, j) => ((Math.imul(i * 50 + j, 2654435761) >>> 20) / 4096).toFixed(4),
    );
    lines.push([...row, String(i % 4)].join(","));
  }
  Deno.writeTextFileSync(`${dir}/rows-${n}.csv`, lines.join("\n"));
}

/** The same rows as JSON {"x": [[...]], "y": [...]}. */
function writeJson(dir: string, n: number): void {
  const x = Array.from(
    { length: n },
    (_, i) =>
      Array.from({ length: 50 }, (_, j) => (Math.imul(i * 50 + j, 2654435761) >>> 20) / 4096),
  );
  const y = Array.from({ length: n }, (_, i) => i % 4);
  Deno.writeTextFileSync(`${dir}/rows-${n}.json`, JSON.stringify({ x, y }));
}

function refOf(w: Workload, dir: string): DatasetRef {
  if (typeof w.data === "string") return { kind: "bundled", name: w.data };
  if ("csvRows" in w.data) {
    return { kind: "csv", path: `${dir}/rows-${w.data.csvRows}.csv`, target: "y" };
  }
  if ("jsonRows" in w.data) return { kind: "json", path: `${dir}/rows-${w.data.jsonRows}.json` };
  return {
    kind: "idx",
    images: `${dir}/images-${w.data.images}`,
    labels: `${dir}/labels-${w.data.images}`,
  };
}

interface Measured {
  workerBase: number;
  data: number;
  request: number;
  worker: number;
}

/** The child: one workload on one fresh worker. */
async function child(w: Workload, dir: string): Promise<Measured> {
  const config = searchConfig(refOf(w, dir), { request: w.settings });
  const before = kb("VmRSS");
  const pool = await WorkerPool.start({ size: 1, backend: args.backend as "wasm" });
  try {
    const idle = kb("VmRSS");
    const runner = pool.forJob({
      id: "bench",
      dataset: config.dataset,
      split: config.split,
      preprocessing: config.preprocessing,
      config: {
        model: modelSpecFor(config.model, await shapeOf(w)),
        evaluation: config.evaluation,
        seed: config.seed,
      },
    });
    await runner.describe();
    const afterData = kb("VmHWM");
    const items = Array.from({ length: w.stack ?? 1 }, (_, i) => ({ tree: TREE, phiSeed: i }));
    const outcomes = await runner.localSearchAndFitness(items);
    for (const o of outcomes) if (!o.ok) throw new Error(o.error);
    const peak = kb("VmHWM");
    await runner.close();
    return {
      workerBase: idle - before,
      data: afterData - idle,
      request: peak - afterData,
      worker: peak - before,
    };
  } finally {
    await pool.close();
  }
}

/** The data's shape, from which the service derives the model (as modelSpecFor does). */
async function shapeOf(w: Workload, dir = args.dir!) {
  const ds = await loadDataset(refOf(w, dir));
  return {
    task: ds.task,
    inputs: ds.d,
    nClasses: ds.nClasses,
    imageShape: ds.imageShape,
    rows: ds.n,
  };
}

function sourceOf(w: Workload): DataSource {
  if (typeof w.data === "string") return "bundled";
  return "csvRows" in w.data ? "csv" : "jsonRows" in w.data ? "json" : "idx";
}

if (args.child !== undefined) {
  const w = WORKLOADS.find((x) => x.name === args.child)!;
  console.log(JSON.stringify(await child(w, args.dir!)));
  Deno.exit(0);
}

const dir = await Deno.makeTempDir({ prefix: "lossmith-memory-" });
for (const w of WORKLOADS) {
  if (typeof w.data === "string") continue;
  if ("csvRows" in w.data) writeCsv(dir, w.data.csvRows);
  else if ("jsonRows" in w.data) writeJson(dir, w.data.jsonRows);
  else writeImages(dir, w.data.images);
}
const only = args.only ? new RegExp(args.only) : undefined;
const chosen = only ? WORKLOADS.filter((w) => only.test(w.name)) : WORKLOADS;
const rows: string[] = [];
const ratios: number[] = [];
for (const w of chosen) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      import.meta.filename!,
      "--child",
      w.name,
      "--dir",
      dir,
      "--backend",
      args.backend!,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    rows.push(`| ${w.name} | failed | | | |`);
    continue;
  }
  const m = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!) as Measured;
  const shape = await shapeOf(w, dir);
  const config = searchConfig(refOf(w, dir), { request: w.settings });
  const e = estimateSearchMemory(config, modelSpecFor(config.model, shape), {
    rows: shape.rows,
    features: shape.inputs,
    outputs: shape.task === "classification" ? shape.nClasses ?? 2 : 1,
    source: sourceOf(w),
    testFraction: config.split.testFraction,
    validationFraction: config.split.validationFraction,
  }, 1);
  const ratio = e.perWorker / m.worker;
  ratios.push(ratio);
  rows.push(
    `| ${w.name} | ${formatBytes(e.dataBytes)} / ${formatBytes(m.data)} | ` +
      `${formatBytes(e.requestBytes)} / ${formatBytes(m.request)} | ` +
      `${formatBytes(e.perWorker)} / ${formatBytes(m.worker)} | ${ratio.toFixed(2)} |`,
  );
  console.error(rows[rows.length - 1]);
}
await Deno.remove(dir, { recursive: true });
console.log(`backend ${args.backend}; estimate / measured (peak RSS added by one worker)\n`);
console.log("| workload | data | largest request | worker | estimate / measured |");
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
if (ratios.length) {
  console.log(
    `\nestimate / measured: ${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}`,
  );
}
