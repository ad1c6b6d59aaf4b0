/**
 * The fused engine's design choices, measured (engine/webgpu/): whose GPUDevice it runs on, how
 * a stack's loss kernels are compiled, and which product kernel it uses. MNIST-shaped data, the
 * MLP 784-100-10, the stand-in loss (bench/README.md), K candidates in one stack.
 *
 *   deno run -A bench/fused.ts [--k 16] [--meta-steps 3] [--fitness-steps 5] [--loss-shaders]
 *                              [--products]
 *
 * - device: opening the engine's own device, and the CPU's cost of a dispatch (runs with no
 *   workgroups) on it and on tfjs-backend-webgpu's device;
 * - loss shaders: one shader for the stack that switches on the candidate (the engine's), and
 *   with --loss-shaders against one shader and one dispatch per candidate: compile time,
 *   dispatches and time per meta-step (the second compiles K times as much: minutes on the
 *   software adapter);
 * - products (--products, slow on the software adapter, whose workgroup barriers are costly):
 *   tiled through workgroup memory against direct, per fitness step;
 * - LeNet-5 (--lenet): its step and one-step hypergradient on tfjs-backend-webgpu, dispatches and
 *   time, against the time the same dispatches would cost the CPU prepared ahead (the fused
 *   engine's cost per dispatch): whether fused kernels for it would pay;
 * - --profile: each kernel's wall time per dispatch over a meta-step and a fitness step, every
 *   dispatch submitted alone and waited for (on the software adapter each wait is about 11 ms,
 *   whatever the kernel: meaningful on a GPU only).
 */
import { parseArgs } from "node:util";
import { tf } from "../engine/tensor/tf.ts";
import { FusedDense, type FusedOptions } from "../engine/webgpu/dense.ts";
import { type FusedDevice, fusedDevice } from "../engine/webgpu/device.ts";
import { CANDIDATE_SETTINGS, evaluator, LEARNED_PHI, LEARNED_TREE, SPEC } from "./workloads.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    k: { type: "string", default: "16" },
    "meta-steps": { type: "string", default: "3" },
    "fitness-steps": { type: "string", default: "5" },
    products: { type: "boolean", default: false },
    "loss-shaders": { type: "boolean", default: false },
    lenet: { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
  },
});
const K = Number(args.k);
const metaSteps = Number(args["meta-steps"]);
const fitnessSteps = Number(args["fitness-steps"]);

// The evaluator's tensors on cpu: only its host rows matter here.
await tf.setBackend("cpu");
const t0 = performance.now();
const own = await fusedDevice();
const openMs = performance.now() - t0;
if (!own) throw new Error("no WebGPU adapter");
console.log(`adapter ${own.adapter}${own.fallback ? " (software)" : ""}; K = ${K}`);
console.log(`opening the engine's own device: ${openMs.toFixed(1)} ms (once per worker)`);

const ev = evaluator();
const trees = Array.from({ length: K }, () => LEARNED_TREE);
const phis = trees.map(() => LEARNED_PHI);
const engine = (fd: FusedDevice, options: FusedOptions = {}) =>
  new FusedDense(
    fd,
    SPEC,
    "classification",
    ev.train,
    ev.validation,
    CANDIDATE_SETTINGS,
    0,
    options,
  );

/** Milliseconds of the first of two calls (shaders compiled on the way) and of the second. */
async function timed(fn: () => Promise<unknown>): Promise<[number, number]> {
  let t = performance.now();
  await fn();
  const first = performance.now() - t;
  t = performance.now();
  await fn();
  return [first, performance.now() - t];
}

/**
 * The CPU's microseconds per dispatch on a device, as bench/workloads.ts measures it: a long
 * fitness run with no workgroups, submitted every 5 steps, its first submission (where the run's
 * new buffers are zeroed) left out.
 */
