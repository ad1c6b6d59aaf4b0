/**
 * Convolution and pooling, differentiated twice, against central finite differences (the scheme of
 * hypergradient.test.ts): the composed backward conv kernels against a direct loop; each gradient
 * that tfjs lacks (Conv2DBackpropFilter, MaxPool's second order) on its own; the hypergradient
 * through one SGD step of the convolutional models on small images and through 1 and 2 steps of a
 * tiny conv net, on cpu and wasm.
 * The last tests prove the check catches the defect: without these gradients, tfjs throws.
 */
import { assert, assertLess, assertThrows } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { withTfjsOriginalGradient } from "../engine/tensor/gradients.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { groupNorm, initialValues, type ModelSpec, toParams } from "../engine/models.ts";
import {
  type Batch,
  type InnerOptimizer,
  sgdUpdate,
  taskLoss,
  unrolledTaskLoss,
} from "../engine/train.ts";
import {
  compareWithFiniteDifferences,
  FD_TOLERANCE,
  fixtureRandom,
  RICH_TREE,
  spreadPhi,
} from "./support/finite_differences.ts";

const BACKENDS = ["cpu", "wasm"] as const;
const PLAIN_SGD: InnerOptimizer = { lr: 0.5, momentum: 0, nesterov: false, weightDecay: 0 };

type Pad = "valid" | "same" | number;
type Shape4 = [number, number, number, number];
interface ConvCase {
  x: Shape4;
  filter: Shape4;
  stride: number;
  pad: Pad;
}

/** Valid and padded, strides 1 to 3, rows and columns the forward conv leaves unread, 1x1. */
const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 7, 2], filter: [3, 3, 2, 3], stride: 1, pad: "valid" },
  { x: [2, 8, 8, 2], filter: [3, 3, 2, 3], stride: 2, pad: 1 },
  { x: [2, 9, 8, 3], filter: [3, 3, 3, 2], stride: 2, pad: "same" },
  { x: [2, 10, 9, 1], filter: [3, 3, 1, 2], stride: 2, pad: "valid" },
  { x: [1, 8, 8, 4], filter: [1, 1, 4, 5], stride: 2, pad: 0 },
  { x: [3, 12, 12, 1], filter: [5, 5, 1, 6], stride: 1, pad: "valid" },
  { x: [2, 9, 9, 2], filter: [2, 2, 2, 2], stride: 3, pad: "valid" },
];

function randomArray(n: number, random: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => 2 * random() - 1);
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** dW and dx of conv2d(x, w) for the upstream gradient dy, by a direct loop (NHWC). */
function directConvGradients(
  c: ConvCase,
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  dyShape: number[],
) {
  const [b, h, wd, ci] = c.x;
  const [fh, fw, , co] = c.filter;
  const [, oh, ow] = dyShape;
  const { padInfo } = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, 1, c.pad);
  const dW = new Float32Array(w.length), dX = new Float32Array(x.length);
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let kh = 0; kh < fh; kh++) {
          for (let kw = 0; kw < fw; kw++) {
            const r = i * c.stride + kh - padInfo.top, col = j * c.stride + kw - padInfo.left;
            if (r < 0 || r >= h || col < 0 || col >= wd) continue;
            for (let a = 0; a < ci; a++) {
              for (let o = 0; o < co; o++) {
                const g = dy[((n * oh + i) * ow + j) * co + o];
                const xi = ((n * h + r) * wd + col) * ci + a,
                  wi = ((kh * fw + kw) * ci + a) * co + o;
                dW[wi] += x[xi] * g;
                dX[xi] += w[wi] * g;
              }
            }
          }
        }
      }
    }
  }
  return { dW, dX };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

for (const backend of BACKENDS) {
  Deno.test(`composed Conv2DBackpropFilter and Conv2DBackpropInput match a direct loop (${backend})`, async () => {
    await initBackend(backend);
    const random = fixtureRandom(3);
    const dataIdsBefore = tf.engine().backend.numDataIds();
    for (const c of CONV_CASES) {
      const xv = randomArray(size(c.x), random), wv = randomArray(size(c.filter), random);
      tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x), w = tf.tensor4d(wv, c.filter);
        const yShape = tf.conv2d(x, w, c.stride, c.pad).shape;
        const dyv = randomArray(size(yShape), random);
        const dy = tf.tensor4d(dyv, yShape);
        const attrs = { strides: c.stride, pad: c.pad, dataFormat: "NHWC" };
        const dW = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          ...attrs,
          filterShape: c.filter,
        }) as tf.Tensor;
        const dX = tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
          ...attrs,
          inputShape: c.x,
        }) as tf.Tensor;
        const want = directConvGradients(c, xv, wv, dyv, yShape);
        const what = JSON.stringify(c);
        assertLess(maxAbsDiff(dW.dataSync() as Float32Array, want.dW), 1e-4, `filter, ${what}`);
        assertLess(maxAbsDiff(dX.dataSync() as Float32Array, want.dX), 1e-4, `input, ${what}`);
      });
    }
    // The compositions free their intermediate buffers.
    assert(tf.engine().backend.numDataIds() === dataIdsBefore, "backend buffers leaked");
  });
}

