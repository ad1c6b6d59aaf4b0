/**
 * The primitive registry (core/expr/registry.ts) and its interpretations: the scalar reference
 * against an independent hand-written table, the tensor engine against the scalar algebra, and
 * every entry reaching every place a primitive shows up (printing, parsing, exports, chart).
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import type { DualAlgebra } from "../core/expr/algebra.ts";
import { compileElementwise, compileLoss } from "../engine/metaloss.ts";
import {
  ALL_OPS,
  evaluate,
  evaluateWithDerivative,
  NUMBERS,
  OPS,
  PROTECT_EPS,
} from "../core/expr/primitives.ts";
import { arity, BINARY_OPS, isOp, type Op, type Tree, UNARY_OPS } from "../core/expr/tree.ts";
import { toInfix, toLatex, toPrefix } from "../core/expr/print.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { exportJson, exportPytorch, exportTfjs } from "../core/export.ts";
import { expressionTreeChart } from "../report/tree_chart.ts";
import { escapeXml } from "../report/format.ts";
import { rampedHalfAndHalf } from "../core/gp/mod.ts";
import { Rng } from "../core/rng.ts";
import { POINTS, randomTrees } from "./support/random_trees.ts";

await tf.setBackend("cpu");

/** method.md's primitives written out by hand, independently of the registry's rules. */
const HAND: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / Math.sqrt(1 + b * b),
  min: (a, b) => Math.min(a, b),
  max: (a, b) => Math.max(a, b),
  square: (a) => a * a,
  abs: (a) => Math.abs(a),
  tanh: (a) => Math.tanh(a),
  sign: (a) => Math.sign(a),
  log: (a) => Math.log(Math.max(Math.abs(a), 1e-7)),
  sqrt: (a) => Math.sqrt(Math.max(Math.abs(a), 1e-7)),
};

/** Partial derivatives [dv/da, dv/db] by hand, with tfjs's conventions: min and max give a tie
 * to their first argument, |a| has slope -1 at 0, and the floor of log and sqrt passes the
 * derivative where |a| >= 1e-7. */
const HAND_PARTIALS: Record<string, (a: number, b: number) => [number, number]> = {
  add: () => [1, 1],
  sub: () => [1, -1],
  mul: (a, b) => [b, a],
  div: (a, b) => [1 / Math.sqrt(1 + b * b), -a * b / Math.pow(1 + b * b, 1.5)],
  min: (a, b) => a <= b ? [1, 0] : [0, 1],
  max: (a, b) => a >= b ? [1, 0] : [0, 1],
  square: (a) => [2 * a, 0],
  abs: (a) => [a > 0 ? 1 : -1, 0],
  tanh: (a) => [1 - Math.tanh(a) ** 2, 0],
  sign: () => [0, 0],
  log: (a) => [Math.abs(a) >= 1e-7 ? 1 / a : 0, 0],
  sqrt: (a) => [Math.abs(a) >= 1e-7 ? Math.sign(a) / (2 * Math.sqrt(Math.abs(a))) : 0, 0],
};

/** Value and d/dfx by the hand tables: null where the subtree does not contain fx. */
function handEvaluate(tree: Tree, y: number, fx: number, phi: readonly number[]) {
  let at = 0;
  const node = (): { v: number; d: number | null } => {
    const i = at++;
    const n = tree[i];
    const weigh = (v: number, d: number | null) =>
      i === 0 ? { v, d } : { v: phi[i] * v, d: d === null ? null : phi[i] * d };
    if (typeof n === "number") return weigh(n, null);
    if (n === "y") return weigh(y, null);
    if (n === "fx") return weigh(fx, 1);
    if (!isOp(n)) throw new Error(`unknown node ${n}`);
    const a = node();
    const b = arity(n) === 2 ? node() : { v: 0, d: null };
    const [pa, pb] = HAND_PARTIALS[n](a.v, b.v);
    const d = a.d === null && b.d === null ? null : (a.d ?? 0) * pa + (b.d ?? 0) * pb;
    return weigh(HAND[n](a.v, b.v), d);
  };
  return node();
}

/** The algebra of numbers in float32, as the cpu backend computes: operands and results rounded
 * to float32 (for + - * / and sqrt that is exactly float32 arithmetic). */
const FLOAT32 = Object.fromEntries(
  Object.entries(NUMBERS).map(([name, op]) => [
    name,
    (...xs: number[]) => Math.fround((op as (...a: number[]) => number)(...xs.map(Math.fround))),
  ]),
) as unknown as DualAlgebra<number>;

/** Equal, or within `tol` of the larger magnitude (at least 1). */
function near(got: number, want: number, tol: number): boolean {
  return Object.is(got, want) || Math.abs(got - want) <= tol * Math.max(1, Math.abs(want));
}

const TREES: Tree[] = [...rampedHalfAndHalf(new Rng(31), 200, 1, 6), ...randomTrees(32, 200, 6)];

