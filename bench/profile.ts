/**
 * Where the time goes in mlp_step and mlp_unroll5: per-kernel totals (timed kernels), phase
 * timings of one SGD step, and matMul variants at the MLP's shapes. With `--lenet`, the
 * per-kernel totals of lenet_step and lenet_unroll1 instead.
 *
 *   deno run -A bench/profile.ts [--backend wasm|cpu|webgpu|auto] [--repeats N] [--lenet]
 *                                [--variant V]   (wasm only; see bench/variants.ts)
 */
import { parseArgs } from "node:util";
import { tf } from "../engine/tensor/tf.ts";
import { type BackendChoice, initBackend } from "../engine/tensor/backend.ts";
import { forward } from "../engine/models.ts";
import { lossGradients, sgdUpdate, taskLoss } from "../engine/train.ts";
import { BatchSource } from "../engine/batches.ts";
import {
  B,
  C,
  D,
  H,
  LENET_SPEC,
  OPT,
  randomRows,
  SPEC,
  TRAIN_ROWS,
  trainStep,
  unroll,
} from "./workloads.ts";
import { initialValues, toParams } from "../engine/models.ts";
import { Rng } from "../core/rng.ts";
import { applyVariant } from "./variants.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    repeats: { type: "string", default: "50" },
    variant: { type: "string", default: "base" },
    lenet: { type: "boolean", default: false },
  },
});
const N = Number(args.repeats);
const backend = await initBackend(args.backend as BackendChoice);
if (args.variant !== "base" && backend.name !== "wasm") throw new Error("variants are for wasm");
const variant = applyVariant(args.variant);
console.log(
  `backend ${backend.name}, variant ${variant}, ${N} repeats per figure (mean ms; min in brackets)\n`,
);

