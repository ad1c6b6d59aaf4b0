/**
 * The readable formula (core/expr/simplify.ts) is the same function as the weighted tree it comes
 * from: at random points, on random trees (the property-test generator, rich in constants, and
 * the GP's own) with random weights, including the protected primitives at and around their
 * floors. And it reads as intended on a few hand-checked losses.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { close, randomTrees } from "./support/random_trees.ts";
import { simplified, simplifyTree } from "../core/expr/simplify.ts";
import { evaluate, PROTECT_EPS } from "../core/expr/primitives.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { toInfix } from "../core/expr/print.ts";
import { generate } from "../core/gp/generate.ts";
import { Rng } from "../core/rng.ts";
import type { Tree } from "../core/expr/tree.ts";

/** Points of both tasks' ranges, and some at the protected floors (|x| near 1e-7, x = 0). */
function points(rng: Rng, n: number): [number, number][] {
  const out: [number, number][] = [[0, 0], [1, 0], [0, PROTECT_EPS], [PROTECT_EPS / 2, 1]];
  for (let i = 0; i < n; i++) out.push([rng.next() * 6 - 3, rng.next() * 6 - 3]);
  return out;
}

/** Compares at every point; where the weighted loss is not finite, so must the simplified be
 * (or overflow differently, both being beyond any training's use). */
function sameValues(tree: Tree, phi: number[], at: [number, number][]): string | undefined {
  const s = simplifyTree(tree, phi);
  for (const [y, fx] of at) {
    const want = evaluate(tree, y, fx, phi);
    const got = evaluate(s, y, fx);
    if (!Number.isFinite(want) || Math.abs(want) > 1e12) continue;
    // Expanded sums round differently from nested ones: 1e-9 of the value's magnitude.
    if (!close(want, got, 1e-9)) {
      return `at y=${y}, f(x)=${fx}: weighted ${want}, simplified ${got}`;
    }
  }
  return undefined;
}

Deno.test("the simplified formula has the weighted tree's values at random points", () => {
  const rng = new Rng(11);
  const trees = [
    ...randomTrees(7, 400, 5),
    ...Array.from(
      { length: 400 },
      () => generate(rng, { minHeight: 2, maxHeight: 6, method: "half" }),
    ),
  ];
  const failures: string[] = [];
  let shorter = 0;
  for (const tree of trees) {
    const phi = tree.map(() => 0.3 + 1.4 * rng.next());
    const problem = sameValues(tree, phi, points(rng, 40));
    if (problem) failures.push(`${JSON.stringify(tree)}: ${problem}`);
    if (simplified(tree, phi).infix.length <= toInfix(tree, phi, { digits: 4 }).length) shorter++;
  }
  assertEquals(failures.slice(0, 5), []);
  // Folding the weights must pay: most formulas print shorter than the weighted ones.
  assert(shorter > trees.length * 0.8, `${shorter} of ${trees.length} no longer`);
});

Deno.test("the protected primitives keep their own definitions through simplification", () => {
  const cases: [string, [number, number], number][] = [
    // The analytic quotient, not a / b.
    ["div(y, f(x))", [1, 2], 1 / Math.sqrt(5)],
    // log and sqrt act on max(|x|, 1e-7): log(0) is log(1e-7), sqrt(-4) is 2.
    ["log(y - y)", [3, 1], Math.log(PROTECT_EPS)],
    ["sqrt(y - f(x))", [0, 4], 2],
    ["log(y * f(x))", [-2, 3], Math.log(6)],
  ];
  for (const [text, [y, fx], want] of cases) {
    const tree = parseInfix(text);
    const got = evaluate(simplifyTree(tree), y, fx);
    assert(close(got, want), `${text} at (${y}, ${fx}): ${got}, want ${want}`);
  }
});

Deno.test("weights fold into coefficients, like terms collect, products expand", () => {
  const fold = (text: string, phi?: number[]) => simplified(parseInfix(text), phi).infix;
  // The example shape: nested weighted sums become one linear form.
  const tree = parseInfix("1 + (-1 - y * f(x))");
  const phi = [1, 0.671, 1.349, 1.343, 0.9, 1, 1];
  assertEquals(fold("1 + (-1 - y * f(x))", phi), "-1.214 * y * f(x) - 1.141");
  assertEquals(phi.length, tree.length);
  assertEquals(fold("y * f(x) + f(x) * y"), "2 * y * f(x)");
  assertEquals(fold("square(y - f(x))"), "square(y) - 2 * y * f(x) + square(f(x))");
  assertEquals(fold("(y + 1) * (y - 1)"), "square(y) - 1");
  assertEquals(fold("abs(-1 * f(x))"), "abs(f(x))");
  assertEquals(fold("div(y - f(x), sqrt(y))"), "div(y - f(x), sqrt(y))");
  const latex = simplified(parseInfix("div(y, 2 * f(x))")).latex;
  assertEquals(latex, "\\frac{y}{\\sqrt{1 + \\left(2 \\cdot f(x)\\right)^{2}}}");
});
