/**
 * Losses compiled to WGSL (engine/webgpu/loss_wgsl.ts) against the cpu backend, element by
 * element: the value, the derivative dl/df (the engine's written-out one, engine/metaloss.ts),
 * and the mixed second derivative fdot * d(dl/df)/d phi_j that the fused hypergradient needs,
 * which the reference takes from tfjs autodiff through the written-out derivative. Every
 * primitive in several positions, and random trees. Runs on any WebGPU adapter, Deno's software
 * adapter included; without one it says so and compares nothing.
 *
 * Tolerance: float32 on both sides, so agreement to 2e-5 of max(1, |value|) element-wise; the
 * transcendental functions of the two (log, sqrt, tanh) may differ in their last bits and deep
 * trees amplify that. The points are drawn at random, so none sits within rounding of a kink
 * (sign, min/max, |.|, the floors of the protected log and sqrt), where the two could take
 * different branches; every element of every tree is compared, and the test says how many.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { compileElementwise, compileLoss } from "../engine/metaloss.ts";
import { withZeroPathFrom } from "../engine/train.ts";
import { stackFunctions } from "../engine/webgpu/loss_wgsl.ts";
import { fusedDevice } from "../engine/webgpu/device.ts";
import { dispatchOnce } from "./support/webgpu.ts";
import { elementwise } from "../engine/webgpu/kernels.ts";
import { Rng } from "../core/rng.ts";
import { BINARY_OPS, type Tree, UNARY_OPS } from "../core/expr/tree.ts";
import { randomTrees } from "./support/random_trees.ts";

await tf.setBackend("cpu");
const fd = await fusedDevice();

/** Every primitive with f and y in each argument, and under another primitive. */
function primitiveTrees(): Tree[] {
  const trees: Tree[] = [];
  for (const op of BINARY_OPS) {
    trees.push([op, "fx", "y"], [op, "y", "fx"], [op, "fx", "fx"], [op, "mul", "fx", "fx", "y"]);
  }
  for (const op of UNARY_OPS) {
    trees.push([op, "fx"], [op, "sub", "fx", "y"], ["mul", "y", op, "fx"]);
  }
  return trees;
}

/** Elements compared per tree. */
const POINTS = 24;

/** (y, f, fdot) triples: targets and predictions of both tasks' ranges, random tangents. */
function points(n: number): number[][] {
  const rng = new Rng(7);
  return Array.from({ length: n }, (_, i) => {
    const y = i % 3 === 0 ? rng.int(2) : 4 * rng.next() - 2;
    const f = i % 2 === 0 ? rng.next() : 6 * rng.next() - 3;
    return [y, f, 2 * rng.next() - 1].map(Math.fround);
  });
}

/** Per tree and element: [value, derivative, hyper_0 .. hyper_{maxNodes - 1}] from WGSL. */
function wgsl(trees: Tree[], phis: number[][], pts: number[][]): Promise<Float32Array> {
  const device = fd!.device;
  const maxNodes = Math.max(...trees.map((t) => t.length));
  const width = 2 + maxNodes;
  const n = pts.length;
  const kernel = elementwise({
    key: "loss-probe",
    count: n,
    bindings: [
      { name: "phi", kind: "read" },
      { name: "inp", kind: "read" },
      { name: "out", kind: "write" },
    ],
    body: `
  let y = inp[i * 3u];
  let f = inp[i * 3u + 1u];
  let fd = inp[i * 3u + 2u];
  let pb = k * ${maxNodes}u;
  let vd = loss_at(k, y, f, pb);
  var acc: array<f32, ${maxNodes}>;
  hyper_at(k, y, f, fd, pb, &acc);
  let o = (k * ${n}u + i) * ${width}u;
  out[o] = vd.x;
  out[o + 1u] = vd.y;
  for (var j = 0u; j < ${maxNodes}u; j++) { out[o + 2u + j] = acc[j]; }`,
  });
  const spec = {
    ...kernel.spec,
    code: kernel.spec.code + "\n" + stackFunctions(trees, trees.map((_, k) => k), maxNodes, true),
  };
  const phiData = new Float32Array(trees.length * maxNodes);
  phis.forEach((p, k) => phiData.set(p, k * maxNodes));
  return dispatchOnce(
    device,
    spec,
    kernel.grid(trees.length),
    [phiData, new Float32Array(pts.flat())],
    trees.length * n * width,
  );
}