/** Mean and min ms of `fn` (which must leave no tensors behind) after 3 warm-up runs. */
async function bench(fn: () => Promise<void> | void): Promise<string> {
  for (let i = 0; i < 3; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  const mean = times.reduce((a, b) => a + b, 0) / N;
  return `${mean.toFixed(3).padStart(9)} [${Math.min(...times).toFixed(3)}]`;
}

/** Wraps every kernel of the active backend with a timer, summing by kernel and input shapes:
 * lighter than tf.profile, which reads every output back. */
function instrumentKernels(): { stats: Map<string, { ms: number; n: number }>; restore(): void } {
  const stats = new Map<string, { ms: number; n: number }>();
  const configs = tf.getKernelsForBackend(backend.name);
  for (const cfg of configs) {
    tf.unregisterKernel(cfg.kernelName, cfg.backendName);
    tf.registerKernel({
      ...cfg,
      kernelFunc: (a) => {
        const t0 = performance.now();
        const out = cfg.kernelFunc(a);
        const ms = performance.now() - t0;
        const shapes = Object.values(a.inputs).map((t) => `[${t?.shape ?? ""}]`).join("");
        const key = `${cfg.kernelName} ${shapes}`;
        const g = stats.get(key) ?? { ms: 0, n: 0 };
        stats.set(key, { ms: g.ms + ms, n: g.n + 1 });
        return out;
      },
    });
  }
  const restore = () => {
    for (const cfg of configs) {
      tf.unregisterKernel(cfg.kernelName, cfg.backendName);
      tf.registerKernel(cfg);
    }
  };
  return { stats, restore };
}

/** Kernel time per repetition by kernel and shapes, against the uninstrumented wall time. */
async function kernelProfile(name: string, run: () => Promise<void>): Promise<void> {
  const wall = await bench(run);
  const { stats, restore } = instrumentKernels();
  for (let i = 0; i < N; i++) await run();
  restore();
  let total = 0, count = 0;
  for (const g of stats.values()) [total, count] = [total + g.ms / N, count + g.n / N];
  console.log(
    `${name}: whole repetition ${wall.trim()} ms; ${count} kernels taking ${total.toFixed(3)} ms ` +
      `per repetition; the rest is tfjs's engine (tape, tidy, saved-tensor clones) and JS`,
  );
  const top = [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 24);
  for (const [key, g] of top) {
    console.log(
      `  ${(g.ms / N).toFixed(3).padStart(8)} ms  ${String(g.n / N).padStart(4)}x  ${key}`,
    );
  }
  console.log();
}

const profiled = args.lenet
  ? [["lenet_step", () => trainStep(LENET_SPEC)], ["lenet_unroll1", () => unroll(LENET_SPEC, 1)]]
  : [["mlp_step", () => trainStep(SPEC)], ["mlp_unroll5", () => unroll(SPEC, 5)]];
for (const [name, make] of profiled as [string, () => ReturnType<typeof trainStep>][]) {
  const rep = make();
  await kernelProfile(name, rep.run);
  rep.dispose();
}
if (args.lenet) Deno.exit(0);

// Phases of one SGD step (cross-entropy), each read back so the work is done.
const source = new BatchSource("classification", randomRows(TRAIN_ROWS, 1), C, B);
const rng = new Rng(2);
const params = toParams(SPEC, initialValues(SPEC, () => rng.next()));
const batch = source.batch(0);
const ce = (o: tf.Tensor2D, y: tf.Tensor2D) => taskLoss("classification", o, y);
const phi = tf.tensor1d([1]);
const grads = tf.tidy(() => lossGradients(SPEC, ce, phi, params, batch));
const read = async (t: tf.Tensor) => {
  await t.data();
  t.dispose();
};
const readAll = async (ts: tf.Tensor[]) => {
  await ts.at(-1)!.data();
  tf.dispose(ts);
};
const phases: [string, () => Promise<void>][] = [
  ["upload batch (BatchSource.batch)", async () => {
    const b = source.batch(0);
    await read(b.y);
    b.x.dispose();
  }],
  ["forward only", () => read(tf.tidy(() => forward(SPEC, params, batch.x)))],
  ["forward + CE loss", () => read(tf.tidy(() => ce(forward(SPEC, params, batch.x), batch.y)))],
  ["lossGradients (fwd + bwd)", () => readAll(lossGradients(SPEC, ce, phi, params, batch))],
  ["sgdUpdate (4 params)", () => readAll(sgdUpdate({ params, velocity: [] }, grads, OPT).params)],
];
console.log("phases of mlp_step:");
for (const [label, fn] of phases) console.log(`  ${(await bench(fn)).padEnd(22)} ${label}`);

// matMul variants at the MLP's shapes: the gradients use the transposed forms.
const x = tf.randomUniform([B, D]), w1 = tf.randomUniform([D, H]);
const g1 = tf.randomUniform([B, H]), w2 = tf.randomUniform([H, C]), g2 = tf.randomUniform([B, C]);
const variants: [string, () => tf.Tensor][] = [
  ["x[128,784] @ W1[784,100] (forward)", () => tf.matMul(x, w1)],
  ["x^T @ g1 via transposeA (dW1)", () => tf.matMul(x, g1, true, false)],
  ["x^T @ g1 via tf.transpose + plain (dW1)", () => tf.matMul(tf.transpose(x), g1)],
  ["tf.transpose(x) alone", () => tf.transpose(x)],
  ["g1 @ W1^T via transposeB (dx, unroll)", () => tf.matMul(g1, w1, false, true)],
  ["g1 @ tf.transpose(W1) (dx, unroll)", () => tf.matMul(g1, tf.transpose(w1))],
  ["h[128,100] @ W2[100,10]", () => tf.matMul(g1, w2)],
  ["g2 @ tf.transpose(W2) (dh)", () => tf.matMul(g2, tf.transpose(w2))],
  ["tf.add [128,10] (per-kernel overhead)", () => tf.add(g2, g2)],
];
console.log("\nmatMul variants:");
for (const [label, fn] of variants) {
  console.log(`  ${(await bench(() => read(tf.tidy(fn)))).padEnd(22)} ${label}`);
}
tf.dispose([x, w1, g1, w2, g2, phi, batch.x, batch.y, ...grads, ...params]);
source.dispose();