/**
 * f(v): the first entries of v fill a tensor of shape `a`, the rest one of shape `b`; f is a
 * nonlinear scalar of op(a, b), so its gradient runs through op's registered gradient.
 */
function bilinearCheck(
  a: number[],
  b: number[],
  op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  seed: number,
) {
  const random = fixtureRandom(seed);
  const v0 = Array.from(randomArray(size(a) + size(b), random));
  const weightsOf = new Map<string, tf.Tensor>();
  const weights = (shape: number[]) => {
    const key = shape.join("x");
    if (!weightsOf.has(key)) {
      weightsOf.set(key, tf.keep(tf.tensor(randomArray(size(shape), random), shape)));
    }
    return weightsOf.get(key)!;
  };
  const f = (v: tf.Tensor1D) => {
    const first = tf.reshape(tf.slice(v, 0, size(a)), a);
    const second = tf.reshape(tf.slice(v, size(a), size(b)), b);
    const out = op(first, second);
    return tf.sum(tf.mul(weights(out.shape), tf.square(out))) as tf.Scalar;
  };
  try {
    return compareWithFiniteDifferences(f, v0);
  } finally {
    tf.dispose([...weightsOf.values()]);
  }
}

for (const backend of BACKENDS) {
  for (const c of CONV_CASES.slice(0, 3)) {
    const what = `${c.filter.slice(0, 2).join("x")}, stride ${c.stride}, pad ${c.pad}`;
    Deno.test(`gradient of Conv2DBackpropFilter (${what}, ${backend}) matches finite differences`, async () => {
      await initBackend(backend);
      const yShape = tf.tidy(() =>
        tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.stride, c.pad)
          .shape
      );
      const r = bilinearCheck(
        c.x,
        yShape,
        (x, dy) =>
          tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
            strides: c.stride,
            pad: c.pad,
            dataFormat: "NHWC",
            filterShape: c.filter,
          }) as tf.Tensor,
        11,
      );
      assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
    });

    Deno.test(`gradient of Conv2DBackpropInput (${what}, ${backend}) matches finite differences`, async () => {
      await initBackend(backend);
      const yShape = tf.tidy(() =>
        tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.stride, c.pad)
          .shape
      );
      const r = bilinearCheck(
        yShape,
        c.filter,
        (dy, filter) =>
          tf.engine().runKernel("Conv2DBackpropInput", { dy, filter }, {
            strides: c.stride,
            pad: c.pad,
            dataFormat: "NHWC",
            inputShape: c.x,
          }) as tf.Tensor,
        12,
      );
      assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
    });
  }
}

/** Distinct values at least 0.04 apart, shuffled: no window maximum changes within an FD step. */
function tieFree(n: number, random: () => number): number[] {
  const values = Array.from({ length: n }, (_, i) => 0.04 * (i - n / 2));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
  return values;
}

/** Scalar of the first-order gradient of sum(R * maxPool(x)^2): its gradient is second order. */
function maxPoolSecondOrder(shape: Shape4, k: number, stride: number, seed: number) {
  const random = fixtureRandom(seed);
  const pooledShape = tf.tidy(() =>
    tf.maxPool(tf.zeros(shape) as tf.Tensor4D, k, stride, "valid").shape
  );
  const r = tf.tensor(randomArray(size(pooledShape), random), pooledShape);
  const s = tf.tensor(randomArray(size(shape), random), shape);
  const inner = (x: tf.Tensor) =>
    tf.sum(tf.mul(r, tf.square(tf.maxPool(x as tf.Tensor4D, k, stride, "valid")))) as tf.Scalar;
  const f = (v: tf.Tensor1D) =>
    tf.sum(tf.mul(s, tf.grad(inner)(tf.reshape(v, shape)))) as tf.Scalar;
  try {
    return compareWithFiniteDifferences(f, tieFree(size(shape), random));
  } finally {
    tf.dispose([r, s]);
  }
}

