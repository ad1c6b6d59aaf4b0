/** The JSON export: a self-describing document that reads back to the same loss, and the
 * checks every format shares (malformed trees, bad weights, literals). */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { evaluate } from "../core/expr/primitives.ts";
import { exportLoss, LOSS_FORMAT, lossDocument, readLossJson } from "../core/export.ts";
import { float32Literal } from "../core/export/loss.ts";

const tree = parseInfix("div(-1 * y * log(f(x)), max(sqrt(f(x)), 2.5))");
const phi = tree.map((_, k) => 1 + 0.01 * k);

Deno.test("JSON export: self-describing, and reads back to the same loss", () => {
  const text = exportLoss({ tree, phi, task: "classification" }, "json");
  const doc = JSON.parse(text);
  assertEquals(doc.format, LOSS_FORMAT);
  assertEquals(doc.task, "classification");
  assertEquals(doc.tree, [...tree]);
  // Weights as the engine holds them: float32.
  assertEquals(doc.phi, phi.map(Math.fround));
  assertEquals(doc.structure.infix, "div(-1 * y * log(f(x)), max(sqrt(f(x)), 2.5))");
  assert(doc.infix.startsWith("div(1.01*1.02*1.03*(-1) * 1.04*y"), doc.infix);
  assert(doc.latex.startsWith("\\frac{"), doc.latex);
  // Only the primitives used, each defined.
  assertEquals(Object.keys(doc.semantics.primitives).sort(), ["div", "log", "max", "mul", "sqrt"]);
  assert(doc.semantics.primitives.div.includes("sqrt(1 + b^2)"));
  assert(doc.semantics.reduction.includes("summed over classes"));

  const back = readLossJson(text);
  assertEquals(back, { tree: [...tree], phi: phi.map(Math.fround), task: "classification" });
  assertEquals(lossDocument(back), doc);
  // The weights survive exactly: the same value as the float32 weights give.
  assertEquals(evaluate(back.tree, 1, 0.3, back.phi), evaluate(tree, 1, 0.3, phi.map(Math.fround)));
});

Deno.test("exports refuse what they cannot write faithfully", () => {
  const task = "regression" as const;
  assertThrows(() => exportLoss({ tree: ["add", "y"], task }, "pytorch"), /malformed/);
  assertThrows(() => exportLoss({ tree: ["exp" as "abs", "y"], task }, "tfjs"), /node 0/);
  assertThrows(() => exportLoss({ tree: ["add", "y", 1e39], task }, "json"), /node 2/);
  assertThrows(() => exportLoss({ tree: ["y"], phi: [1, 1], task }, "json"), /phi has 2/);
  assertThrows(() => exportLoss({ tree: ["abs", "y"], phi: [1, NaN], task }, "json"), /phi\[1\]/);
  assertThrows(() => exportLoss({ tree: ["y"], task: "ranking" as "regression" }, "json"), /task/);
  assertThrows(() => exportLoss({ tree: ["y"], task }, "onnx" as "json"), /format/);
  assertThrows(() => readLossJson('{"format": "other"}'), /lossmith\.loss\/v1/);
  assertThrows(() => readLossJson(`{"format": "${LOSS_FORMAT}", "tree": ["y"]}`), /phi/);
});

Deno.test("literals: the float32 value, shortest round-trip spelling, always a float", () => {
  assertEquals(float32Literal(0.1), "0.10000000149011612");
  assertEquals(Number(float32Literal(0.1)), Math.fround(0.1));
  assertEquals(float32Literal(2), "2.0");
  assertEquals(float32Literal(-1), "-1.0");
  assertEquals(float32Literal(-0), "-0.0");
  assertEquals(float32Literal(1e-7), "1.0000000116860974e-7");
  assertEquals(float32Literal(1e30), "1.0000000150474662e+30");
});

Deno.test("without phi the export is the plain symbolic loss: no weights in the code", () => {
  const source = exportLoss({ tree, task: "classification" }, "pytorch");
  assert(!/ \* \d/.test(source.split("# t<k>")[1]), "no weight multiplications");
  assert(!source.includes("Structure, all weights 1"), "no separate structure line");
});
