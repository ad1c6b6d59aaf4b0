/**
 * The input gradient of a convolution on the wasm backend as a matrix product on OpenBLAS
 * (native_blas.ts), the way a CPU convolution without a convolution library computes it: dy
 * ([pixels, co]) times the filter (read as a [kh * kw * ci, co] matrix) transposed gives one row
 * per output pixel of the unfolded input's gradient, folded back onto the input (col2im).
 *
 * Why: conv_kernels.ts composes it from XNNPACK's forward convolution of dy with the rotated
 * filter, which for LeNet's second layer took 2.5 times as long (median of 30 paired timings on
 * the 2-core machine, alternating both in one process). The same unfolding measured no faster
 * than the compositions for the filter gradient (1.04x and 1.33x as long for LeNet's two layers)
 * and slower than XNNPACK for the forward convolution, so those stay as they are. NHWC data only
 * (what the models use); any other layout keeps the kernel this replaces. The rows are built in
 * chunks small enough to stay in the cache while they are multiplied.
 */
import { tf } from "./tf.ts";

type Info = tf.TensorInfo;
// The wasm backend's kernel arguments are untyped in tfjs's public types.
// deno-lint-ignore no-explicit-any
type KernelArgs = any;

/** C = op(A) op(B) (+ C when `accumulate`), row-major, single precision. */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  accumulate: boolean,
  c: Float32Array,
  ldc: number,
) => void;

/**
 * Floats of unfolded rows computed at once (256 KB): a chunk's rows are folded back while they
 * are still in the cache, and the scratch memory stays small whatever the batch.
 */
const SCRATCH_FLOATS = 1 << 16;
let scratch = new Float32Array(0);

function scratchOf(floats: number): Float32Array {
  if (scratch.length < floats) scratch = new Float32Array(floats);
  return scratch.subarray(0, floats);
}

interface Geometry {
  b: number;
  h: number;
  w: number;
  ci: number;
  kh: number;
  kw: number;
  co: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  left: number;
}

function geometry(
  xShape: number[],
  filterShape: number[],
  attrs: KernelArgs,
): Geometry | undefined {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC") return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  return {
    b: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    co: info.outChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/** Output pixels per chunk, so that a chunk's unfolded rows fit the scratch memory. */
function pixelsPerChunk(g: Geometry): number {
  return Math.max(1, Math.floor(SCRATCH_FLOATS / (g.kh * g.kw * g.ci)));
}

/**
 * Rows [p0, p0 + n) of the unfolded input into `col` (pixel p = (image, oy, ox)), or, with
 * `fold`, their adjoint: `x` += `col` folded back (col2im, what the input gradient needs).
 * No callback in the inner loops: this copy is a large part of a small convolution's time.
 */
function unfold(
  g: Geometry,
  x: Float32Array,
  p0: number,
  n: number,
  col: Float32Array,
  fold: boolean,
): void {
  const { h, w, ci, kh, kw, oh, ow, sh, sw, dh, dw, top, left } = g;
  const span = kw * ci;
  let img = Math.floor(p0 / (oh * ow));
  const rest = p0 - img * oh * ow;
  let oy = Math.floor(rest / ow), ox = rest - oy * ow;
  let at = 0;
  for (let r = 0; r < n; r++) {
    const x0 = ox * sw - left;
    // The whole filter row lies inside the image: one contiguous run of kw * ci values.
    const inside = dw === 1 && x0 >= 0 && x0 + kw <= w;
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - top + ky * dh;
      if (iy < 0 || iy >= h) {
        if (!fold) col.fill(0, at, at + span);
      } else if (inside) {
        const from = ((img * h + iy) * w + x0) * ci;
        if (fold) { for (let i = 0; i < span; i++) x[from + i] += col[at + i]; }
        else for (let i = 0; i < span; i++) col[at + i] = x[from + i];
      } else {
        for (let kx = 0; kx < kw; kx++) {
          const ix = x0 + kx * dw, to = at + kx * ci;
          if (ix < 0 || ix >= w) {
            if (!fold) col.fill(0, to, to + ci);
            continue;
          }
          const from = ((img * h + iy) * w + ix) * ci;
          if (fold) { for (let c = 0; c < ci; c++) x[from + c] += col[to + c]; }
          else for (let c = 0; c < ci; c++) col[to + c] = x[from + c];
        }
      }
      at += span;
    }
    if (++ox === ow) {
      ox = 0;
      if (++oy === oh) {
        oy = 0;
        img++;
      }
    }
  }
}

const col2im = (g: Geometry, col: Float32Array, p0: number, n: number, dx: Float32Array) =>
  unfold(g, dx, p0, n, col, true);

/** A pointwise convolution (1 x 1, stride 1, no padding) reads the input as is. */
function pointwise(g: Geometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.top === 0 && g.left === 0;
}

// deno-lint-ignore no-explicit-any
type WasmBackend = any;

const heap = (backend: WasmBackend, t: Info): Float32Array => backend.typedArrayFromHeap(t);

function inputGradient(sgemm: Sgemm, args: KernelArgs, fallback: tf.KernelFunc): Info {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const g = geometry(attrs.inputShape, filter.shape, { ...attrs, dilations: 1 });
  if (!g || dy.dtype !== "float32") return fallback(args) as Info;
  const out = backend.makeOutput(attrs.inputShape, "float32");
  const [dyv, wv, ov] = [heap(backend, dy), heap(backend, filter), heap(backend, out)];
  const k = g.kh * g.kw * g.ci, pixels = g.b * g.oh * g.ow;
  if (pointwise(g)) {
    sgemm(false, true, pixels, k, g.co, dyv, g.co, wv, g.co, false, ov, k);
    return out;
  }
  ov.fill(0);
  const chunk = pixelsPerChunk(g);
  for (let p0 = 0; p0 < pixels; p0 += chunk) {
    const n = Math.min(chunk, pixels - p0);
    const col = scratchOf(n * k);
    sgemm(false, true, n, k, g.co, dyv.subarray(p0 * g.co), g.co, wv, g.co, false, col, k);
    col2im(g, col, p0, n, ov);
  }
  return out;
}

const KERNELS = {
  Conv2DBackpropInput: inputGradient,
} as const;

/** The kernels replaced, while the products are on. */
const replaced = new Map<string, tf.KernelConfig>();
/** The product enableNativeConv was given, for switching back on after a comparison. */
let lastSgemm: Sgemm | undefined;

/** Replaces the wasm backend's input-gradient convolution kernel by products on `sgemm`. */
export function enableNativeConv(sgemm: Sgemm): void {
  lastSgemm = sgemm;
  if (replaced.size > 0) return;
  for (const [kernelName, run] of Object.entries(KERNELS)) {
    const own = tf.getKernel(kernelName, "wasm");
    if (!own) continue;
    replaced.set(kernelName, own);
    const fallback = own.kernelFunc;
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: ((args: KernelArgs) => run(sgemm, args, fallback)) as tf.KernelFunc,
    });
  }
}

/** The kernels from before `enableNativeConv`, for a comparison (bench/variants.ts). */
export function disableNativeConv(): void {
  for (const [kernelName, own] of replaced) {
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel(own);
  }
  replaced.clear();
}

/** Back on after `disableNativeConv`; false where it was never on (no OpenBLAS). */
export function reenableNativeConv(): boolean {
  if (!lastSgemm) return false;
  enableNativeConv(lastSgemm);
  return true;
}
