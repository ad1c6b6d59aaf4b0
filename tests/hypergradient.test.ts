/**
 * Every hypergradient against central finite differences (cpu backend): each primitive of the
 * search space, each tfjs op that tfjs differentiates twice wrongly, and the whole unroll of an
 * MLP for T = 1 and 3 on classification and regression. The last tests prove the check would
 * have caught the tfjs defect: with tfjs's own gradients restored, it fails.
 */
import { assert, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { logSoftmax, withTfjsOriginalGradient } from "../engine/tensor/gradients.ts";
import { type BatchLoss, compileLoss, type Task } from "../engine/metaloss.ts";
import { initialValues, type ModelSpec, toParams } from "../engine/models.ts";
import {
  type Batch,
  hypergradient,
  type InnerOptimizer,
  unrolledTaskLoss,
} from "../engine/train.ts";
import { BINARY_OPS, type Tree, UNARY_OPS } from "../core/expr/tree.ts";
import {
  compareWithFiniteDifferences,
  FD_TOLERANCE,
  fixtureRandom,
  RICH_TREE,
  spreadPhi,
} from "./support/finite_differences.ts";

await tf.setBackend("cpu");

const PLAIN_SGD: InnerOptimizer = { lr: 0.5, momentum: 0, nesterov: false, weightDecay: 0 };

interface Fixture {
  spec: ModelSpec;
  task: Task;
  batches: Batch[];
  validation: Batch;
  theta0: tf.Tensor[];
}

function fixture(kind: ModelSpec["kind"], task: Task, seed = 7): Fixture {
  const random = fixtureRandom(seed);
  const inputs = 5, outputs = 3, b = 8;
  const spec: ModelSpec = { kind, inputs, outputs, hidden: [6] };
  const batch = (): Batch => {
    const x = tf.tensor2d(Array.from({ length: b * inputs }, () => 2 * random() - 1), [b, inputs]);
    const y = task === "classification"
      ? tf.oneHot(
        tf.tensor1d(Array.from({ length: b }, () => Math.floor(random() * outputs)), "int32"),
        outputs,
      )
        .toFloat() as tf.Tensor2D
      : tf.tensor2d(Array.from({ length: b * outputs }, () => 2 * random() - 1), [b, outputs]);
    return { x, y };
  };
  const batches = [batch(), batch(), batch()];
  return {
    spec,
    task,
    batches,
    validation: batch(),
    theta0: toParams(spec, initialValues(spec, random)),
  };
}

function check(fx: Fixture, loss: BatchLoss, phi0: number[], steps: number, opt = PLAIN_SGD) {
  const f = unrolledTaskLoss(
    fx.spec,
    fx.task,
    loss,
    opt,
    fx.theta0,
    fx.batches.slice(0, steps),
    fx.validation,
  );
  return compareWithFiniteDifferences(f, phi0);
}

/** A tree that exercises `op` on a value depending on both terminals. */
function treeFor(op: string): Tree {
  if ((BINARY_OPS as readonly string[]).includes(op)) {
    return [op, "sub", "fx", "y", "mul", "fx", "y"] as Tree;
  }
  // sign has zero derivative: multiply it into a differentiable term so the check has signal.
  if (op === "sign") return ["mul", "sign", "sub", "fx", "y", "sub", "fx", "y"];
  return [op, "sub", "fx", "y"] as Tree;
}

for (const task of ["regression", "classification"] as const) {
  for (const op of [...BINARY_OPS, ...UNARY_OPS]) {
    Deno.test(`hypergradient of primitive ${op} (${task}, linear, T=1) matches finite differences`, () => {
      const fx = fixture("linear", task);
      const tree = treeFor(op);
      const r = check(fx, compileLoss(tree, task), spreadPhi(tree.length), 1);
      assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
    });
  }
}

/** Losses built directly from the tfjs ops whose second-order gradients tfjs gets wrong. */
const RAW_OP_LOSSES: Record<string, BatchLoss> = {
  Exp: (o, y, phi) => tf.mean(tf.exp(tf.mul(tf.mul(o, y), phi.slice(0, 1)))),
  Tanh: (o, y, phi) => tf.mean(tf.tanh(tf.mul(tf.sub(o, y), phi.slice(0, 1)))),
  Sigmoid: (o, y, phi) => tf.mean(tf.sigmoid(tf.mul(tf.sub(o, y), phi.slice(0, 1)))),
  Softmax: (o, y, phi) => tf.mean(tf.sum(tf.mul(y, tf.softmax(tf.mul(o, phi.slice(0, 1)))), 1)),
  LogSoftmax: (o, y, phi) =>
    tf.neg(tf.mean(tf.sum(tf.mul(y, logSoftmax(tf.mul(o, phi.slice(0, 1)))), 1))),
  Max: (o, y, phi) => tf.mean(tf.max(tf.mul(tf.sub(o, y), phi.slice(0, 1)), 1)),
  Min: (o, y, phi) => tf.mean(tf.min(tf.mul(tf.sub(o, y), phi.slice(0, 1)), 1)),
};

for (const [kernel, loss] of Object.entries(RAW_OP_LOSSES)) {
  Deno.test(`hypergradient through tfjs op ${kernel} (MLP, T=1) matches finite differences`, () => {
    const fx = fixture("mlp", "classification");
    const r = check(fx, loss, [1.3], 1);
    assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
  });
}

for (const task of ["classification", "regression"] as const) {
  for (const steps of [1, 3]) {
    Deno.test(`hypergradient of the whole unroll (MLP, ${task}, T=${steps}) matches finite differences`, () => {
      const fx = fixture("mlp", task);
      const r = check(fx, compileLoss(RICH_TREE, task), spreadPhi(RICH_TREE.length), steps);
      assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
    });
  }
}

Deno.test("hypergradient through momentum, Nesterov and weight decay (MLP, T=3) matches finite differences", () => {
  const fx = fixture("mlp", "classification");
  const opt: InnerOptimizer = { lr: 0.3, momentum: 0.9, nesterov: true, weightDecay: 5e-2 };
  const r = check(
    fx,
    compileLoss(RICH_TREE, "classification"),
    spreadPhi(RICH_TREE.length),
    3,
    opt,
  );
  assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
});

// The check can fail: with tfjs's own gradient of each defective kernel restored, the same
// comparison reports an error above the tolerance. This is the test that catches tfjs issue 3252.
for (const kernel of ["Exp", "Tanh", "Sigmoid", "Softmax"]) {
  Deno.test(`the finite-difference check detects tfjs's own ${kernel} gradient`, () => {
    const fx = fixture("mlp", "classification");
    const r = withTfjsOriginalGradient(kernel, () => check(fx, RAW_OP_LOSSES[kernel], [1.3], 1));
    assert(r.relativeError > FD_TOLERANCE, `expected a mismatch, got ${JSON.stringify(r)}`);
  });
}

Deno.test("truncated unrolling: the last K steps' hypergradient matches finite differences", () => {
  const fx = fixture("mlp", "classification");
  const loss = compileLoss(RICH_TREE, "classification");
  const phi0 = spreadPhi(RICH_TREE.length);
  const phiValue = tf.tensor1d(phi0);
  // The early steps run at phi0 and are constants: the function differentiated is the same one
  // finite differences see, so they must agree.
  const f = unrolledTaskLoss(
    fx.spec,
    fx.task,
    loss,
    PLAIN_SGD,
    fx.theta0,
    fx.batches,
    fx.validation,
    {
      mode: "truncated",
      truncateTo: 1,
    },
    phiValue,
  );
  const r = compareWithFiniteDifferences(f, phi0);
  assertLess(r.relativeError, FD_TOLERANCE, JSON.stringify(r));
  // Truncating to all T steps is the exact hypergradient.
  const full = unrolledTaskLoss(
    fx.spec,
    fx.task,
    loss,
    PLAIN_SGD,
    fx.theta0,
    fx.batches,
    fx.validation,
    {
      mode: "truncated",
      truncateTo: 3,
    },
    phiValue,
  );
  const exact = check(fx, loss, phi0, 3);
  assertLess(compareWithFiniteDifferences(full, phi0).relativeError, FD_TOLERANCE);
  const g = tf.tidy(() => Array.from(hypergradient(full, tf.tensor1d(phi0)).grad.dataSync()));
  const diff = Math.hypot(...g.map((v, i) => v - exact.analytic[i])) /
    Math.hypot(...exact.analytic);
  assertLess(diff, 1e-5);
  phiValue.dispose();
});

Deno.test("first-order unrolling equals the exact hypergradient for T=1 and approximates it for T=3", () => {
  const fx = fixture("mlp", "classification");
  const loss = compileLoss(RICH_TREE, "classification");
  const phi0 = spreadPhi(RICH_TREE.length);
  const grad = (steps: number, mode: "exact" | "first-order") =>
    tf.tidy(() => {
      const f = unrolledTaskLoss(
        fx.spec,
        fx.task,
        loss,
        PLAIN_SGD,
        fx.theta0,
        fx.batches.slice(0, steps),
        fx.validation,
        { mode, truncateTo: 1 },
      );
      return Array.from(hypergradient(f, tf.tensor1d(phi0)).grad.dataSync());
    });
  const rel = (a: number[], b: number[]) =>
    Math.hypot(...a.map((v, i) => v - b[i])) / Math.hypot(...b);
  assertLess(rel(grad(1, "first-order"), grad(1, "exact")), 1e-6);
  const [approx, exact] = [grad(3, "first-order"), grad(3, "exact")];
  const cosine = approx.reduce((a, v, i) => a + v * exact[i], 0) /
    (Math.hypot(...approx) * Math.hypot(...exact));
  console.log(
    `T=3: first-order vs exact hypergradient: relative difference ${
      rel(approx, exact).toFixed(3)
    }, cosine ${cosine.toFixed(3)}`,
  );
  assert(rel(approx, exact) > 1e-4, "first-order should drop the second-order terms between steps");
  assert(cosine > 0.5, `first-order direction far from exact: cosine ${cosine}`);
});
