/**
 * LeNet-5's convolution and pooling kernels at batch 128, each against the kernels it replaced,
 * alternating in one process (one call of ours, one of theirs, per round), so that the machine's
 * changing load hits both alike; prints the medians and the median of the paired ratios.
 *
 *   deno run -A bench/lenet_kernels.ts [--rounds N]
 *
 * - the three maps of each convolution: engine/tensor/native_conv.ts's banded OpenBLAS products
 *   against XNNPACK's forward convolution and conv_kernels.ts's compositions from it;
 * - max pooling's gradient: wasm_kernels.ts's spread against gradients.ts's composition;
 * - the bias add of the first layer: wasm_kernels.ts's loop against wasm's broadcast;
 * - the bias gradient (Sum over every axis but the last): native_blas.ts's product with a row of
 *   ones against wasm's kernel.
 */
import { parseArgs } from "node:util";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { disableNativeConv, reenableNativeConv } from "../engine/tensor/native_conv.ts";
import { POOL_SPREAD, setWasmKernel } from "../engine/tensor/wasm_kernels.ts";
import { median } from "./timing.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "40" } },
});
const rounds = Number(args.rounds);
const backend = await initBackend("wasm");
if (!backend.nativeMatMul) {
  console.log("no OpenBLAS here: the convolutions and the Sum stay tfjs's; nothing to compare");
  Deno.exit(0);
}

interface Pair {
  name: string;
  run: () => tf.Tensor;
  /** Switches between ours (true) and the kernels replaced (false). */
  use: (ours: boolean) => void;
}

const B = 128;
const convSwitch = (ours: boolean) => ours ? reenableNativeConv() : disableNativeConv();
const pairs: Pair[] = [];
type Shape4 = [number, number, number, number];
const layers: [string, Shape4, Shape4][] = [
  ["1", [B, 28, 28, 1], [5, 5, 1, 6]],
  ["2", [B, 12, 12, 6], [5, 5, 6, 16]],
];
for (const [layer, xShape, fShape] of layers) {
  const x = tf.randomUniform(xShape, -1, 1) as tf.Tensor4D;
  const filter = tf.randomUniform(fShape, -1, 1) as tf.Tensor4D;
  const dy = tf.randomUniform(tf.conv2d(x, filter, 1, "valid").shape, -1, 1) as tf.Tensor4D;
  const attrs = { strides: 1, pad: "valid", dataFormat: "NHWC", dilations: 1 };
  const run = (kernel: string, inputs: tf.NamedTensorMap, more = {}) => () =>
    tf.engine().runKernel(kernel, inputs, { ...attrs, ...more }) as tf.Tensor;
  pairs.push(
    { name: `conv${layer} forward`, run: run("Conv2D", { x, filter }), use: convSwitch },
    {
      name: `conv${layer} filter gradient`,
      run: run("Conv2DBackpropFilter", { x, dy }, { filterShape: fShape }),
      use: convSwitch,
    },
    {
      name: `conv${layer} input gradient`,
      run: run("Conv2DBackpropInput", { dy, filter }, { inputShape: xShape }),
      use: convSwitch,
    },
  );
}
{
  const x = tf.randomUniform([B, 24, 24, 6], -1, 1) as tf.Tensor4D;
  const dy = tf.randomUniform([B, 12, 12, 6], -1, 1);
  const bias = tf.randomUniform([6]);
  pairs.push(
    {
      name: "maxPool1 gradient",
      run: () => tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, 2, 2, "valid"))(x, dy),
      use: (ours) => setWasmKernel(POOL_SPREAD, ours),
    },
    {
      name: "bias1 add",
      run: () => tf.add(x, bias),
      use: (ours) => setWasmKernel("Add", ours),
    },
  );
}

console.log(`wasm with ${backend.nativeMatMul}; ${rounds} rounds, medians in ms\n`);
console.log("kernel                   ours   replaced  ratio (median of pairs)");
for (const { name, run, use } of pairs) {
  const ours: number[] = [], theirs: number[] = [];
  for (let i = 0; i < rounds + 3; i++) {
    for (const side of [true, false]) {
      use(side);
      const t0 = performance.now();
      const out = tf.tidy(run);
      const ms = performance.now() - t0;
      out.dispose();
      if (i >= 3) (side ? ours : theirs).push(ms);
    }
  }
  use(true);
  const ratio = median(ours.map((t, i) => t / theirs[i]));
  console.log(
    `${name.padEnd(22)} ${median(ours).toFixed(3).padStart(6)} ${
      median(theirs).toFixed(3).padStart(10)
    }  ${ratio.toFixed(2)}x`,
  );
}
