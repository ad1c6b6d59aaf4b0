import assert from "node:assert/strict";
import { canonicalize, canonicalKey } from "../core/expr/canonical.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { evaluate, OPS } from "../core/expr/primitives.ts";
import { toInfix } from "../core/expr/print.ts";
import { children, isOp, isWellFormed, type Node, type Tree } from "../core/expr/tree.ts";
import { Rng } from "../core/rng.ts";
import { close, POINTS, randomTrees } from "./support/random_trees.ts";

const canon = (text: string) => toInfix(canonicalize(parseInfix(text)));

Deno.test("canonical: commuted arguments share a key", () => {
  assert.equal(canonicalKey(["add", "y", "fx"]), canonicalKey(["add", "fx", "y"]));
  assert.equal(canonicalKey(["add", "y", "fx"]), "add(y, fx)");
  assert.equal(canon("max(f(x), y) * 2"), "2 * max(y, f(x))");
  assert.notEqual(canonicalKey(["sub", "y", "fx"]), canonicalKey(["sub", "fx", "y"]));
  assert.notEqual(canonicalKey(["div", "y", "fx"]), canonicalKey(["div", "fx", "y"]));
});

Deno.test("canonical: constants fold and identities go", () => {
  const cases: [string, string][] = [
    ["y + (1 - 1)", "y"],
    ["y * (1 + 1 - 1)", "y"],
    ["y * 0 + f(x)", "f(x)"],
    ["f(x) - f(x) + y", "y"],
    ["div(y, 0)", "y"],
    ["div(1 - 1, f(x))", "0"],
    ["sqrt(square(1 + 1))", "2"],
    ["y - (-1)", "1 + y"],
    ["y - 1", "-1 + y"],
    ["0 - y", "-1 * y"],
    ["y + -1 * f(x)", "y - f(x)"],
    ["y - -1 * f(x)", "y + f(x)"],
    ["-1 * (-1 * y)", "y"],
    ["-1 * (y - f(x))", "f(x) - y"],
    ["(-1 * y) * f(x)", "-1 * (y * f(x))"],
    ["y + y", "2 * y"],
    ["y * y", "square(y)"],
    ["min(y, y)", "y"],
    ["square(abs(y - f(x)))", "square(y - f(x))"],
    ["square(-1 * y)", "square(y)"],
    ["abs(abs(y))", "abs(y)"],
    ["abs(square(y))", "square(y)"],
    ["abs(sqrt(y))", "sqrt(y)"],
    ["log(abs(f(x)))", "log(f(x))"],
    ["sqrt(0 - y)", "sqrt(y)"],
    ["div(y, abs(f(x)))", "div(y, f(x))"],
    ["div(y, 0 - f(x))", "div(y, f(x))"],
    ["div(-1 * y, f(x))", "-1 * div(y, f(x))"],
    ["sign(sign(y))", "sign(y)"],
    ["sign(tanh(y))", "sign(y)"],
    ["sign(sqrt(y)) * f(x)", "f(x)"],
    ["sign(-1 * y)", "-1 * sign(y)"],
  ];
  for (const [text, want] of cases) assert.equal(canon(text), want, text);
});

Deno.test("canonical: a constant that overflows stays unfolded", () => {
  let t: Tree = [2];
  for (let i = 0; i < 11; i++) t = ["square", ...t];
  // 2^(2^9) is the last finite power; squaring it overflows, so two squares remain.
  const folded = ["square", "square", 2 ** 512];
  assert.deepEqual(canonicalize(t), folded);
  assert.deepEqual(canonicalize(["add", "y", ...t]), ["add", "y", ...folded]);
});

Deno.test("canonical: same value as the original wherever the original is finite", () => {
  let compared = 0;
  for (const t of randomTrees(21, 3000, 7)) {
    const c = canonicalize(t);
    assert.ok(isWellFormed(c));
    assert.ok(c.length <= t.length, `${toInfix(t)} grew into ${toInfix(c)}`);
    for (const [y, fx] of POINTS) {
      const want = evaluate(t, y, fx);
      if (!Number.isFinite(want)) continue;
      const got = evaluate(c, y, fx);
      assert.ok(close(got, want), `${toInfix(t)} -> ${toInfix(c)} at (${y}, ${fx})`);
      compared++;
    }
  }
  assert.ok(compared > 15000);
});

Deno.test("canonical: idempotent", () => {
  for (const t of randomTrees(22, 3000, 7)) {
    const c = canonicalize(t);
    assert.deepEqual(canonicalize(c), c, toInfix(t));
  }
});

/** Swap the arguments of every commutative node with probability 1/2. */
function shuffleCommutative(rng: Rng, tree: Tree, at = 0): Node[] {
  const node = tree[at];
  const kids = children(tree, at).map((k) => shuffleCommutative(rng, tree, k));
  if (isOp(node) && OPS[node].commutative && rng.next() < 0.5) kids.reverse();
  return [node, ...kids.flat()];
}

Deno.test("canonical: key ignores the order of commutative arguments", () => {
  const rng = new Rng(23);
  for (const t of randomTrees(24, 2000, 7)) {
    assert.equal(canonicalKey(shuffleCommutative(rng, t)), canonicalKey(t), toInfix(t));
  }
});
