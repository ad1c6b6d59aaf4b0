/**
 * A convolution's three maps on the wasm backend (forward, filter gradient, input gradient) as
 * single large matrix products on OpenBLAS (native_blas.ts), for NHWC data.
 *
 * The unfolding is by image rows, not by pixels: an output row (image b, row oy) of a tile of tw
 * output columns reads kh input rows, each a contiguous run of ws = (tw - 1) * sw + kw pixels of
 * ci channels. Those kh runs, side by side, are one row of A ([rows, kh * ws * ci]); the filter
 * becomes a banded matrix T ([kh * ws * ci, tw * co]) whose column (t, o) holds W[ky, kx, c, o] at
 * input column j = t * sw + kx. Then, for the tile:
 *
 * - forward: out[rows, tw * co] = A T, written straight into the NHWC output (its rows are the
 *   output's rows, with the output's row stride);
 * - filter gradient: A^T dy gives T's gradient, whose band, summed along each diagonal, is dW;
 * - input gradient: dy T^T gives A's gradient, whose rows fold back (added) onto the input rows.
 *
 * T is ws / kw times larger than the filter, so this does ws / kw times the multiply-adds of a
 * pixel unfolding (im2col); in exchange the copies are a few long runs per row (the pixel
 * unfolding copies kh * kw short runs per pixel), and every product is one large, well-shaped
 * sgemm. Wide images are cut into tiles of output columns so that ws / kw stays at most
 * `tuning.maxRatio`. That trade pays where the input has few channels, so that copies, not
 * multiply-adds, dominate: LeNet-5 (1 and 6 channels) and a first layer on RGB images. Timed
 * kernel by kernel against the kernels replaced (bench/lenet_kernels.ts, bench/README.md), the
 * five maps of LeNet-5's step took 0.2 to 0.8 of their time. With many channels it lost (a
 * ResNet layer of 64 channels: forward 1.6x, input gradient 1.4x the time), so above
 * `tuning.bandedForward` input channels the forward map stays XNNPACK's, and above
 * `tuning.bandedBackward` the filter gradient stays conv_kernels.ts's composition and the input
 * gradient is the pixel unfolding (`pixelInputGradient`), 0.4 of the composition's time.
 *
 * Why native at all: tfjs's wasm backend has no backward convolution kernels of its own worth
 * using (conv_kernels.ts composes them from its forward one), and that forward one, XNNPACK on
 * 128-bit wasm SIMD, runs a 1-channel 5x5 convolution at a few GFLOP/s where OpenBLAS reaches
 * over 100 on this machine's AVX-512. Only dilation 1 and NHWC data; anything else, and every
 * machine without OpenBLAS, keeps the kernels these replace. Rows are processed in chunks small
 * enough to stay in the cache.
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

/** Floats of unfolded rows built at once (512 KB): a chunk is multiplied while in the cache. */
export const tuning = {
  chunkFloats: 1 << 17,
  maxRatio: 3.5,
  /** Widest input (channels) the banded products take, forward and backward; see the header. */
  bandedForward: 8,
  bandedBackward: 16,
};

