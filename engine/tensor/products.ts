/**
 * Matrix products with transposed operands, in whichever form is fastest on the active kernel:
 * tfjs's wasm kernel runs a transposed operand about ten times slower than an explicit transpose
 * followed by a plain product; the native OpenBLAS kernel runs both forms at the same speed.
 */
import { tf } from "./tf.ts";
import { plainMatMul } from "./gradients.ts";
import { nativeMatMulLibrary } from "./native_blas.ts";

export function matMulT(
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): tf.Tensor {
  return nativeMatMulLibrary()
    ? tf.matMul(a, b, transposeA, transposeB)
    : plainMatMul(a, b, transposeA, transposeB);
}