for (const backend of BACKENDS) {
  for (const shape of [[2, 4, 6, 3], [2, 5, 7, 2]] as Shape4[]) {
    Deno.test(`second order of 2x2 max pooling on ${shape.slice(1, 3).join("x")} (${backend}) matches finite differences`, async () => {
      await initBackend(backend);
      const r = maxPoolSecondOrder(shape, 2, 2, 5);
      assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
    });
  }

  // Against tfjs's own gradient on cpu: wasm's MaxPoolGrad kernel is wrong when windows hold
  // negative values (all-negative windows lost their gradient), and these inputs have some.
  Deno.test(`max pooling's first-order gradient equals tfjs's MaxPoolGrad on cpu (${backend})`, async () => {
    const random = fixtureRandom(9);
    const cases: [Shape4, number][] = [[[2, 6, 6, 3], 2], [[1, 7, 5, 2], 2], [[2, 9, 9, 1], 3]];
    for (const [shape, k] of cases) {
      const xv = tieFree(size(shape), random);
      const pooled = [shape[0], Math.floor(shape[1] / k), Math.floor(shape[2] / k), shape[3]];
      const dyv = randomArray(size(pooled), random);
      const gradient = () =>
        tf.tidy(() => {
          const dy = tf.tensor(dyv, pooled);
          const f = (x: tf.Tensor) =>
            tf.sum(tf.mul(dy, tf.maxPool(x as tf.Tensor4D, k, k, "valid")));
          return tf.grad(f)(tf.tensor4d(xv, shape)).dataSync() as Float32Array;
        });
      await initBackend("cpu");
      const tfjs = withTfjsOriginalGradient("MaxPool", gradient);
      await initBackend(backend);
      assertLess(maxAbsDiff(gradient(), tfjs), 1e-6, `shape ${shape}, window ${k}`);
    }
  });
}

Deno.test("overlapping max pooling keeps tfjs's first-order gradient and says why its second order fails", async () => {
  await initBackend("cpu");
  const x = tf.tensor4d(tieFree(2 * 7 * 7, fixtureRandom(4)), [2, 7, 7, 1]);
  const f = (x: tf.Tensor) => tf.sum(tf.square(tf.maxPool(x as tf.Tensor4D, 3, 2, "valid")));
  const g = tf.grad(f)(x);
  assert(tf.sum(tf.abs(g)).dataSync()[0] > 0);
  assertThrows(() => tf.grad((x: tf.Tensor) => tf.sum(tf.grad(f)(x)))(x), /MaxPoolGrad/);
  tf.dispose([x, g]);
});

Deno.test("second order of group normalisation matches finite differences", async () => {
  await initBackend("cpu");
  const shape = [2, 3, 3, 4];
  const random = fixtureRandom(13);
  const r = tf.tensor(randomArray(size(shape), random), shape);
  const s = tf.tensor(randomArray(size(shape), random), shape);
  const inner = (x: tf.Tensor) => tf.sum(tf.mul(r, tf.sin(groupNorm(x as tf.Tensor4D, 2))));
  const f = (v: tf.Tensor1D) =>
    tf.sum(tf.mul(s, tf.grad(inner)(tf.reshape(v, shape)))) as tf.Scalar;
  const c = compareWithFiniteDifferences(f, Array.from(randomArray(size(shape), random)));
  tf.dispose([r, s]);
  assertLess(c.relativeError, FD_TOLERANCE, JSON.stringify(c));
});

// ---------------------------------------------------------------------------------------------
// The whole unroll

interface Fixture {
  spec: ModelSpec;
  batches: Batch[];
  validation: Batch;
  theta0: tf.Tensor[];
}

/**
 * Seed 8: with seed 7, LeNet's validation loss has a kink (a ReLU or a window maximum switching)
 * within about 1e-3 of phi0; its hypergradient is small there (1e-3) and the finite differences
 * drift with the step (8%, 15%, 20% for steps 1e-3, 3e-3, 1e-2), as they do across a kink. The
 * analytic value equals the one through tf.max on reshaped windows, whose gradient is checked.
 */
function fixture(
  kind: ModelSpec["kind"],
  imageShape: [number, number, number],
  seed = 8,
): Fixture {
  const random = fixtureRandom(seed);
  const inputs = size(imageShape), outputs = 3, b = 8;
  const spec: ModelSpec = { kind, inputs, outputs, hidden: [], imageShape };
  const batch = (): Batch => ({
    x: tf.tensor2d(randomArray(b * inputs, random), [b, inputs]),
    y: tf.oneHot(
      tf.tensor1d(Array.from({ length: b }, () => Math.floor(random() * outputs)), "int32"),
      outputs,
    ).toFloat() as tf.Tensor2D,
  });
  return {
    spec,
    batches: [batch(), batch()],
    validation: batch(),
    theta0: toParams(spec, initialValues(spec, random)),
  };
}

function disposeFixture(fx: Fixture): void {
  tf.dispose([...fx.theta0, fx.validation.x, fx.validation.y]);
  for (const b of fx.batches) tf.dispose([b.x, b.y]);
}