/** Reusable scratch memory, grown as needed, never shrunk (per purpose, so never aliased). */
class Scratch {
  #buf = new Float32Array(0);
  get(floats: number): Float32Array {
    if (this.#buf.length < floats) this.#buf = new Float32Array(floats);
    return this.#buf.subarray(0, floats);
  }
}
const rowsScratch = new Scratch(), bandScratch = new Scratch(), bandScratch2 = new Scratch();

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
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
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
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/** A tile: output columns [ox0, ox0 + tw), reading input columns [ix0, ix0 + ws). */
interface Tile {
  ox0: number;
  tw: number;
  ix0: number;
  ws: number;
  /** Columns of A: kh * ws * ci. */
  k: number;
}

/**
 * Output columns per tile: the widest whose band is at most `maxRatio` times the filter's
 * width (ws / kw), so that the extra multiply-adds stay bounded; whole rows when they fit.
 */
function tiles(g: Geometry): Tile[] {
  let tw = g.ow;
  while (tw > 1 && ((tw - 1) * g.sw + g.kw) / g.kw > tuning.maxRatio) tw = Math.ceil(tw / 2);
  const out: Tile[] = [];
  for (let ox0 = 0; ox0 < g.ow; ox0 += tw) {
    const t = Math.min(tw, g.ow - ox0);
    const ws = (t - 1) * g.sw + g.kw;
    out.push({ ox0, tw: t, ix0: ox0 * g.sw - g.left, ws, k: g.kh * ws * g.ci });
  }
  return out;
}

/** Output rows per chunk, so that a chunk's unfolded rows fit the scratch memory. */
function rowsPerChunk(g: Geometry, tile: Tile): number {
  return Math.max(1, Math.min(g.b * g.oh, Math.floor(tuning.chunkFloats / tile.k)));
}

/**
 * Rows [r0, r0 + n) of A for `tile` (row r = (image, oy)) into `a`, or, with `fold`, their
 * adjoint: `x` += `a` folded back onto the input rows. Out-of-image values are zeros (padding).
 */
function unfoldRows(
  g: Geometry,
  tile: Tile,
  x: Float32Array,
  r0: number,
  n: number,
  a: Float32Array,
  fold: boolean,
): void {
  const { h, w, ci, kh, oh, sh, top } = g;
  const { ix0, ws, k } = tile;
  // The part of a run inside the image, in input columns [lo, hi).
  const lo = Math.max(0, ix0), hi = Math.min(w, ix0 + ws);
  const span = ws * ci, inner = (hi - lo) * ci, skip = (lo - ix0) * ci;
  // All kh runs lie inside the image and are whole rows: one contiguous copy per output row.
  const wholeRows = lo === ix0 && hi - lo === ws && ws === w;
  let img = Math.floor(r0 / oh), oy = r0 - img * oh;
  for (let r = 0; r < n; r++) {
    const at = r * k;
    const iy0 = oy * sh - top;
    if (wholeRows && iy0 >= 0 && iy0 + kh <= h) {
      const from = (img * h + iy0) * w * ci;
      if (fold) { for (let i = 0; i < k; i++) x[from + i] += a[at + i]; }
      else a.set(x.subarray(from, from + k), at);
    } else {
      for (let ky = 0; ky < kh; ky++) {
        const iy = iy0 + ky, to = at + ky * span;
        if (iy < 0 || iy >= h || inner <= 0) {
          if (!fold) a.fill(0, to, to + span);
          continue;
        }
        if (!fold) {
          if (skip > 0) a.fill(0, to, to + skip);
          if (skip + inner < span) a.fill(0, to + skip + inner, to + span);
        }
        const from = ((img * h + iy) * w + lo) * ci, dst = to + skip;
        if (fold) { for (let i = 0; i < inner; i++) x[from + i] += a[dst + i]; }
        else for (let i = 0; i < inner; i++) a[dst + i] = x[from + i];
      }
    }
    if (++oy === oh) {
      oy = 0;
      img++;
    }
  }
}

/** The banded filter matrix T of a tile ([k, tw * co]) from the filter W ([kh, kw, ci, co]). */
function band(g: Geometry, tile: Tile, filter: Float32Array, t: Float32Array): Float32Array {
  const { kh, kw, ci, co, sw } = g;
  const { tw, ws } = tile;
  const n = tw * co;
  t.fill(0);
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let c = 0; c < ci; c++) {
        const src = ((ky * kw + kx) * ci + c) * co;
        for (let s = 0; s < tw; s++) {
          const dst = ((ky * ws + s * sw + kx) * ci + c) * n + s * co;
          for (let o = 0; o < co; o++) t[dst + o] = filter[src + o];
        }
      }
    }
  }
  return t;
}