Deno.test("registry: the hand-written tables cover exactly the registry's primitives", () => {
  assertEquals(Object.keys(HAND).sort(), [...ALL_OPS].sort());
  assertEquals(Object.keys(HAND_PARTIALS).sort(), [...ALL_OPS].sort());
  assertEquals(PROTECT_EPS, 1e-7);
  // Every op of the registry is drawn by the tree generators used below.
  const used = new Set(TREES.flat());
  for (const op of ALL_OPS) assert(used.has(op), `${op} never drawn`);
});

Deno.test("registry: scalar evaluation equals the hand-written table, 400 random trees", () => {
  const rng = new Rng(33);
  let compared = 0;
  for (const tree of TREES) {
    const phi = tree.map(() => 0.5 + rng.next());
    const points = [...POINTS, ...Array.from({ length: 5 }, () => [rng.normal(), rng.normal()])];
    for (const [y, fx] of points) {
      const what = `${toPrefix(tree)} at y=${y}, f=${fx}`;
      const hand = handEvaluate(tree, y, fx, phi);
      // The same operations in the same order: equal to the last bit (NaN included).
      assert(Object.is(evaluate(tree, y, fx, phi), hand.v), what);
      const got = evaluateWithDerivative(tree, y, fx, phi);
      assert(Object.is(got.v, hand.v), what);
      // Other formulas for the same derivative (div's -v b / r against -a b / s^3): rounding.
      const want = hand.d ?? 0;
      assert(near(got.d, want, 1e-9), `derivative of ${what}: ${got.d} vs ${want}`);
      compared++;
    }
  }
  assertEquals(compared, TREES.length * (POINTS.length + 5));
});

Deno.test("registry: tensor value and gradient equal the scalar algebra's in float32, 400 trees", () => {
  const rng = new Rng(34);
  const N = 16; // a power of two: the regression gradient's 1/N is exact
  const f32 = (x: number) => Math.fround(x);
  let compared = 0;
  for (const tree of TREES) {
    const phi = tree.map(() => f32(0.5 + rng.next()));
    const ys = Array.from({ length: N }, () => f32(2 * rng.normal()));
    const fs = Array.from({ length: N }, () => f32(2 * rng.normal()));
    const [value, gradient] = tf.tidy(() => {
      const p = tf.tensor1d(phi);
      const v = compileElementwise(tree)(tf.tensor1d(ys), tf.tensor1d(fs), p).dataSync();
      const written = compileLoss(tree, "regression").valueAndGradient!(
        tf.tensor2d([fs]),
        tf.tensor2d([ys]),
        p,
      );
      return [v, written.gradient.dataSync()];
    });
    for (let i = 0; i < N; i++) {
      const want = evaluateWithDerivative(tree, ys[i], fs[i], phi, FLOAT32);
      const what = `${toPrefix(tree)} at y=${ys[i]}, f=${fs[i]}`;
      // Tighter than a float32 tolerance: the cpu backend's kernels are these float32-rounded
      // Math functions, so the two agree to the last bit, overflow and NaN included.
      assert(Object.is(value[i], want.v), `value of ${what}: ${value[i]} vs ${want.v}`);
      const d = gradient[i] * N;
      assert(Object.is(d, want.d), `derivative of ${what}: ${d} vs ${want.d}`);
      compared++;
    }
  }
  assertEquals(compared, TREES.length * N);
});

/** A tree that applies `op` to arguments depending on both inputs. */
function treeOf(op: Op): Tree {
  return arity(op) === 2 ? [op, "sub", "fx", "y", "fx"] : [op, "sub", "fx", "y"];
}

Deno.test("registry: every entry is complete, printable and parses back", () => {
  assertEquals([...BINARY_OPS, ...UNARY_OPS].sort(), Object.keys(OPS).sort());
  for (const op of ALL_OPS) {
    const spec = OPS[op];
    assert(isOp(op) && arity(op) === spec.arity, op);
    assert(spec.label.trim() !== "" && spec.words.trim() !== "", `${op}: label and words`);
    assert((spec.symbol === undefined) === (spec.precedence === undefined), `${op}: infix`);
    const tree = treeOf(op);
    assertEquals(parseInfix(toInfix(tree)), tree, toInfix(tree));
    assertEquals(parseInfix(toPrefix(tree)), tree, toPrefix(tree));
    // Nested in itself, the brackets of the printed form must still read back.
    const nested = arity(op) === 2 ? [op, ...tree, ...tree] : [op, ...tree];
    assertEquals(parseInfix(toInfix(nested)), nested, toInfix(nested));
    const latex = toLatex(nested);
    assert(latex !== "" && !latex.includes("undefined"), `${op}: ${latex}`);
    const chart = expressionTreeChart(tree, tree.map(() => 1));
    assert(chart.includes(`>${escapeXml(spec.label)}</text>`), `${op}: chart label`);
  }
});

