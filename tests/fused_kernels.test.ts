/**
 * The fused engine's two product kernels (engine/webgpu/kernels.ts) against a float64 product on
 * the host: the tiled one, through workgroup memory, which the engine runs on a GPU, and the
 * direct one, which it runs on the software adapter. Shapes that leave partial tiles on every
 * side, and several candidates with operands of their own. Within 1e-5 of the largest output
 * (float32 sums of up to 130 terms in different orders).
 */
import { assert } from "./support/assert.ts";
import { fusedDevice } from "../engine/webgpu/device.ts";
import { matMul, matMulDirect } from "../engine/webgpu/kernels.ts";
import { dispatchOnce } from "./support/webgpu.ts";
import { Rng } from "../core/rng.ts";

const fd = await fusedDevice();
if (!fd) console.log("no WebGPU adapter here: the product kernels were not tested");

function product(
  kind: "tiled" | "direct",
  m: number,
  n: number,
  kd: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
): Promise<Float32Array> {
  const make = kind === "tiled" ? matMul : matMulDirect;
  const kernel = make({
    key: `test:${m}:${n}:${kd}`,
    m,
    n,
    kd,
    bindings: [{ name: "a", kind: "read" }, { name: "b", kind: "read" }, {
      name: "c",
      kind: "write",
    }],
    // b transposed, as the backward pass reads weights.
    a: `return a[k * ${m * kd}u + m * ${kd}u + p];`,
    b: `return b[k * ${kd * n}u + n * ${kd}u + p];`,
    store: `c[k * ${m * n}u + m * ${n}u + n] = acc;`,
  });
  return dispatchOnce(fd!.device, kernel.spec, kernel.grid(k), [a, b], k * m * n);
}

Deno.test({
  name: "tiled and direct product kernels equal the host's product",
  ignore: !fd,
  fn: async () => {
    const rng = new Rng(3);
    let compared = 0;
    for (const [m, n, kd, k] of [[37, 11, 19, 3], [70, 3, 130, 2], [16, 40, 1, 1]]) {
      const a = Float32Array.from({ length: k * m * kd }, () => rng.next() - 0.5);
      const b = Float32Array.from({ length: k * kd * n }, () => rng.next() - 0.5);
      const want = new Float64Array(k * m * n);
      for (let c = 0; c < k; c++) {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < kd; p++) {
              s += a[c * m * kd + i * kd + p] * b[c * kd * n + j * kd + p];
            }
            want[c * m * n + i * n + j] = s;
          }
        }
      }
      const scale = Math.max(...want.map(Math.abs));
      for (const kind of ["tiled", "direct"] as const) {
        const got = await product(kind, m, n, kd, k, a, b);
        const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
        assert(worst <= 1e-5 * scale, `${kind} ${m}x${n}x${kd} (K = ${k}): off by ${worst}`);
        compared += got.length;
      }
    }
    assert(compared === 2 * (3 * 37 * 11 + 2 * 70 * 3 + 16 * 40), `compared ${compared}`);
  },
});