/** dW += the diagonal sums of a tile's band gradient dT ([k, tw * co]). */
function unband(g: Geometry, tile: Tile, dt: Float32Array, dw: Float32Array): void {
  const { kh, kw, ci, co, sw } = g;
  const { tw, ws } = tile;
  const n = tw * co;
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let c = 0; c < ci; c++) {
        const dst = ((ky * kw + kx) * ci + c) * co;
        for (let s = 0; s < tw; s++) {
          const src = ((ky * ws + s * sw + kx) * ci + c) * n + s * co;
          for (let o = 0; o < co; o++) dw[dst + o] += dt[src + o];
        }
      }
    }
  }
}

/** A pointwise convolution (1 x 1, stride 1, no padding) reads the input as is. */
function pointwise(g: Geometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.top === 0 && g.left === 0;
}

// deno-lint-ignore no-explicit-any
type WasmBackend = any;

const heap = (backend: WasmBackend, t: Info): Float32Array => backend.typedArrayFromHeap(t);

/** Each tile of two distinct widths (the last may be narrower) gets its own band. */
function bandsOf(g: Geometry, all: Tile[], filter: Float32Array): Float32Array[] {
  const first = band(g, all[0], filter, bandScratch.get(all[0].k * all[0].tw * g.co));
  const last = all.at(-1)!;
  if (last.tw === all[0].tw) return all.map(() => first);
  const other = band(g, last, filter, bandScratch2.get(last.k * last.tw * g.co));
  return all.map((t) => t.tw === all[0].tw ? first : other);
}

function forward(sgemm: Sgemm, args: KernelArgs, fallback: tf.KernelFunc): Info {
  const { inputs: { x, filter }, backend, attrs } = args;
  const g = geometry(x.shape, filter.shape, attrs);
  if (!g || x.dtype !== "float32") return fallback(args) as Info;
  if (!pointwise(g) && g.ci > tuning.bandedForward) return fallback(args) as Info;
  const out = backend.makeOutput([g.b, g.oh, g.ow, g.co], "float32");
  const [xv, wv, ov] = [heap(backend, x), heap(backend, filter), heap(backend, out)];
  const rows = g.b * g.oh, ldo = g.ow * g.co;
  if (pointwise(g)) {
    sgemm(false, false, rows * g.ow, g.co, g.ci, xv, g.ci, wv, g.co, false, ov, g.co);
    return out;
  }
  const all = tiles(g), bands = bandsOf(g, all, wv);
  all.forEach((tile, i) => {
    const chunk = rowsPerChunk(g, tile), n = tile.tw * g.co;
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const nr = Math.min(chunk, rows - r0);
      const a = rowsScratch.get(nr * tile.k);
      unfoldRows(g, tile, xv, r0, nr, a, false);
      sgemm(
        false,
        false,
        nr,
        n,
        tile.k,
        a,
        tile.k,
        bands[i],
        n,
        false,
        ov.subarray(r0 * ldo + tile.ox0 * g.co),
        ldo,
      );
    }
  });
  return out;
}

function filterGradient(sgemm: Sgemm, args: KernelArgs, fallback: tf.KernelFunc): Info {
  const { inputs: { x, dy }, backend, attrs } = args;
  const g = geometry(x.shape, attrs.filterShape, { ...attrs, dilations: 1 });
  if (!g || x.dtype !== "float32" || dy.dtype !== "float32") return fallback(args) as Info;
  if (!pointwise(g) && g.ci > tuning.bandedBackward) return fallback(args) as Info;
  const out = backend.makeOutput(attrs.filterShape, "float32");
  const [xv, dyv, ov] = [heap(backend, x), heap(backend, dy), heap(backend, out)];
  const rows = g.b * g.oh, ldo = g.ow * g.co;
  if (pointwise(g)) {
    sgemm(true, false, g.ci, g.co, rows * g.ow, xv, g.ci, dyv, g.co, false, ov, g.co);
    return out;
  }
  ov.fill(0);
  for (const tile of tiles(g)) {
    const chunk = rowsPerChunk(g, tile), n = tile.tw * g.co;
    const dt = bandScratch.get(tile.k * n);
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const nr = Math.min(chunk, rows - r0);
      const a = rowsScratch.get(nr * tile.k);
      unfoldRows(g, tile, xv, r0, nr, a, false);
      sgemm(
        true,
        false,
        tile.k,
        n,
        nr,
        a,
        tile.k,
        dyv.subarray(r0 * ldo + tile.ox0 * g.co),
        ldo,
        r0 > 0,
        dt,
        n,
      );
    }
    unband(g, tile, dt, ov);
  }
  return out;
}