const PHI0 = spreadPhi(RICH_TREE.length);

function check(fx: Fixture, steps: number) {
  const f = unrolledTaskLoss(
    fx.spec,
    "classification",
    compileLoss(RICH_TREE, "classification"),
    PLAIN_SGD,
    fx.theta0,
    fx.batches.slice(0, steps),
    fx.validation,
  );
  return compareWithFiniteDifferences(f, PHI0);
}

/**
 * The models' own forward passes, one step (T = 1). Not T = 2 here: from the second step on, the
 * inner gradient is evaluated at parameters that depend on phi, and a ReLU network's gradient
 * jumps where a pre-activation crosses zero or a window maximum switches; with LeNet's thousands of
 * such sites per batch, one jump usually lies within the finite-difference step, and the quotient
 * then measures the jump (it grew like 1/step). The tiny net below, with few such sites, checks
 * T = 2.
 */
const UNROLLS: { kind: ModelSpec["kind"]; image: [number, number, number] }[] = [
  { kind: "lenet5", image: [16, 16, 1] },
  { kind: "allconv", image: [12, 12, 2] },
];

for (const backend of BACKENDS) {
  for (const { kind, image } of UNROLLS) {
    Deno.test(`hypergradient through ${kind} on ${image.join("x")} (T=1, ${backend}) matches finite differences`, async () => {
      await initBackend(backend);
      const fx = fixture(kind, image);
      try {
        const r = check(fx, 1);
        assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
      } finally {
        disposeFixture(fx);
      }
    });
  }
}

/** 8x8x1 images, conv 2@3x3, ReLU, 2x2 max pooling, dense to 3 classes. */
function tinyConvNet(p: tf.Tensor[], x: tf.Tensor2D): tf.Tensor2D {
  const image = tf.reshape(x, [x.shape[0], 8, 8, 1]) as tf.Tensor4D;
  const conv = tf.relu(tf.add(tf.conv2d(image, p[0] as tf.Tensor4D, 1, "valid"), p[1]));
  const pooled = tf.maxPool(conv as tf.Tensor4D, 2, 2, "valid");
  return tf.add(tf.matMul(tf.reshape(pooled, [x.shape[0], 18]), p[2] as tf.Tensor2D), p[3]);
}

for (const backend of BACKENDS) {
  for (const steps of [1, 2]) {
    Deno.test(`hypergradient through a tiny conv net (T=${steps}, ${backend}) matches finite differences`, async () => {
      await initBackend(backend);
      const random = fixtureRandom(7);
      const uniform = (shape: number[], bound = 1) =>
        tf.tensor(randomArray(size(shape), random).map((v) => v * bound), shape);
      const batch = (): Batch => ({
        x: uniform([8, 64]) as tf.Tensor2D,
        y: tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 1, 0], "int32"), 3).toFloat() as tf.Tensor2D,
      });
      const batches = [batch(), batch()], validation = batch();
      const theta0 = [
        uniform([3, 3, 1, 2], 1 / 3),
        uniform([2], 1 / 3),
        uniform([18, 3], 1 / Math.sqrt(18)),
        uniform([3], 1 / Math.sqrt(18)),
      ];
      const loss = compileLoss(RICH_TREE, "classification");
      const unrolled = (phi: tf.Tensor1D) => {
        let params = theta0;
        for (const { x, y } of batches.slice(0, steps)) {
          const grads = tf.grads((...p: tf.Tensor[]) => loss(tinyConvNet(p, x), y, phi))(params);
          params = sgdUpdate({ params, velocity: [] }, grads, PLAIN_SGD).params;
        }
        return taskLoss("classification", tinyConvNet(params, validation.x), validation.y);
      };
      const r = compareWithFiniteDifferences(unrolled, PHI0);
      tf.dispose([...theta0, validation.x, validation.y, ...batches.flatMap((b) => [b.x, b.y])]);
      assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
    });
  }
}

// The check can fail: without the gradients above, tfjs cannot differentiate through the conv
// net's SGD step at all.
for (
  const [kernel, message] of [
    ["Conv2DBackpropFilter", /gradient function not found for Conv2DBackpropFilter/],
    ["MaxPool", /gradient function not found for MaxPoolGrad/],
  ] as const
) {
  Deno.test(`without the corrected ${kernel} gradient the hypergradient throws`, async () => {
    await initBackend("cpu");
    const fx = fixture("lenet5", [16, 16, 1]);
    try {
      assertThrows(() => withTfjsOriginalGradient(kernel, () => check(fx, 1)), message);
    } finally {
      disposeFixture(fx);
    }
  });
}
