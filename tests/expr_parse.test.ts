import assert from "node:assert/strict";
import { ParseError, parseInfix } from "../core/expr/parse.ts";
import { canonicalize } from "../core/expr/canonical.ts";
import { evaluate } from "../core/expr/primitives.ts";
import { toInfix, toPrefix } from "../core/expr/print.ts";
import { Rng } from "../core/rng.ts";
import { generate } from "../core/gp/generate.ts";
import { close, POINTS, randomTrees } from "./support/random_trees.ts";

Deno.test("parse: reads infix, prefix calls and their variants", () => {
  const cases: [string, unknown[]][] = [
    ["y + f(x)", ["add", "y", "fx"]],
    ["y+fx", ["add", "y", "fx"]],
    ["  ((y)) + (f ( x ))  ", ["add", "y", "fx"]],
    ["add(y, fx)", ["add", "y", "fx"]],
    ["y - f(x) - 1", ["sub", "sub", "y", "fx", 1]],
    ["y - (f(x) - 1)", ["sub", "y", "sub", "fx", 1]],
    ["y + f(x) * y", ["add", "y", "mul", "fx", "y"]],
    ["(y + f(x)) * y", ["mul", "add", "y", "fx", "y"]],
    ["y - -1", ["sub", "y", -1]],
    ["y - (-1)", ["sub", "y", -1]],
    ["-1 * y", ["mul", -1, "y"]],
    ["+1*y", ["mul", 1, "y"]],
    ["div(y, min(fx,1))", ["div", "y", "min", "fx", 1]],
    ["square(y - f(x))", ["square", "sub", "y", "fx"]],
    ["log(1e-7) + .5", ["add", "log", 1e-7, 0.5]],
    ["-0", [0]],
  ];
  for (const [text, tree] of cases) assert.deepEqual(parseInfix(text), tree, text);
});

function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception");
}

Deno.test("parse: errors carry position, what was expected and what was found", () => {
  const cases: [string, number, string, string][] = [
    ["(y + f(x) y", 10, "')'", "'y'"],
    ["y + (fx", 7, "')'", "end of input"],
    ["div(y)", 5, "','", "')'"],
    ["square(y, fx)", 8, "')'", "','"],
    ["-y", 1, "a number after '-'", "'y'"],
    ["y fx", 2, "end of input", "'fx'"],
    ["f(y)", 2, "'x'", "'y'"],
    ["y / fx", 2, "an operand or one of + - * ( ) ,", "'/'"],
  ];
  for (const [text, position, expected, found] of cases) {
    const err = caught(() => parseInfix(text));
    assert.ok(err instanceof ParseError, text);
    assert.equal(err.position, position, text);
    assert.equal(err.expected, expected, text);
    assert.equal(err.found, found, text);
    assert.equal(err.message, `at ${position}: expected ${expected} but found ${found}`);
  }
  // Unknown names, including ones an object's prototype would know.
  for (const name of ["x", "foo(y)", "toString(y)", "constructor", ""]) {
    assert.throws(() => parseInfix(name), (e) => e instanceof ParseError && e.position === 0);
  }
});

Deno.test("parse: round trip of toInfix and toPrefix over many random trees", () => {
  const rng = new Rng(11);
  const trees = [
    ...Array.from(
      { length: 1500 },
      (_, i) => generate(rng, { minHeight: 0, maxHeight: 1 + (i % 7), method: "half" }),
    ),
    // Canonical forms bring folded constants such as 0.7071067811865475 or 1e-7.
    ...randomTrees(12, 500, 6).map((t) => canonicalize(t)),
  ];
  for (const t of trees) {
    assert.deepEqual(parseInfix(toInfix(t)), t, toInfix(t));
    assert.deepEqual(parseInfix(toPrefix(t)), t, toPrefix(t));
  }
});

Deno.test("parse: weighted infix reads back as a plain tree of the same value", () => {
  const rng = new Rng(13);
  let compared = 0;
  // sign is left out: a last-bit difference at a zero crossing would flip it.
  for (const t of randomTrees(14, 400, 5).filter((t) => !t.includes("sign"))) {
    const phi = t.map(() => 1 + 0.3 * rng.normal());
    const plain = parseInfix(toInfix(t, phi, { digits: 17 }));
    for (const [y, fx] of POINTS) {
      const want = evaluate(t, y, fx, phi);
      if (!Number.isFinite(want)) continue;
      assert.ok(close(evaluate(plain, y, fx), want, 1e-9), toInfix(t, phi));
      compared++;
    }
  }
  assert.ok(compared > 1000);
});