function inputGradient(sgemm: Sgemm, args: KernelArgs, fallback: tf.KernelFunc): Info {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const g = geometry(attrs.inputShape, filter.shape, { ...attrs, dilations: 1 });
  if (!g || dy.dtype !== "float32") return fallback(args) as Info;
  const out = backend.makeOutput(attrs.inputShape, "float32");
  const [dyv, wv, ov] = [heap(backend, dy), heap(backend, filter), heap(backend, out)];
  const rows = g.b * g.oh, ldo = g.ow * g.co;
  if (pointwise(g)) {
    sgemm(false, true, rows * g.ow, g.ci, g.co, dyv, g.co, wv, g.co, false, ov, g.ci);
    return out;
  }
  ov.fill(0);
  if (g.ci > tuning.bandedBackward) {
    pixelInputGradient(sgemm, g, dyv, wv, ov);
    return out;
  }
  const all = tiles(g), bands = bandsOf(g, all, wv);
  all.forEach((tile, i) => {
    const chunk = rowsPerChunk(g, tile), n = tile.tw * g.co;
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const nr = Math.min(chunk, rows - r0);
      const a = rowsScratch.get(nr * tile.k);
      sgemm(
        false,
        true,
        nr,
        tile.k,
        n,
        dyv.subarray(r0 * ldo + tile.ox0 * g.co),
        ldo,
        bands[i],
        n,
        false,
        a,
        tile.k,
      );
      unfoldRows(g, tile, ov, r0, nr, a, true);
    }
  });
  return out;
}

/**
 * The input gradient unfolded by pixels, for wide inputs: dy ([pixels, co]) times the filter
 * (read as [kh * kw * ci, co]) transposed gives one row per output pixel of the unfolded input's
 * gradient, folded back (col2im) in chunks that stay in the cache. With many channels the
 * copies are few against the products, and the banded matrix's extra work would not pay.
 */
function pixelInputGradient(
  sgemm: Sgemm,
  g: Geometry,
  dy: Float32Array,
  filter: Float32Array,
  dx: Float32Array,
): void {
  const { h, w, ci, kh, kw, co, oh, ow, sh, sw, top, left } = g;
  const k = kh * kw * ci, pixels = g.b * oh * ow, span = kw * ci;
  const chunk = Math.max(1, Math.floor(tuning.chunkFloats / k));
  for (let p0 = 0; p0 < pixels; p0 += chunk) {
    const n = Math.min(chunk, pixels - p0);
    const col = rowsScratch.get(n * k);
    sgemm(false, true, n, k, co, dy.subarray(p0 * co), co, filter, co, false, col, k);
    let img = Math.floor(p0 / (oh * ow));
    const rest = p0 - img * oh * ow;
    let oy = Math.floor(rest / ow), ox = rest - oy * ow;
    for (let r = 0, at = 0; r < n; r++) {
      const x0 = ox * sw - left;
      for (let ky = 0; ky < kh; ky++, at += span) {
        const iy = oy * sh - top + ky;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = x0 + kx;
          if (ix < 0 || ix >= w) continue;
          const from = ((img * h + iy) * w + ix) * ci, to = at + kx * ci;
          for (let c = 0; c < ci; c++) dx[from + c] += col[to + c];
        }
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
}

const KERNELS = {
  Conv2D: forward,
  Conv2DBackpropFilter: filterGradient,
  Conv2DBackpropInput: inputGradient,
} as const;

/** The kernels replaced, while the products are on. */
const replaced = new Map<string, tf.KernelConfig>();
/** The product enableNativeConv was given, for switching back on after a comparison. */
let lastSgemm: Sgemm | undefined;

/** Replaces the wasm backend's convolution kernels by products on `sgemm`. */
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
