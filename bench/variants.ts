/**
 * Kernel patches for experiments (bench/experiments.ts, bench/profile.ts --variant): speed
 * changes not yet in core/, applied to this process only. A variant joins names with "+":
 *   base      nothing patched
 *   nocopy    wasm Identity and same-dtype Cast share the input's buffer instead of copying it
 *             (tfjs clones every tensor it saves for the backward pass through Identity)
 *   blas      wasm BatchMatMul of rank-2 operands by cblas_sgemm through Deno's FFI, reading and
 *             writing the wasm heap in place (no copies); needs an OpenBLAS library
 *   tgrad     tfjs's own BatchMatMul gradient (transposed operands) instead of core's explicit
 *             transposes: right only with `blas`, whose transposed forms cost nothing extra
 *   cheapclone  the engine's clone of a saved tensor shares its buffer without running a kernel
 *             (same tape node, so second-order gradients are unchanged)
 */
import { tf } from "../core/tensor/tf.ts";

export const DEFAULT_BLAS = "/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0";

// deno-lint-ignore no-explicit-any
type KernelArgs = any;
interface Info {
  dataId: object;
  shape: number[];
  dtype: string;
}

function replaceKernel(kernelName: string, kernelFunc: (args: KernelArgs) => unknown): void {
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as tf.KernelFunc });
}

/** The input itself with one more reference: what tfjs's cpu backend does for Identity. */
function share({ inputs: { x }, backend }: KernelArgs): Info {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function noCopy(): void {
  const cast = tf.getKernel("Cast", "wasm")!.kernelFunc;
  replaceKernel("Identity", share);
  replaceKernel("Cast", (a) => a.inputs.x.dtype === a.attrs.dtype ? share(a) : cast(a));
}

function nativeMatMul(blasPath: string): void {
  const lib = Deno.dlopen(
    blasPath,
    {
      cblas_sgemm: {
        parameters: [
          ...["i32", "i32", "i32", "i32", "i32", "i32", "f32", "buffer", "i32"],
          ...["buffer", "i32", "f32", "buffer", "i32"],
        ],
        result: "void",
      },
    } as const,
  );
  const original = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
  const [ROW_MAJOR, NO_TRANS, TRANS] = [101, 111, 112];
  replaceKernel("BatchMatMul", (a) => {
    const { inputs: { a: x, b: y }, backend, attrs: { transposeA, transposeB } } = a;
    if (x.shape.length !== 2 || y.shape.length !== 2) return original(a);
    const m = transposeA ? x.shape[1] : x.shape[0];
    const k = transposeA ? x.shape[0] : x.shape[1];
    const n = transposeB ? y.shape[0] : y.shape[1];
    const out = backend.makeOutput([m, n], "float32"); // may grow the heap: views after it
    const [xv, yv, ov] = [x, y, out].map((t) => backend.typedArrayFromHeap(t));
    const [ta, tb] = [transposeA ? TRANS : NO_TRANS, transposeB ? TRANS : NO_TRANS];
    const sgemm = lib.symbols.cblas_sgemm;
    sgemm(ROW_MAJOR, ta, tb, m, n, k, 1, xv, x.shape[1], yv, y.shape[1], 0, ov, n);
    return out;
  });
}

function transposedGradient(): void {
  const mm = (a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean) => tf.matMul(a, b, ta, tb);
  const warn = console.warn;
  console.warn = () => {};
  tf.registerGradient({
    kernelName: "BatchMatMul",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) => {
      const [a, b, g] = [saved[0], saved[1], dy as tf.Tensor];
      const { transposeA: ta, transposeB: tb } = attrs as unknown as Record<string, boolean>;
      if (!ta && !tb) return { a: () => mm(g, b, false, true), b: () => mm(a, g, true, false) };
      if (!ta && tb) return { a: () => mm(g, b, false, false), b: () => mm(g, a, true, false) };
      if (ta && !tb) return { a: () => mm(b, g, false, true), b: () => mm(a, g, false, false) };
      return { a: () => mm(b, g, true, true), b: () => mm(g, a, true, true) };
    },
  });
  console.warn = warn;
}

/** tfjs-core's Engine.clone without the Identity kernel run: the tensor shares the buffer. */
function cheapClone(): void {
  // deno-lint-ignore no-explicit-any
  const engine = tf.engine() as any;
  engine.clone = function (x: tf.Tensor) {
    this.state.tensorInfo.get(x.dataId).backend.incRef(x.dataId);
    const y = this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype });
    const grad = (dy: tf.Tensor) => ({ x: () => tf.cast(dy, "float32") });
    this.addTapeNode(this.state.activeScope.name, { x }, [y], grad, [], {});
    return y;
  };
}

/** Applies a variant (after initBackend("wasm")); returns it normalised. */
export function applyVariant(variant: string, blasPath = DEFAULT_BLAS): string {
  const parts = new Set(variant.split("+"));
  const known = new Set(["base", "nocopy", "blas", "tgrad", "cheapclone"]);
  for (const p of parts) if (!known.has(p)) throw new Error(`unknown variant part '${p}'`);
  if (parts.has("nocopy")) noCopy();
  if (parts.has("blas")) nativeMatMul(blasPath);
  if (parts.has("tgrad")) transposedGradient();
  if (parts.has("cheapclone")) cheapClone();
  return [...parts].join("+");
}
