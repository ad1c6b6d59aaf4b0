/**
 * Kernels of the wasm backend written in TypeScript on its heap, for the pooling and bias work of
 * a convolutional network's step, where tfjs spends several kernels or a slow one:
 *
 * - `LossmithPoolSpread` (dy, x, y): max pooling's gradient for windows that tile the input, dy
 *   of each window sent to the positions holding its maximum y (the pooling's output), every
 *   other position 0. It replaces six kernels of gradients.ts's composition (the maximum pooled
 *   again, two nearest-neighbour upsamplings, a subtraction, a step, a product). Its adjoint
 *   `LossmithPoolGather` (g, x, y) sums g over each window's maxima; each is the other's
 *   gradient, so the second order of an unrolled step stays right, and neither depends on x or
 *   y to first order (the mask is piecewise constant: zero gradient).
 * - `Add` of a tensor and a vector of fewer than 12 values along its last axis (a bias of a
 *   narrow layer): the wasm kernel's broadcast pays per row, 0.80 ms for LeNet's first layer
 *   (6 channels, batch 128) against 0.32 for one loop per channel; from 12 channels on, the
 *   wasm kernel is faster (0.33 ms against 0.63 at 16, same 442,368 values).
 *
 * The masks compare the bits of float32 values as 32-bit integers, with no branch: a branch on
 * the data (a ternary) took ten times as long on random signs. So a window's maximum is the value
 * bit for bit equal to the pooled output; +0 and -0 count as different there, which only matters
 * for windows of zeros after a ReLU, whose gradient the ReLU zeroes anyway. ReLU's gradient as
 * one such kernel measured slower than wasm's step, cast and product (0.72 ms against 0.56 for
 * LeNet's first layer), so it stays theirs: plain loops over the heap run several times slower
 * than wasm's SIMD kernels, and pay only where they replace several kernels or a slow one.
 *
 * The cpu and webgpu backends keep the compositions (gradients.ts): `hasKernel` says where
 * these exist.
 */
import "@tensorflow/tfjs-backend-wasm"; // its Add must be registered before this replaces it
import * as tf from "@tensorflow/tfjs";

type Info = tf.TensorInfo;
// The wasm backend and its kernel arguments are untyped in tfjs's public types.
// deno-lint-ignore no-explicit-any
type KernelArgs = any;
// deno-lint-ignore no-explicit-any
type WasmBackend = any;

export const POOL_SPREAD = "LossmithPoolSpread";
export const POOL_GATHER = "LossmithPoolGather";

const floats = (backend: WasmBackend, t: Info): Float32Array => backend.typedArrayFromHeap(t);
const bits = (f: Float32Array) => new Int32Array(f.buffer, f.byteOffset, f.length);

/** Whether `kernelName` is registered for the active backend. */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

interface PoolGeometry {
  b: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
}

function poolGeometry(x: Info, y: Info, attrs: KernelArgs): PoolGeometry {
  const [b, h, w, c] = x.shape, [, oh, ow] = y.shape;
  const [kh, kw] = attrs.filterSize as [number, number];
  return { b, h, w, c, oh, ow, kh, kw };
}

/**
 * For each window position: `spread`, out[xo] = v[yo] where x[xo] is the window's maximum
 * y[yo] (else 0); otherwise out[yo] += v[xo] there. Rows and columns past the last whole window
 * belong to no window: 0 in a spread.
 */
function windows(
  g: PoolGeometry,
  v: Float32Array,
  xb: Int32Array,
  yb: Int32Array,
  out: Float32Array,
  spread: boolean,
): void {
  const { b, h, w, c, oh, ow, kh, kw } = g;
  out.fill(0);
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < oh; i++) {
      const yrow = (n * oh + i) * ow * c;
      for (let u = 0; u < kh; u++) {
        const xrow = (n * h + i * kh + u) * w * c;
        for (let j = 0; j < ow; j++) {
          const yo = yrow + j * c;
          for (let s = 0; s < kw; s++) {
            const xo = xrow + (j * kw + s) * c;
            if (spread) spreadRun(v, xb, yb, out, xo, yo, c);
            else gatherRun(v, xb, yb, out, xo, yo, c);
          }
        }
      }
    }
  }
}

/** 1 where two float32 values are equal bit for bit (e = 0), else 0, with no branch: (e | -e)
 * has its sign bit set exactly when e is not 0. */
const same = (e: number) => ~((e | -e) >> 31) & 1;

function spreadRun(
  v: Float32Array,
  xb: Int32Array,
  yb: Int32Array,
  out: Float32Array,
  xo: number,
  yo: number,
  c: number,
): void {
  for (let k = 0; k < c; k++) out[xo + k] = v[yo + k] * same(xb[xo + k] ^ yb[yo + k]);
}

