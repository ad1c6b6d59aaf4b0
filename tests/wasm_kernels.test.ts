/**
 * The kernels of engine/tensor/wasm_kernels.ts (max pooling's gradient and its adjoint, a bias
 * add) and native_blas.ts's Sum over leading axes give, on wasm, what the cpu backend's
 * compositions give: values, first-order gradients, and the second order through max pooling
 * that an unrolled step differentiates. Random values without ties, so that
 * every window has one maximum.
 */
import { assert, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { hasKernel, POOL_GATHER, POOL_SPREAD } from "../engine/tensor/wasm_kernels.ts";
import { Rng } from "../core/rng.ts";

const rng = new Rng(11);
const values = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The same computation on cpu (compositions) and on wasm (these kernels), worst difference. */
async function onBoth(
  label: string,
  inputs: { values: Float32Array; shape: number[] }[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor,
  tolerance = 1e-5,
): Promise<void> {
  const results: Float32Array[] = [];
  for (const backend of ["cpu", "wasm"] as const) {
    await initBackend(backend);
    const xs = inputs.map((i) => tf.tensor(i.values, i.shape));
    const out = tf.tidy(() => fn(...xs));
    results.push((await out.data()) as Float32Array);
    tf.dispose([...xs, out]);
  }
  const [cpu, wasm] = results;
  assert(cpu.length === wasm.length, `${label}: sizes ${cpu.length} and ${wasm.length}`);
  const scale = Math.max(1, ...Array.from(cpu, Math.abs));
  const worst = Math.max(...Array.from(cpu, (v, i) => Math.abs(v - wasm[i])));
  assertLess(worst, tolerance * scale, label);
}

const input = (shape: number[]) => ({ values: values(size(shape)), shape });

Deno.test("the wasm kernels are registered where the compositions would otherwise run", async () => {
  await initBackend("wasm");
  for (const k of [POOL_SPREAD, POOL_GATHER]) assert(hasKernel(k), k);
  await initBackend("cpu");
  for (const k of [POOL_SPREAD, POOL_GATHER]) assert(!hasKernel(k), k);
});

Deno.test("max pooling's gradient and its second order on wasm equal the cpu composition", async () => {
  // [input shape, window]: cropped rows and columns, 3x3 windows, LeNet's first layer's shape.
  const cases: [number[], number][] = [
    [[2, 6, 6, 3], 2],
    [[2, 7, 5, 2], 2],
    [[1, 9, 10, 4], 3],
    [[3, 24, 24, 6], 2],
  ];
  for (const [shape, k] of cases) {
    const pooled = [shape[0], Math.floor(shape[1] / k), Math.floor(shape[2] / k), shape[3]];
    const pool = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, k, k, "valid");
    // First order: d <dy, maxPool(x)> / dx.
    await onBoth(
      `gradient, ${shape} window ${k}`,
      [input(shape), input(pooled)],
      (x, dy) => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(dy, tf.square(pool(x)))))(x),
    );
    // Second order: d <v, d <dy, maxPool(x)^2> / dx> / dx and / d dy, through the spread and
    // its adjoint.
    await onBoth(
      `second order, ${shape} window ${k}`,
      [input(shape), input(pooled), input(shape)],
      (x, dy, v) => {
        const inner = (x: tf.Tensor, dy: tf.Tensor) =>
          tf.grad((x: tf.Tensor) => tf.sum(tf.mul(dy, tf.square(pool(x)))))(x);
        const [gx, gdy] = tf.grads((x: tf.Tensor, dy: tf.Tensor) =>
          tf.sum(tf.mul(v, inner(x, dy)))
        )([x, dy]);
        return tf.concat([gx.flatten(), gdy.flatten()]);
      },
    );
  }
});

Deno.test("a bias add and the sum over leading axes on wasm equal the cpu backend's", async () => {
  for (const shape of [[3, 5, 4, 6], [7, 11], [7, 16], [2, 3, 1]]) {
    const c = shape.at(-1)!;
    await onBoth(`add ${shape} + [${c}]`, [input(shape), input([c])], (a, b) => tf.add(a, b));
    await onBoth(`add [${c}] + ${shape}`, [input([c]), input(shape)], (b, a) => tf.add(b, a));
    const leading = shape.slice(0, -1).map((_, i) => i);
    await onBoth(`sum ${shape} over ${leading}`, [input(shape)], (a) => tf.sum(a, leading));
    await onBoth(`sum ${shape}, kept dims`, [input(shape)], (a) => tf.sum(a, leading, true));
    // Other reductions keep tfjs's kernel and still agree.
    await onBoth(`sum ${shape} over the last axis`, [input(shape)], (a) => tf.sum(a, -1));
  }
  // Broadcasts other than a vector along the last axis keep tfjs's kernel.
  await onBoth("add [4,1,3] + [5,1]", [input([4, 1, 3]), input([5, 1])], (a, b) => tf.add(a, b));
});