async function cpuPerDispatch(fd: FusedDevice): Promise<number> {
  const e = engine(fd, { dry: true, stepsPerSubmit: 5 });
  await e.fitness(trees, phis, 10);
  await e.fitness(trees, phis, 80);
  const { dispatches, encodeMs, submitMs, firstSubmit } = e.last;
  e.dispose();
  const first = firstSubmit ?? { ms: 0, dispatches: 0 };
  return (1000 * (encodeMs + submitMs - first.ms)) / (dispatches - first.dispatches);
}

console.log(`\nCPU per dispatch (record and submit, no GPU work; two rounds, alternating):`);
const devices: [string, FusedDevice][] = [["own device", own]];
if (await tf.setBackend("webgpu")) {
  await tf.ready();
  // tfjs-backend-webgpu's device, borrowed: the engine's kernels on it, nothing else changed.
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  devices.push(["tfjs-backend-webgpu's", { device, adapter: own.adapter, fallback: own.fallback }]);
} else {
  console.log("  (tfjs-backend-webgpu did not start: its device is not measured)");
}
for (let round = 1; round <= 2; round++) {
  for (const [name, fd] of devices) {
    console.log(`  round ${round}, ${name.padEnd(22)} ${(await cpuPerDispatch(fd)).toFixed(1)} us`);
  }
}

console.log(`\nloss shaders, ${metaSteps} meta-steps of ${K} candidates:`);
for (
  const lossShaders of args["loss-shaders"] ? ["switch", "separate"] as const : ["switch"] as const
) {
  const e = engine(own, { lossShaders });
  const [first, ms] = await timed(() => e.localSearch(trees, phis, metaSteps));
  console.log(
    `  ${lossShaders.padEnd(9)} first run ${first.toFixed(0).padStart(6)} ms (shaders compiled), ` +
      `then ${e.last.dispatches / metaSteps} dispatches and ${(ms / metaSteps).toFixed(1)} ms ` +
      `per meta-step`,
  );
  e.dispose();
}

if (args.products) {
  console.log(`\nproducts, ${fitnessSteps} fitness steps of ${K} candidates:`);
  for (const products of ["direct", "tiled"] as const) {
    const e = engine(own, { products });
    const [first, ms] = await timed(() => e.fitness(trees, phis, fitnessSteps));
    console.log(
      `  ${products.padEnd(7)} first run ${first.toFixed(0).padStart(6)} ms (shaders compiled), ` +
        `then ${(ms / fitnessSteps).toFixed(1)} ms per step`,
    );
    e.dispose();
  }
}
if (args.profile) {
  const e = engine(own);
  await e.localSearch(trees, phis, 1);
  await e.fitness(trees, phis, 1);
  e.profile = new Map();
  await e.localSearch(trees, phis, 1);
  await e.fitness(trees, phis, 1);
  console.log(
    `\nper kernel, one meta-step and one fitness step of ${K} candidates (us a dispatch):`,
  );
  for (const [name, { ms, dispatches }] of [...e.profile].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(
      `  ${name.padEnd(16)} ${((1000 * ms) / dispatches).toFixed(0).padStart(8)} x ${dispatches}`,
    );
  }
  e.dispose();
}
ev.dispose();

if (args.lenet) {
  const { tfjsWorkloadDispatches } = await import("./tfjs_dispatches.ts");
  const { LENET_SPEC, trainStep, unroll } = await import("./workloads.ts");
  const prepared = await cpuPerDispatch(own);
  console.log(
    `\nLeNet-5 on tfjs-backend-webgpu (prepared ahead: ${prepared.toFixed(1)} us a dispatch):`,
  );
  for (
    const [name, make] of [["lenet_step", () => trainStep(LENET_SPEC)], [
      "lenet_unroll1",
      () => unroll(LENET_SPEC, 1),
    ]] as const
  ) {
    const { dispatches, ms } = await tfjsWorkloadDispatches(make);
    console.log(
      `  ${name.padEnd(14)} ${dispatches} dispatches, ${
        ms.toFixed(1)
      } ms; the same prepared ahead: ` +
        `${((dispatches * prepared) / 1000).toFixed(2)} ms of CPU`,
    );
  }
}