function gatherRun(
  v: Float32Array,
  xb: Int32Array,
  yb: Int32Array,
  out: Float32Array,
  xo: number,
  yo: number,
  c: number,
): void {
  for (let k = 0; k < c; k++) out[yo + k] += v[xo + k] * same(xb[xo + k] ^ yb[yo + k]);
}

function poolKernel(spread: boolean): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { inputs, backend, attrs } = args;
    const { x, y } = inputs;
    const v = spread ? inputs.dy : inputs.g;
    const g = poolGeometry(x, y, attrs);
    const out = backend.makeOutput(spread ? x.shape : y.shape, "float32");
    // Views after the allocation, which may grow the heap.
    windows(
      g,
      floats(backend, v),
      bits(floats(backend, x)),
      bits(floats(backend, y)),
      floats(backend, out),
      spread,
    );
    return out;
  }) as tf.KernelFunc;
}

/** Widest bias this loop takes; wasm's kernel is faster from 12 channels on. */
const BIAS_MAX = 11;

/** a + bias along a's last axis, or undefined where the shapes are any other broadcast. */
function biasAdd(args: KernelArgs): Info | undefined {
  const { inputs: { a, b }, backend } = args;
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  const [big, bias] = a.shape.length >= b.shape.length ? [a, b] : [b, a];
  const c = big.shape.at(-1);
  if (
    big.shape.length < 2 || bias.shape.length !== 1 || bias.shape[0] !== c || c === 1 ||
    c > BIAS_MAX
  ) {
    return undefined;
  }
  const out = backend.makeOutput(big.shape, "float32");
  const x = floats(backend, big), v = floats(backend, bias), o = floats(backend, out);
  // One pass per channel: a long stride-c loop runs faster than a short inner loop over c.
  for (let k = 0; k < c; k++) {
    const add = v[k];
    for (let i = k; i < o.length; i += c) o[i] = x[i] + add;
  }
  return out;
}

const zeros = (t: tf.Tensor) => () => tf.zerosLike(t);

const GRADIENTS: tf.GradConfig[] = [
  {
    kernelName: POOL_SPREAD,
    inputsToSave: ["x", "y"],
    gradFunc: (dy, [x, y], attrs) => ({
      dy: () => tf.engine().runKernel(POOL_GATHER, { g: dy as tf.Tensor, x, y }, attrs),
      x: zeros(x),
      y: zeros(y),
    }),
  },
  {
    kernelName: POOL_GATHER,
    inputsToSave: ["x", "y"],
    gradFunc: (dy, [x, y], attrs) => ({
      g: () => tf.engine().runKernel(POOL_SPREAD, { dy: dy as tf.Tensor, x, y }, attrs),
      x: zeros(x),
      y: zeros(y),
    }),
  },
];

let registered = false;

/** Registers the kernels above on wasm (and their gradients); idempotent. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: POOL_SPREAD, backendName: "wasm", kernelFunc: poolKernel(true) });
  tf.registerKernel({
    kernelName: POOL_GATHER,
    backendName: "wasm",
    kernelFunc: poolKernel(false),
  });
  for (const g of GRADIENTS) tf.registerGradient(g);
  const add = tf.getKernel("Add", "wasm");
  if (add) {
    ownAdd = add;
    const fallback = add.kernelFunc;
    tf.unregisterKernel("Add", "wasm");
    // Its setup function stays: it binds the wasm function when the backend starts.
    tf.registerKernel({
      ...add,
      kernelFunc: ((args: KernelArgs) => biasAdd(args) ?? fallback(args)) as tf.KernelFunc,
    });
  }
}

/** The kernels registered here, by name, for switching one off in a comparison (bench/). */
const ours = new Map<string, tf.KernelConfig>();
/** wasm's own Add, before biasAdd wrapped it. */
let ownAdd: tf.KernelConfig | undefined;

/** Switches one of this module's kernels off (the compositions take over) or back on. */
export function setWasmKernel(kernelName: string, on: boolean): void {
  const current = tf.getKernel(kernelName, "wasm");
  if (!current) {
    const config = ours.get(kernelName);
    if (on && config) tf.registerKernel(config);
    return;
  }
  if (kernelName === "Add") {
    if (!ownAdd) return;
    if (!ours.has("Add")) ours.set("Add", current);
    tf.unregisterKernel("Add", "wasm");
    tf.registerKernel(on ? ours.get("Add")! : ownAdd);
    return;
  }
  if (on) return;
  ours.set(kernelName, current);
  tf.unregisterKernel(kernelName, "wasm");
}
