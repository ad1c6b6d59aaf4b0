/**
 * The two backward kernels of conv2d, Conv2DBackpropFilter and Conv2DBackpropInput, for the cpu
 * and wasm backends, composed from the backend's own Conv2D (XNNPACK on wasm) and data-movement
 * kernels.
 *
 * Why: the wasm backend has no Conv2DBackpropFilter kernel at all (training any conv net failed
 * with "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"); its
 * Conv2DBackpropInput is a plain loop, about 30 ms for LeNet's second layer at batch 128 where its
 * Conv2D takes about 2 ms; and the cpu backend's Conv2DBackpropFilter took 2.8 s for LeNet's first
 * layer at batch 128, against 70 ms composed. Both backward maps are convolutions themselves:
 *
 * - filter gradient, dW[kh,kw,ci,co] = sum over b,i,j of xpad[b, i*s+kh, j*s+kw, ci] dy[b,i,j,co]:
 *   a stride-1 convolution of x with batch and channels swapped ([ci, H, W, b]) by dy used as the
 *   filter ([oh, ow, b, co]), dilated by the forward stride;
 * - input gradient: a stride-1 convolution of dy (zeros inserted between its rows and columns when
 *   the forward stride is above 1), padded by k - 1 - pad, with the filter rotated by 180 degrees
 *   and its channel axes swapped.
 *
 * They are kernels rather than tf ops so that the tape keeps one node per backward map, whose
 * gradients (gradients.ts) are computed lazily for the inputs that need them. webgpu keeps its own
 * kernels.
 */
import "@tensorflow/tfjs-backend-wasm"; // its kernels must be registered before these replace them
import * as tf from "@tensorflow/tfjs";

type Info = tf.TensorInfo;
type Shape4 = [number, number, number, number];
type Pair = [number, number];
type Pad = "valid" | "same" | number | [Pair, Pair, Pair, Pair];

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** Runs a backend's kernels directly (no engine, no tape) and frees the intermediates. */
class Composer {
  readonly #made: Info[] = [];
  constructor(readonly backendName: string, readonly backend: tf.KernelBackend) {}

  run(kernelName: string, inputs: Record<string, Info>, attrs: Record<string, unknown>): Info {
    const kernel = tf.getKernel(kernelName, this.backendName);
    if (!kernel) throw new Error(`kernel ${kernelName} missing on ${this.backendName}`);
    const out = kernel.kernelFunc({
      inputs,
      backend: this.backend,
      attrs: attrs as tf.NamedAttrMap,
    }) as Info;
    this.#made.push(out);
    return out;
  }

  /** Frees every intermediate except `result`, which goes to the engine (none on an error). */
  release(result?: Info): void {
    for (const t of this.#made) if (t !== result) this.backend.disposeData(t.dataId);
  }
}

function convInfo(xShape: number[], filterShape: number[], a: ConvAttrs) {
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(a.dataFormat),
  );
}

const explicitPad = (top: number, bottom: number, left: number, right: number) => [
  [0, 0],
  [top, bottom],
  [left, right],
  [0, 0],
];

/** dW for the forward conv2d(x, W) with attributes `a`, from x and dy. */
function filterGradient(c: Composer, x: Info, dy: Info, filterShape: Shape4, a: ConvAttrs): Info {
  const info = convInfo(x.shape, filterShape, a);
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const [fh, fw, ci, co] = filterShape;
  // Padding after the last row the forward conv reads; negative when it leaves rows unread.
  const extraH = (oh - 1) * sh + fh - info.inHeight - padInfo.top;
  const extraW = (ow - 1) * sw + fw - info.inWidth - padInfo.left;
  const xT = c.run("Transpose", { x }, { perm: [3, 1, 2, 0] }); // [ci, H, W, b]
  const dyT = c.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, b, co]
  let r = c.run("Conv2D", { x: xT, filter: dyT }, {
    strides: 1,
    pad: explicitPad(padInfo.top, Math.max(0, extraH), padInfo.left, Math.max(0, extraW)),
    dataFormat: "NHWC",
    dilations: [sh, sw],
  }); // [ci, fh (+ unread rows), fw (+ unread columns), co]
  if (extraH < 0 || extraW < 0) {
    r = c.run("Slice", { x: r }, { begin: [0, 0, 0, 0], size: [ci, fh, fw, co] });
  }
  return c.run("Transpose", { x: r }, { perm: [1, 2, 0, 3] });
}

