import assert from "node:assert/strict";
import { ALL_OPS, applyOp, evaluate, OPS, PROTECT_EPS } from "../core/expr/primitives.ts";
import { arity, BINARY_OPS, UNARY_OPS } from "../core/expr/tree.ts";

Deno.test("primitives: each op matches method.md", () => {
  assert.equal(applyOp("add", 2, 3), 5);
  assert.equal(applyOp("sub", 2, 3), -1);
  assert.equal(applyOp("mul", 2, 3), 6);
  assert.equal(applyOp("div", 3, 4), 3 / Math.sqrt(17)); // analytic quotient
  assert.equal(applyOp("div", 3, 0), 3);
  assert.equal(applyOp("min", 2, -3), -3);
  assert.equal(applyOp("max", 2, -3), 2);
  assert.equal(applyOp("square", -3), 9);
  assert.equal(applyOp("abs", -3), 3);
  assert.equal(applyOp("tanh", 0.5), Math.tanh(0.5));
  assert.equal(applyOp("sign", -2), -1);
  assert.equal(applyOp("sign", 0), 0);
  assert.equal(applyOp("sign", 5), 1);
  assert.equal(applyOp("log", -Math.E), 1);
  assert.equal(applyOp("log", 0), Math.log(PROTECT_EPS));
  assert.equal(applyOp("sqrt", -4), 2);
  assert.equal(applyOp("sqrt", 0), Math.sqrt(PROTECT_EPS));
});

Deno.test("primitives: closure, every op is finite on finite inputs", () => {
  const values = [0, -0, 1e-300, -1e-7, 1e-7, 0.5, -3, 1e150, -1e150];
  for (const op of ALL_OPS) {
    for (const a of values) {
      for (const b of values) {
        const v = applyOp(op, a, b);
        // mul and square overflow at 1e150 squared: that is overflow, not a domain error.
        const overflow = (op === "mul" || op === "square") && Math.abs(a) === 1e150;
        if (!overflow) assert.ok(Number.isFinite(v), `${op}(${a}, ${b}) = ${v}`);
      }
    }
  }
});

Deno.test("primitives: metadata", () => {
  assert.deepEqual(ALL_OPS, [...BINARY_OPS, ...UNARY_OPS]);
  for (const op of ALL_OPS) assert.equal(OPS[op].arity, arity(op));
  assert.deepEqual(ALL_OPS.filter((op) => OPS[op].commutative), ["add", "mul", "min", "max"]);
  assert.deepEqual(ALL_OPS.filter((op) => OPS[op].symbol).map((op) => OPS[op].symbol), [
    "+",
    "-",
    "*",
  ]);
  assert.equal(OPS.div.latex("a", "b"), "\\frac{a}{\\sqrt{1 + b^{2}}}");
  assert.equal(OPS.log.latex("x", ""), "\\log\\left|x\\right|");
});

Deno.test("evaluate: plain trees", () => {
  assert.equal(evaluate(["y"], 2, 3), 2);
  assert.equal(evaluate(["fx"], 2, 3), 3);
  assert.equal(evaluate([-1], 2, 3), -1);
  assert.equal(evaluate(["sub", "y", "fx"], 2, 3), -1);
  assert.equal(evaluate(["square", "sub", "y", "fx"], 2, 3), 1);
  assert.equal(evaluate(["div", "y", "sub", "fx", 1], 3, 5), 3 / Math.sqrt(17));
  // Argument order is kept through nesting: sub(sub(y, fx), 1) and sub(y, sub(fx, 1)).
  assert.equal(evaluate(["sub", "sub", "y", "fx", 1], 2, 3), -2);
  assert.equal(evaluate(["sub", "y", "sub", "fx", 1], 2, 3), 0);
});

Deno.test("evaluate: each value is multiplied by its weight on the way to its parent", () => {
  // sub(2y, 3fx) at y = fx = 1; the root's weight (9) is unused.
  assert.equal(evaluate(["sub", "y", "fx"], 1, 1, [9, 2, 3]), -1);
  // square(2 * mul(3y, 4fx)) = (2 * 12)^2: inner nodes and terminals are weighted alike.
  assert.equal(evaluate(["square", "mul", "y", "fx"], 1, 1, [5, 2, 3, 4]), 576);
  // Constants are weighted too.
  assert.equal(evaluate(["add", "y", -1], 0, 0, [1, 1, 0.5]), -0.5);
  // All weights 1 is the plain tree.
  assert.equal(evaluate(["div", "y", "fx"], 3, 4, [1, 1, 1]), evaluate(["div", "y", "fx"], 3, 4));
});

Deno.test("evaluate: rejects a weight vector of the wrong length and malformed trees", () => {
  assert.throws(() => evaluate(["add", "y", "fx"], 1, 1, [1, 1]), /phi has 2 weights/);
  assert.throws(() => evaluate(["add", "y"], 1, 1), /malformed/);
  assert.throws(() => evaluate(["y", "fx"], 1, 1), /malformed/);
});
