/**
 * Straight-line code of one primitive's rule: a value the rule uses twice gets a temporary, so
 * that the exported graph shares it as the engine's does (and autodiff sums its gradient in the
 * same order). No primitive of today shares a value, so the rules here are made up.
 */
import { assertEquals } from "./support/assert.ts";
import type { Algebra, Rule } from "../core/expr/algebra.ts";
import { ALL_OPS, OPS } from "../core/expr/primitives.ts";
import { type Arg, call, type Child, ruleCode, type Step } from "../core/export/straight_line.ts";

const CODE: Algebra<Arg> = {
  add: call("add"),
  sub: call("sub"),
  mul: call("mul"),
  div: call("div"),
  square: call("square"),
  sqrt: call("sqrt"),
  abs: call("abs"),
  tanh: call("tanh"),
  sign: call("sign"),
  log: call("log"),
  maximum: call("maximum"),
  minimum: call("minimum"),
};

/** Child `name` with weight `w`; weight 1 is left out where the child is used once. */
function child(name: string, w: string): Child {
  const weighted = { text: `mul(${name}, ${w})`, compound: false };
  return w === "1.0" ? { text: name, compound: false, weighted } : { ...weighted, weighted };
}

Deno.test("straight line: an argument used twice gets a temporary, with its weight even if 1", () => {
  const cube: Rule = (A, a) => ({ v: A.mul(A.square(a.v), a.v), d: null });
  for (const w of ["1.0", "0.5"]) {
    const steps: Step[] = [];
    const a = child("t1", w);
    assertEquals(ruleCode(CODE, cube, a, a, "t0", steps), "mul(square(t0_0), t0_0)");
    assertEquals(steps, [{ name: "t0_0", expr: `mul(t1, ${w})` }]);
  }
});

Deno.test("straight line: a result used twice gets a temporary; single uses stay inline", () => {
  const sumTanhSum: Rule = (A, a, b) => {
    const s = A.add(a.v, b.v);
    return { v: A.mul(s, A.tanh(s)), d: null };
  };
  const steps: Step[] = [];
  const code = ruleCode(CODE, sumTanhSum, child("t1", "1.0"), child("t2", "2.0"), "t0", steps);
  assertEquals(code, "mul(t0_0, tanh(t0_0))");
  assertEquals(steps, [{ name: "t0_0", expr: "add(t1, mul(t2, 2.0))" }]);
});

Deno.test("straight line: no primitive of the registry needs a temporary", () => {
  for (const op of ALL_OPS) {
    const steps: Step[] = [];
    const [a, b] = [child("t1", "1.0"), child("t2", "0.5")];
    ruleCode(CODE, OPS[op].rule, a, OPS[op].arity === 2 ? b : a, "t0", steps);
    assertEquals(steps, [], op);
  }
});