/** dx for the forward conv2d(x, W) with attributes `a`, from dy and W. */
function inputGradient(c: Composer, dy: Info, filter: Info, inShape: Shape4, a: ConvAttrs): Info {
  const info = convInfo(inShape, filter.shape, a);
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;
  const [b, oh, ow, co] = dy.shape;
  const [fh, fw] = filter.shape;
  const [, h, w, ci] = inShape;
  let up = dy;
  if (sh > 1 || sw > 1) {
    // dy with s - 1 zeros after each column, then after each row: [b, oh * sh, ow * sw, co].
    // Rank-4 pads only: not every backend pads higher ranks.
    const zerosAfter = (axis: number, n: number) =>
      [0, 1, 2, 3].map((i) => [0, i === axis ? n : 0]);
    const cols = c.run("Reshape", { x: dy }, { shape: [b * oh, ow, 1, co] });
    const colsPadded = c.run("PadV2", { x: cols }, {
      paddings: zerosAfter(2, sw - 1),
      constantValue: 0,
    });
    const rows = c.run("Reshape", { x: colsPadded }, { shape: [b, oh, 1, ow * sw * co] });
    const rowsPadded = c.run("PadV2", { x: rows }, {
      paddings: zerosAfter(2, sh - 1),
      constantValue: 0,
    });
    up = c.run("Reshape", { x: rowsPadded }, { shape: [b, oh * sh, ow * sw, co] });
  }
  const top = fh - 1 - padInfo.top, left = fw - 1 - padInfo.left;
  if (top < 0 || left < 0) throw new Error("conv2d padding wider than its filter is not supported");
  // Padding that makes the output exactly h x w; negative: the output has extra rows to drop.
  const bottom = h + padInfo.top - oh * sh, right = w + padInfo.left - ow * sw;
  const rotated = c.run("Reverse", { x: filter }, { dims: [0, 1] });
  const swapped = c.run("Transpose", { x: rotated }, { perm: [0, 1, 3, 2] }); // [fh, fw, co, ci]
  let dx = c.run("Conv2D", { x: up, filter: swapped }, {
    strides: 1,
    pad: explicitPad(top, Math.max(0, bottom), left, Math.max(0, right)),
    dataFormat: "NHWC",
    dilations: 1,
  });
  if (bottom < 0 || right < 0) {
    dx = c.run("Slice", { x: dx }, { begin: [0, 0, 0, 0], size: [b, h, w, ci] });
  }
  return dx;
}

/** The backend's own kernel, for what the compositions do not handle (NCHW). */
const originals = new Map<string, tf.KernelConfig>();

function composedKernel(
  kernelName: "Conv2DBackpropFilter" | "Conv2DBackpropInput",
  backendName: string,
): tf.KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: (args) => {
      const a = args.attrs as unknown as ConvAttrs & { filterShape: Shape4; inputShape: Shape4 };
      if (a.dataFormat === "NCHW") {
        const original = originals.get(`${backendName}/${kernelName}`);
        if (!original) throw new Error(`${kernelName} with NCHW data is not supported here`);
        return original.kernelFunc(args);
      }
      const c = new Composer(backendName, args.backend as tf.KernelBackend);
      const inputs = args.inputs as Record<string, Info>;
      let result: Info | undefined;
      try {
        result = kernelName === "Conv2DBackpropFilter"
          ? filterGradient(c, inputs.x, inputs.dy, a.filterShape, a)
          : inputGradient(c, inputs.dy, inputs.filter, a.inputShape, a);
        return result;
      } finally {
        c.release(result);
      }
    },
  };
}

/** The backends whose own backward conv kernels are missing or slow. */
export const COMPOSED_CONV_BACKENDS = ["cpu", "wasm"] as const;

let registered = false;

export function registerComposedConvKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of COMPOSED_CONV_BACKENDS) {
    for (const kernelName of ["Conv2DBackpropFilter", "Conv2DBackpropInput"] as const) {
      const own = tf.getKernel(kernelName, backendName);
      if (own) {
        originals.set(`${backendName}/${kernelName}`, own);
        tf.unregisterKernel(kernelName, backendName); // registering over it would warn
      }
      tf.registerKernel(composedKernel(kernelName, backendName));
    }
  }
}