async function python3(args: string[]): Promise<{ success: boolean; stderr: string } | null> {
  try {
    const { success, stderr } = await new Deno.Command("python3", { args, stdout: "null" })
      .output();
    return { success, stderr: new TextDecoder().decode(stderr) };
  } catch {
    return null; // no python3 at all
  }
}

Deno.test("registry: every entry is exported; the tfjs export computes the engine's bits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lossmith_registry_" });
  try {
    let checked = 0;
    const pythonFiles: string[] = [];
    for (const op of ALL_OPS) {
      const tree = treeOf(op);
      const phi = tree.map((_, k) => Math.fround(0.75 + 0.1 * k));
      const loss = { tree, phi, task: "regression" as const };
      const line = `${arity(op) === 2 ? `${op}(a, b)` : `${op}(a)`} = ${OPS[op].words}`;
      const python = exportPytorch(loss);
      const js = exportTfjs(loss);
      assert(python.includes(line) && js.includes(line), `${op}: its words in the docstrings`);
      assertEquals(JSON.parse(exportJson(loss)).semantics.primitives[op], OPS[op].words);
      pythonFiles.push(`${dir}/${op}.py`);
      await Deno.writeTextFile(pythonFiles[pythonFiles.length - 1], python);
      const path = `${dir}/${op}.js`;
      await Deno.writeTextFile(path, js);
      const learnedLoss = (await import(new URL(`file://${path}`).href)).learnedLoss;
      tf.tidy(() => {
        // One output per example, as regression has: the export's per-example mean over the
        // outputs is then exact, and its batch mean the engine's, bit for bit.
        const z = tf.tensor2d([[0.3], [-1.2], [2], [0], [-0.5], [0.25]]);
        const y = tf.tensor2d([[1], [0.5], [-2], [0], [0.25], [0.25]]);
        const engine = (o: tf.Tensor) =>
          compileLoss(tree, "regression")(o as tf.Tensor2D, y, tf.tensor1d(phi));
        const mine = (o: tf.Tensor) => tf.mean(learnedLoss(y, o)) as tf.Scalar;
        assertEquals(mine(z).dataSync()[0], engine(z).dataSync()[0], `${op}: value`);
        assertEquals(
          tf.grad(mine)(z).arraySync(),
          tf.grad(engine)(z).arraySync(),
          `${op}: gradient`,
        );
      });
      checked++;
    }
    assertEquals(checked, ALL_OPS.length);
    // The PyTorch export cannot run without torch here; Python's own parser still checks it.
    const script = "import ast, sys\nfor p in sys.argv[1:]: ast.parse(open(p).read(), p)";
    const parsed = await python3(["-c", script, ...pythonFiles]);
    if (parsed === null) console.log("registry: no python3, the PyTorch exports were not parsed");
    else assert(parsed.success, parsed.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registry: scalar, tensor and autodiff derivatives of each entry agree", () => {
  const rng = new Rng(35);
  // Random points, and where the conventions matter: a tie (y = 0 makes f - y equal to f), a zero
  // (f = y) and a value under the floor of log and sqrt.
  const points: [number, number][] = [
    ...Array.from({ length: 12 }, (): [number, number] => [rng.normal(), rng.normal()]),
    [0, 0.75],
    [0.5, 0.5],
    [0, 0],
    [1e-8, 0],
  ];
  const ys = points.map(([y]) => Math.fround(y));
  const fs = points.map(([, f]) => Math.fround(f));
  let compared = 0;
  for (const op of ALL_OPS) {
    const tree = treeOf(op);
    const phi = tree.map(() => 1);
    tf.tidy(() => {
      const loss = compileLoss(tree, "regression");
      const [outputs, targets, p] = [tf.tensor2d([fs]), tf.tensor2d([ys]), tf.tensor1d(phi)];
      const written = loss.valueAndGradient!(outputs, targets, p);
      const auto = tf.grad((o: tf.Tensor) => loss(o as tf.Tensor2D, targets, p))(outputs);
      const value = compileElementwise(tree)(tf.tensor1d(ys), tf.tensor1d(fs), p).dataSync();
      const [g, ga] = [written.gradient.dataSync(), auto.dataSync()];
      points.forEach((_, i) => {
        const what = `${op} at y=${ys[i]}, f=${fs[i]}`;
        const scalar = evaluateWithDerivative(tree, ys[i], fs[i]);
        assert(near(value[i], scalar.v, 1e-6), `value of ${what}: ${value[i]} vs ${scalar.v}`);
        assert(near(g[i], ga[i], 1e-6), `written-out vs autodiff, ${what}: ${g[i]} vs ${ga[i]}`);
        const d = g[i] * points.length;
        assert(
          near(d, scalar.d, 1e-5),
          `tensor vs scalar derivative, ${what}: ${d} vs ${scalar.d}`,
        );
        compared++;
      });
    });
  }
  assertEquals(compared, ALL_OPS.length * points.length);
});
