/**
 * The optional OpenBLAS matMul of the wasm backend gives the products of tfjs's own kernels, in
 * every transpose combination, and leaves rank-3 products to tfjs; the backward convolutions
 * with it (engine/tensor/native_conv.ts for the input gradient) give the cpu backend's. Skipped (with a message) on machines
 * without OpenBLAS; .ci/run installs it so CI exercises this path.
 */
import { assert, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { nativeMatMulLibrary } from "../engine/tensor/native_blas.ts";
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

/** Conv2DBackpropFilter and Conv2DBackpropInput of one geometry on a backend. */
async function convBackward(
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
  const dw = tf.engine().runKernel("Conv2DBackpropFilter", { x: xv, dy: dyv }, {
    ...attrs,
    filterShape: filter.shape,
  }) as tf.Tensor;
  const dx = tf.engine().runKernel("Conv2DBackpropInput", { dy: dyv, filter: fv }, {
    ...attrs,
    inputShape: x.shape,
  }) as tf.Tensor;
  const out = [await dw.data(), await dx.data()];
  tf.dispose([xv, fv, dyv, dw, dx]);
  return out;
}

Deno.test({
  name: "backward convolutions on wasm equal the cpu backend's: strides, padding, 1x1, channels",
  ignore: !info.nativeMatMul,
  fn: async () => {
    const rng = new Rng(5);
    // [batch, size, in channels, kernel, out channels, stride, pad]
    const cases: [number, number, number, number, number, number, "valid" | "same" | number][] = [
      [3, 12, 1, 5, 6, 1, "valid"], // LeNet's first layer
      [2, 9, 6, 5, 16, 1, "valid"], // and its second
      [2, 8, 4, 3, 5, 2, "same"], // stride 2, padded (all-convolutional, ResNet)
      [2, 7, 3, 3, 4, 1, 1],
      [2, 5, 8, 1, 3, 1, "valid"], // pointwise
      [2, 6, 4, 1, 3, 2, "valid"], // pointwise, strided
    ];
    for (const [b, size, ci, k, co, stride, pad] of cases) {
      const x = random([b, size, size, ci], rng) as tf.Tensor4D;
      const filter = random([k, k, ci, co], rng) as tf.Tensor4D;
      const out = tf.conv2d(x, filter, stride, pad);
      const dy = random(out.shape, rng) as tf.Tensor4D;
      const native = await convBackward("wasm", x, filter, dy, stride, pad);
      const reference = await convBackward("cpu", x, filter, dy, stride, pad);
      for (const [i, what] of [[0, "filter"], [1, "input"]] as const) {
        const scale = Math.max(...Array.from(reference[i], Math.abs));
        const worst = Math.max(...Array.from(native[i], (v, j) => Math.abs(v - reference[i][j])));
        assertLess(
          worst,
          1e-5 * scale,
          `${what} gradient, case ${[b, size, ci, k, co, stride, pad]}`,
        );
      }
      tf.dispose([x, filter, out, dy]);
    }
    await tf.setBackend("wasm");
  },
});
