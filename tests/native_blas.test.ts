/**
 * The optional OpenBLAS matMul of the wasm backend gives the products of tfjs's own kernels, in
 * every transpose combination, and leaves rank-3 products to tfjs; the convolutions with it
 * (engine/tensor/native_conv.ts: forward, filter and input gradients) give the cpu backend's.
 * Skipped (with a message) on machines without OpenBLAS; .ci/run installs it so CI exercises
 * this path.
 */
import { assert, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { nativeMatMulLibrary } from "../engine/tensor/native_blas.ts";
import { tuning } from "../engine/tensor/native_conv.ts";
import { Rng } from "../core/rng.ts";

const info = await initBackend("wasm");
if (!info.nativeMatMul) {
  console.log("native matMul not tested: no OpenBLAS library or FFI permission");
}

function random(shape: number[], rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => rng.normal()), shape);
}

async function product(
  backend: "wasm" | "cpu",
  a: tf.Tensor,
  b: tf.Tensor,
  ta: boolean,
  tb: boolean,
) {
  await tf.setBackend(backend);
  const [av, bv] = [tf.tensor(a.dataSync(), a.shape), tf.tensor(b.dataSync(), b.shape)];
  const out = tf.matMul(av, bv, ta, tb);
  const values = await out.data();
  tf.dispose([av, bv, out]);
  return values;
}

Deno.test({
  name: "native matMul equals tfjs's kernels in every transpose combination",
  ignore: !info.nativeMatMul,
  fn: async () => {
    assert(nativeMatMulLibrary() === info.nativeMatMul);
    const rng = new Rng(3);
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = random(ta ? [37, 19] : [19, 37], rng);
      const b = random(tb ? [23, 37] : [37, 23], rng);
      const native = await product("wasm", a, b, ta, tb);
      const reference = await product("cpu", a, b, ta, tb);
      const worst = Math.max(...Array.from(native, (v, i) => Math.abs(v - reference[i])));
      assertLess(worst, 1e-4, `transposeA=${ta} transposeB=${tb}`);
      tf.dispose([a, b]);
    }
    // Batched (rank-3) products stay on tfjs's kernel and still agree.
    const a3 = random([2, 5, 7], rng), b3 = random([2, 7, 3], rng);
    const native = await product("wasm", a3, b3, false, false);
    const reference = await product("cpu", a3, b3, false, false);
    assertLess(Math.max(...Array.from(native, (v, i) => Math.abs(v - reference[i]))), 1e-4);
    tf.dispose([a3, b3]);
  },
});

Deno.test({
  name: "OpenBLAS was loaded single-threaded (OPENBLAS_NUM_THREADS=1 before its first load)",
  ignore: !info.nativeMatMul,
  fn: () => {
    // Switched to one thread at run time instead, with workers calling it, the process's heap was
    // corrupted (engine/tensor/native_blas.ts): the variable must be set before dlopen.
    assert(Deno.env.get("OPENBLAS_NUM_THREADS") === "1", "OPENBLAS_NUM_THREADS");
    assert(nativeMatMulLibrary() !== undefined);
  },
});

/** Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput of one geometry on a backend. */
async function convMaps(
  backend: "wasm" | "cpu",
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  dy: tf.Tensor4D,
  strides: number,
  pad: "valid" | "same" | number,
) {
  await tf.setBackend(backend);
  const copy = <T extends tf.Tensor>(t: T) => tf.tensor(t.dataSync(), t.shape) as T;
  const [xv, fv, dyv] = [copy(x), copy(filter), copy(dy)];
  const attrs = { strides, pad, dataFormat: "NHWC" };
  const y = tf.engine().runKernel("Conv2D", { x: xv, filter: fv }, {
    ...attrs,
    dilations: 1,
  }) as tf.Tensor;
  const dw = tf.engine().runKernel("Conv2DBackpropFilter", { x: xv, dy: dyv }, {
    ...attrs,
    filterShape: filter.shape,
  }) as tf.Tensor;
  const dx = tf.engine().runKernel("Conv2DBackpropInput", { dy: dyv, filter: fv }, {
    ...attrs,
    inputShape: x.shape,
  }) as tf.Tensor;
  const out = [await y.data(), await dw.data(), await dx.data()];
  tf.dispose([xv, fv, dyv, y, dw, dx]);
  return out;
}

Deno.test({
  name: "convolutions on wasm equal the cpu backend's: strides, padding, tiles, chunks, 1x1",
  ignore: !info.nativeMatMul,
  fn: async () => {
    const rng = new Rng(5);
    // [batch, [height, width], in channels, [kh, kw], out channels, stride, pad, rows per chunk]
    type Case = [
      number,
      [number, number],
      number,
      [number, number],
      number,
      number,
      "valid" | "same" | number,
      number?,
    ];
    const cases: Case[] = [
      [3, [12, 12], 1, [5, 5], 6, 1, "valid"], // LeNet's first layer, narrow: one tile
      [2, [9, 9], 6, [5, 5], 16, 1, "valid"], // and its second
      [2, [28, 28], 1, [5, 5], 6, 1, "valid"], // the first at full size: two tiles of columns
      [3, [28, 28], 1, [5, 5], 6, 1, "valid", 5], // and rows in chunks across images
      [2, [8, 8], 4, [3, 3], 5, 2, "same"], // stride 2, padded (all-convolutional, ResNet)
      [2, [32, 32], 3, [3, 3], 4, 2, 1], // padded, strided, several tiles
      [2, [7, 7], 3, [3, 3], 4, 1, 1],
      [2, [10, 17], 2, [3, 5], 3, 1, "same"], // rectangular image and filter
      [2, [11, 9], 2, [2, 4], 3, [2, 1] as unknown as number, "valid"], // unequal strides
      [2, [9, 8], 20, [3, 3], 5, 1, 1], // wide input: XNNPACK, the composition, pixel unfolding
      [2, [9, 9], 12, [3, 3], 4, 2, "same"], // banded backward, XNNPACK forward
      [2, [5, 5], 8, [1, 1], 3, 1, "valid"], // pointwise
      [2, [6, 6], 4, [1, 1], 3, 2, "valid"], // pointwise, strided
    ];
    const chunkFloats = tuning.chunkFloats;
    for (const [b, [h, w], ci, [kh, kw], co, stride, pad, rows] of cases) {
      const x = random([b, h, w, ci], rng) as tf.Tensor4D;
      const filter = random([kh, kw, ci, co], rng) as tf.Tensor4D;
      const out = tf.conv2d(x, filter, stride, pad);
      const dy = random(out.shape, rng) as tf.Tensor4D;
      // A few rows per chunk: kh * ws * ci floats a row, ws at most the padded width.
      if (rows) tuning.chunkFloats = rows * kh * (w + kw) * ci;
      const native = await convMaps("wasm", x, filter, dy, stride, pad);
      tuning.chunkFloats = chunkFloats;
      const reference = await convMaps("cpu", x, filter, dy, stride, pad);
      for (
        const [i, what] of [[0, "forward"], [1, "filter gradient"], [2, "input gradient"]] as const
      ) {
        const scale = Math.max(...Array.from(reference[i], Math.abs));
        const worst = Math.max(...Array.from(native[i], (v, j) => Math.abs(v - reference[i][j])));
        assertLess(
          worst,
          1e-5 * scale,
          `${what}, case ${[b, h, w, ci, kh, kw, co, stride, pad, rows]}`,
        );
      }
      tf.dispose([x, filter, out, dy]);
    }
    await tf.setBackend("wasm");
  },
});
