/**
 * Peak memory of unrolled differentiation: one hypergradient through T = 1, 5, 20 differentiable
 * SGD steps of the MLP 784-100-10 at batch 128 under the learned loss of bench/README.md (the
 * `mlp_unroll` workload with T free), on wasm unless told otherwise.
 *
 *   deno run -A bench/memory.ts [--backend wasm|cpu|webgpu] [--ts 1,5,20] [--repeats 2]
 *
 * Several figures per T, because none of them alone is the memory the process needs:
 * - tfjs peak: `tf.profile`'s peakBytes (the engine's byte count after every kernel, maximum)
 *   less the bytes live before. tf.memory() read before and after would miss the peak: every
 *   intermediate is freed before the call returns. tfjs counts a tensor's bytes once per tensor,
 *   so views that share a buffer (reshapes, the clones it saves for the backward pass) count
 *   again: an upper bound on the tensors' own memory.
 * - buffers peak (wasm only): the high-water mark of the tensor buffers themselves, counted by
 *   wrapping the backend's malloc and free: each buffer once.
 * - wasm heap: the backend's linear memory before and after. It only grows, and it starts with
 *   slack, so it moves only once a peak outgrows it; it also holds what tfjs does not see (XNNPACK's
 *   packed copy of every matMul's right operand, cached until that tensor is freed; fragmentation).
 * - RSS delta: the process's resident set after the hypergradient less before it (both after a
 *   forced GC): the heap pages the peak touched, plus whatever the JavaScript side kept.
 * Each T runs in a fresh child process: pages a larger T touched would hide a smaller T's peak.
 */
import { parseArgs } from "node:util";
import { tf } from "../engine/tensor/tf.ts";
import { type BackendChoice, initBackend } from "../engine/tensor/backend.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { initialValues, toParams } from "../engine/models.ts";
import { hypergradient, lossGradients, tidyKeep, unrolledTaskLoss } from "../engine/train.ts";
import { BatchSource } from "../engine/batches.ts";
import { Rng } from "../core/rng.ts";
import { B, C, LEARNED_PHI, LEARNED_TREE, OPT, randomRows, SPEC, TRAIN_ROWS } from "./workloads.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    ts: { type: "string", default: "1,5,20" },
    repeats: { type: "string", default: "2" },
    child: { type: "string" },
  },
});

interface Measure {
  T: number;
  backend: string;
  /** tf.profile peakBytes less the bytes live before. */
  peakBytes: number;
  /** Bytes still live after the call (0 unless something leaked). */
  newBytes: number;
  kernels: number;
  /** High-water mark of tensor buffers allocated during the call (wasm only, else NaN). */
  bufferPeak: number;
  /** The wasm backend's linear memory before and after (0 on other backends). */
  wasmHeapBefore: number;
  wasmHeapAfter: number;
  rssDelta: number;
  jsHeapDelta: number;
  /** One more hypergradient, not profiled, on the grown heap. */
  ms: number;
}

const MB = 2 ** 20;

function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return backend.wasm?.HEAPU8.buffer.byteLength ?? 0;
}