/** The same on the cpu backend: value, written-out derivative, autodiff of fdot * derivative. */
function reference(tree: Tree, phi: number[], [y, f, fdot]: number[]): number[] {
  return tf.tidy(() => {
    const yt = tf.tensor2d([[y]]), ft = tf.tensor2d([[f]]);
    const value = compileElementwise(tree)(yt, ft, tf.tensor1d(phi)).dataSync()[0];
    const loss = compileLoss(tree, "regression");
    // Regression over one element: the gradient is the element's derivative itself.
    const derivative = (p: tf.Tensor1D) => loss.valueAndGradient!(ft, yt, p).gradient;
    const d = derivative(tf.tensor1d(phi)).dataSync()[0];
    // A derivative free of phi (f only under sign) leaves no path to phi: zero, not a throw.
    const g = tf.grad((p: tf.Tensor) =>
      withZeroPathFrom(tf.sum(tf.mul(derivative(p as tf.Tensor1D), fdot)), [p])
    )(tf.tensor1d(phi));
    return [value, d, ...g.dataSync()];
  });
}

function close(a: number, b: number, tol = 2e-5): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

async function compare(
  trees: Tree[],
  seed: number,
): Promise<number> {
  const rng = new Rng(seed);
  const phis = trees.map((t) => t.map(() => Math.fround(0.5 + rng.next())));
  const pts = points(POINTS);
  const out = await wgsl(trees, phis, pts);
  const maxNodes = Math.max(...trees.map((t) => t.length));
  const width = 2 + maxNodes;
  let compared = 0;
  trees.forEach((tree, k) => {
    pts.forEach((p, i) => {
      const ref = reference(tree, phis[k], p);
      const got = Array.from(
        out.subarray((k * pts.length + i) * width, (k * pts.length + i + 1) * width),
      );
      const what = `${tree.join(" ")} at y=${p[0]} f=${p[1]} fdot=${p[2]}`;
      assert(close(got[0], ref[0]), `${what}: value ${got[0]} vs ${ref[0]}`);
      assert(close(got[1], ref[1]), `${what}: derivative ${got[1]} vs ${ref[1]}`);
      for (let j = 0; j < tree.length; j++) {
        assert(
          close(got[2 + j], ref[2 + j]),
          `${what}: d/dphi_${j} ${got[2 + j]} vs ${ref[2 + j]}`,
        );
      }
      compared++;
    });
  });
  return compared;
}

Deno.test({
  name: "WGSL losses equal the cpu backend: every primitive, value, derivative and d/dphi",
  ignore: !fd,
  fn: async () => {
    const trees = primitiveTrees();
    assertEquals(
      new Set(
        trees.flatMap((t) => t.filter((n) => typeof n === "string" && n !== "y" && n !== "fx")),
      ).size,
      12,
    );
    const compared = await compare(trees, 1);
    console.log(`compared ${compared} elements of ${trees.length} trees`);
    assertEquals(compared, trees.length * POINTS);
  },
});

Deno.test({
  name: "WGSL losses equal the cpu backend: random trees",
  ignore: !fd,
  fn: async () => {
    const trees = randomTrees(11, 120, 5).filter((t) => t.includes("fx"));
    assert(trees.length >= 50, `only ${trees.length} random trees with f(x)`);
    const compared = await compare(trees, 2);
    console.log(`compared ${compared} elements of ${trees.length} trees`);
    assertEquals(compared, trees.length * POINTS);
  },
});

if (!fd) console.log("no WebGPU adapter here: the WGSL losses were not compared");
