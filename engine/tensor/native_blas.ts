/**
 * Optional native matrix product for the wasm backend: tfjs's wasm matMul (XNNPACK, 128-bit SIMD)
 * measured 0.8 to 1.2 ms for the 128x784x100 product of an MLP step, OpenBLAS 0.1 to 0.3 ms. When
 * an OpenBLAS library and Deno's FFI permission are both present, the wasm `BatchMatMul` kernel
 * of rank-2 operands calls `cblas_sgemm` on the wasm heap in place (no copies), and so do the
 * convolutions, forward and backward (native_conv.ts); everything else, and every machine without
 * the library, keeps tfjs's own kernels.
 *
 * Netlib's reference BLAS (`libblas3` without OpenBLAS) is never used: it is slower than wasm.
 */
import { tf } from "./tf.ts";
import { useTransposedMatMulGradient } from "./gradients.ts";
import { enableNativeConv, type Sgemm } from "./native_conv.ts";

/**
 * Places Debian and Ubuntu install the threaded OpenBLAS; LOSSMITH_BLAS overrides. Only the
 * threaded build: the workers of a pool call it from several threads of one process at once,
 * and the serial build (libopenblas0-serial) is not safe for that — two workers on it gave
 * different losses for the same seed, while the threaded build (set to one thread per call)
 * and tfjs's own kernel gave identical ones.
 */
const CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
];

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      ...["i32", "i32", "i32", "i32", "i32", "i32", "f32", "buffer", "i32"],
      ...["buffer", "i32", "f32", "buffer", "i32"],
    ],
    result: "void",
  },
} as const;

const [ROW_MAJOR, NO_TRANS, TRANS] = [101, 111, 112];

// The wasm backend's kernel arguments are untyped in tfjs's public types.
// deno-lint-ignore no-explicit-any
type KernelArgs = any;

let active: string | undefined;

/** Whether FFI is granted for the library (least-privilege runs grant it for its path only). */
function hasFfiPermission(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi", path }).state === "granted";
  } catch {
    return false;
  }
}

function findLibrary(): string | undefined {
  const chosen = Deno.env.get("LOSSMITH_BLAS");
  if (chosen !== undefined) return chosen === "" || chosen === "none" ? undefined : chosen;
  return CANDIDATES.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/**
 * Replaces the wasm BatchMatMul kernel by OpenBLAS when possible. Returns the library used, or
 * undefined when it stays on tfjs's kernel. Call after the wasm backend is initialised.
 */
export function enableNativeMatMul(): string | undefined {
  if (active) return active;
  const path = findLibrary();
  if (!path || !hasFfiPermission(path)) return undefined;
  // One thread per call (Lossmith runs one worker per core), decided when the library is first
  // loaded in the process: OpenBLAS reads OPENBLAS_NUM_THREADS then. Started with its own thread
  // pool and switched to one thread at run time instead, it corrupted the process's heap once
  // workers called it (the default CLI search aborted at exit in 4 of 8 runs; in 0 of 8 with the
  // variable set first). A worker pool sets the variable before it spawns workers (workers/pool.ts), so
  // this line only writes it on a thread that loads the library first (the CLI, tests, benches).
  if (Deno.env.get("OPENBLAS_NUM_THREADS") !== "1") Deno.env.set("OPENBLAS_NUM_THREADS", "1");
  let lib;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch {
    return undefined;
  }
  const sgemm = lib.symbols.cblas_sgemm;
  const original = tf.getKernel("BatchMatMul", "wasm");
  if (!original) return undefined;
  const fallback = original.kernelFunc;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({
    kernelName: "BatchMatMul",
    backendName: "wasm",
    kernelFunc: ((args: KernelArgs) => {
      const { inputs: { a, b }, backend, attrs: { transposeA, transposeB } } = args;
      if (
        a.shape.length !== 2 || b.shape.length !== 2 || a.dtype !== "float32" ||
        b.dtype !== "float32"
      ) {
        return fallback(args);
      }
      const m = transposeA ? a.shape[1] : a.shape[0];
      const k = transposeA ? a.shape[0] : a.shape[1];
      const n = transposeB ? b.shape[0] : b.shape[1];
      // Allocating the output may grow the wasm heap and detach earlier views: views after it.
      const out = backend.makeOutput([m, n], "float32");
      const [av, bv, ov] = [a, b, out].map((t) => backend.typedArrayFromHeap(t));
      sgemm(
        ROW_MAJOR,
        transposeA ? TRANS : NO_TRANS,
        transposeB ? TRANS : NO_TRANS,
        m,
        n,
        k,
        1,
        av,
        a.shape[1],
        bv,
        b.shape[1],
        0,
        ov,
        n,
      );
      return out;
    }) as tf.KernelFunc,
  });
  replaceSum(sgemm);
  // With native transposed products as cheap as plain ones, tfjs's own gradient (transposed
  // operands) beats the explicit transposes that help tfjs's wasm kernel.
  useTransposedMatMulGradient();
  const gemm: Sgemm = (transA, transB, m, n, k, a, lda, b, ldb, accumulate, c, ldc) =>
    sgemm(
      ROW_MAJOR,
      transA ? TRANS : NO_TRANS,
      transB ? TRANS : NO_TRANS,
      m,
      n,
      k,
      1,
      a,
      lda,
      b,
      ldb,
      accumulate ? 1 : 0,
      c,
      ldc,
    );
  // And the convolutions (native_conv.ts).
  enableNativeConv(gemm);
  active = path;
  return path;
}

/** A row of ones, grown as needed: the left operand of a sum over rows. */
let ones = new Float32Array(0);

/**
 * wasm's Sum over every axis but the last (a bias's gradient, [b, h, w, c] to [c]) as the
 * product of a row of ones and the tensor read as [rows, c]: tfjs's kernel transposes the
 * reduced axes to the end first, 0.8 ms for LeNet's first layer at batch 128 against 0.07.
 * Other reductions keep tfjs's kernel.
 */
function replaceSum(sgemm: (...args: KernelArgs[]) => void): void {
  const own = tf.getKernel("Sum", "wasm");
  if (!own) return;
  const fallback = own.kernelFunc;
  tf.unregisterKernel("Sum", "wasm");
  tf.registerKernel({
    ...own,
    kernelFunc: ((args: KernelArgs) => {
      const { inputs: { x }, backend, attrs: { axis, keepDims } } = args;
      const rank = x.shape.length;
      const axes = tf.util.parseAxisParam(axis, x.shape);
      const leading = rank >= 2 && axes.length === rank - 1 &&
        [...axes].sort((p, q) => p - q).every((a, i) => a === i);
      if (!leading || x.dtype !== "float32") return fallback(args);
      const shape = x.shape as number[];
      const c = shape[rank - 1], rows = shape.slice(0, -1).reduce((p, q) => p * q, 1);
      if (ones.length < rows) ones = new Float32Array(rows).fill(1);
      const out = backend.makeOutput(
        keepDims ? [...shape.slice(0, -1).map(() => 1), c] : [c],
        "float32",
      );
      const [xv, ov] = [x, out].map((t) => backend.typedArrayFromHeap(t));
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, 1, c, rows, 1, ones, rows, xv, c, 0, ov, c);
      return out;
    }) as tf.KernelFunc,
  });
}

export function nativeMatMulLibrary(): string | undefined {
  return active;
}