interface WasmAllocator {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/**
 * Counts the bytes of the tensor buffers the wasm backend allocates from now on (it allocates
 * each through the module's `_malloc` and frees it through `_free`), and their high-water mark.
 */
function trackWasmBuffers(): { peak(): number } | undefined {
  const wasm = (tf.backend() as unknown as { wasm?: WasmAllocator }).wasm;
  if (!wasm) return undefined;
  const { _malloc: malloc, _free: free } = wasm;
  const sizes = new Map<number, number>();
  let live = 0, peak = 0;
  wasm._malloc = (bytes) => {
    const pointer = malloc(bytes);
    sizes.set(pointer, bytes);
    live += bytes;
    peak = Math.max(peak, live);
    return pointer;
  };
  wasm._free = (pointer) => {
    live -= sizes.get(pointer) ?? 0; // buffers from before the count began are not in it
    sizes.delete(pointer);
    free(pointer);
  };
  return { peak: () => peak };
}

/** The child: one T, one fresh process, one JSON line on stdout. */
async function measure(T: number): Promise<Measure> {
  const backend = await initBackend(args.backend as BackendChoice);
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const source = new BatchSource("classification", randomRows(TRAIN_ROWS, 1), C, B);
  const batches = Array.from({ length: T }, (_, t) => source.batch(t));
  const validation = source.batch(T);
  const loss = compileLoss(LEARNED_TREE, "classification");
  const phi = tf.tensor1d(LEARNED_PHI);
  const rng = new Rng(2);
  const theta0 = toParams(SPEC, initialValues(SPEC, () => rng.next()));
  const once = async () => {
    const { value, grad } = tidyKeep(() =>
      hypergradient(
        unrolledTaskLoss(SPEC, "classification", loss, OPT, theta0, batches, validation),
        phi,
      )
    );
    await grad.data();
    tf.dispose([value, grad]);
  };
  // Warm-up for the JIT and the kernels: one first-order gradient, small next to any unroll.
  const g = tf.tidy(() => lossGradients(SPEC, loss, phi, theta0, batches[0]));
  await g[0].data();
  tf.dispose(g);

  gc();
  const [rss0, js0, heap0] = [Deno.memoryUsage().rss, Deno.memoryUsage().heapUsed, wasmHeapBytes()];
  const bytes0 = tf.memory().numBytes;
  const buffers = trackWasmBuffers();
  const profile = await tf.profile(once);
  const bufferPeak = buffers?.peak() ?? NaN;
  gc();
  const [rss1, js1, heap1] = [Deno.memoryUsage().rss, Deno.memoryUsage().heapUsed, wasmHeapBytes()];
  const t0 = performance.now();
  await once();
  const ms = performance.now() - t0;
  return {
    T,
    backend: backend.name,
    peakBytes: profile.peakBytes - bytes0,
    newBytes: profile.newBytes,
    kernels: profile.kernels.length,
    bufferPeak,
    wasmHeapBefore: heap0,
    wasmHeapAfter: heap1,
    rssDelta: rss1 - rss0,
    jsHeapDelta: js1 - js0,
    ms,
  };
}

async function runChild(T: number): Promise<Measure> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--child",
      String(T),
      "--backend",
      args.backend,
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await cmd.output();
  if (!out.success) throw new Error(`child for T = ${T} failed`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

if (args.child !== undefined) {
  console.log(JSON.stringify(await measure(Number(args.child))));
} else {
  const ts = args.ts.split(",").map(Number);
  const repeats = Number(args.repeats);
  const runs = new Map<number, Measure[]>(ts.map((T) => [T, []]));
  // Rounds over every T, so that a change in the machine's load is spread over them.
  for (let r = 0; r < repeats; r++) for (const T of ts) runs.get(T)!.push(await runChild(T));
  const first = runs.get(ts[0])![0];
  console.log(
    `backend ${first.backend}; mlp 784-100-10, B ${B}; one hypergradient through T steps; ` +
      `MB = 2^20 bytes; ${repeats} fresh processes per T (RSS: min..max)`,
  );
  console.log(
    [
      "T",
      "tfjs peak MB",
      "per step",
      "buffers peak MB",
      "per step",
      "wasm heap MB",
      "RSS delta MB",
      "JS heap MB",
      "ms",
    ].join("\t"),
  );
  for (const T of ts) {
    const ms = runs.get(T)!;
    const m = ms[0];
    const range = (f: (m: Measure) => number) => {
      const v = ms.map(f);
      const [lo, hi] = [Math.min(...v), Math.max(...v)].map((x) => (x / MB).toFixed(1));
      return lo === hi ? lo : `${lo}..${hi}`;
    };
    console.log(
      [
        T,
        (m.peakBytes / MB).toFixed(1),
        (m.peakBytes / MB / T).toFixed(1),
        (m.bufferPeak / MB).toFixed(1),
        (m.bufferPeak / MB / T).toFixed(1),
        `${(m.wasmHeapBefore / MB).toFixed(0)} -> ${range((x) => x.wasmHeapAfter)}`,
        range((x) => x.rssDelta),
        range((x) => x.jsHeapDelta),
        Math.min(...ms.map((x) => x.ms)).toFixed(0),
      ].join("\t"),
    );
    if (ms.some((x) => x.newBytes !== 0)) console.log(`  T = ${T}: bytes left live after the call`);
  }
}
