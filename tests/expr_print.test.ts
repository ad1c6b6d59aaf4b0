import assert from "node:assert/strict";
import { toInfix, toLatex, toPrefix } from "../core/expr/print.ts";
import type { Tree } from "../core/expr/tree.ts";

const CASES: [Tree, string, string][] = [
  [["add", "y", "fx"], "y + f(x)", "add(y, fx)"],
  [["sub", "sub", "y", "fx", 1], "y - f(x) - 1", "sub(sub(y, fx), 1)"],
  [["sub", "y", "sub", "fx", 1], "y - (f(x) - 1)", "sub(y, sub(fx, 1))"],
  [["add", "y", "add", "fx", 1], "y + (f(x) + 1)", "add(y, add(fx, 1))"],
  [["mul", "add", "y", "fx", "y"], "(y + f(x)) * y", "mul(add(y, fx), y)"],
  [["add", "mul", "y", "fx", "y"], "y * f(x) + y", "add(mul(y, fx), y)"],
  [["mul", "y", "mul", "fx", "y"], "y * (f(x) * y)", "mul(y, mul(fx, y))"],
  [["sub", "y", -1], "y - (-1)", "sub(y, -1)"],
  [["mul", -1, "y"], "-1 * y", "mul(-1, y)"],
  [["square", "sub", "y", "fx"], "square(y - f(x))", "square(sub(y, fx))"],
  [["div", "y", "max", "fx", 1], "div(y, max(f(x), 1))", "div(y, max(fx, 1))"],
  [["log", 0.5], "log(0.5)", "log(0.5)"],
];

Deno.test("print: infix uses minimal parentheses; prefix spells the tree", () => {
  for (const [tree, infix, prefix] of CASES) {
    assert.equal(toInfix(tree), infix);
    assert.equal(toPrefix(tree), prefix);
  }
});

Deno.test("print: weights other than 1 appear as rounded coefficients", () => {
  const tree: Tree = ["sub", "y", "fx"];
  assert.equal(toInfix(tree, [7, 0.98234, 1]), "0.982*y - f(x)");
  assert.equal(toInfix(tree, [7, 0.98234, 1], { digits: 2 }), "0.98*y - f(x)");
  // Rounding to 1 hides the weight; the root's weight is never shown.
  assert.equal(toInfix(tree, [7, 1.0001, 0.99999]), "y - f(x)");
  // A weighted sum is bracketed; a negative coefficient is bracketed when not in front.
  assert.equal(
    toInfix(["mul", "add", "y", "fx", "y"], [1, 0.5, 1, 1, -2]),
    "0.5*(y + f(x)) * (-2*y)",
  );
  assert.equal(toInfix(["add", "y", -1], [1, 1, 0.5]), "y + 0.5*(-1)");
  assert.throws(() => toInfix(tree, [1, 1]), /phi has 2 weights/);
});

Deno.test("print: latex", () => {
  assert.equal(toLatex(["div", "y", "fx"]), "\\frac{y}{\\sqrt{1 + f(x)^{2}}}");
  assert.equal(toLatex(["log", "fx"]), "\\log\\left|f(x)\\right|");
  assert.equal(toLatex(["sqrt", "y"]), "\\sqrt{\\left|y\\right|}");
  assert.equal(toLatex(["square", "sub", "y", "fx"]), "\\left(y - f(x)\\right)^{2}");
  assert.equal(toLatex(["square", "abs", "y"]), "\\left|y\\right|^{2}");
  assert.equal(
    toLatex(["div", "y", "log", "fx"]),
    "\\frac{y}{\\sqrt{1 + \\left(\\log\\left|f(x)\\right|\\right)^{2}}}",
  );
  assert.equal(toLatex(["mul", "add", "y", 1, "fx"]), "\\left(y + 1\\right) \\cdot f(x)");
  assert.equal(
    toLatex(["min", "tanh", "y", "sign", "fx"]),
    "\\min\\left(\\tanh\\left(y\\right), \\operatorname{sign}\\left(f(x)\\right)\\right)",
  );
  assert.equal(toLatex(["sub", "y", "fx"], [1, 0.5, 2]), "0.5\\,y - 2\\,f(x)");
  assert.equal(toLatex(["mul", 1e-7, "y"]), "1 \\times 10^{-7} \\cdot y");
});
