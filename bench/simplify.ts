/**
 * The readable formula, measured: our own algebra (core/expr/simplify.ts) against mathjs's
 * `simplify` (with rules that distribute numeric coefficients over sums, without which it leaves
 * `1.358 * (1.349 * (...) + 0.671)` as it is), on GP trees with random learned weights. Prints,
 * for the weighted formula as printed today and for each simplifier: the mean printed length
 * (coefficients to 4 significant digits), the largest relative difference from the weighted
 * tree's value at random points, and the time per formula.
 *
 *   deno run -A bench/simplify.ts [--trees 300] [--seed 1]
 *
 * The protected primitives go to mathjs as functions of their own (plog, psqrt: max(|x|, 1e-7)),
 * which it treats as opaque; the analytic quotient as a / sqrt(1 + b^2), which it may rewrite.
 */
import { parseArgs } from "node:util";
import { all, create, type MathNode } from "mathjs";
import { generate } from "../core/gp/generate.ts";
import { Rng } from "../core/rng.ts";
import { evaluate, PROTECT_EPS } from "../core/expr/primitives.ts";
import { toInfix } from "../core/expr/print.ts";
import { simplified, simplifyTree } from "../core/expr/simplify.ts";
import { children, isOp, type Tree } from "../core/expr/tree.ts";

const math = create(all);
const DISTRIBUTE = [
  ...math.simplify.rules,
  "c*(n1+n2) -> c*n1 + c*n2",
  "c*(n1-n2) -> c*n1 - c*n2",
  "(n1+n2)*c -> c*n1 + c*n2",
  "c1*(c2*n) -> (c1*c2)*n",
];

/** The weighted tree as mathjs text, weights written as products. */
function mathText(tree: Tree, phi: readonly number[]): string {
  const node = (i: number): string => {
    const n = tree[i];
    let text: string;
    if (typeof n === "number") text = `(${n})`;
    else if (n === "y" || n === "fx") text = n;
    else if (isOp(n)) {
      const [a, b] = children(tree, i).map(node);
      text = {
        add: `(${a} + ${b})`,
        sub: `(${a} - ${b})`,
        mul: `(${a} * ${b})`,
        div: `(${a} / sqrt(1 + (${b})^2))`,
        min: `min(${a}, ${b})`,
        max: `max(${a}, ${b})`,
        square: `(${a})^2`,
        abs: `abs(${a})`,
        tanh: `tanh(${a})`,
        sign: `sign(${a})`,
        log: `plog(${a})`,
        sqrt: `psqrt(${a})`,
      }[n];
    } else throw new Error(`unknown node ${n}`);
    return i === 0 ? text : `(${phi[i]} * ${text})`;
  };
  return node(0);
}

const SCOPE = {
  plog: (x: number) => Math.log(Math.max(Math.abs(x), PROTECT_EPS)),
  psqrt: (x: number) => Math.sqrt(Math.max(Math.abs(x), PROTECT_EPS)),
};

/** mathjs's printing with constants to 4 significant digits, as ours prints them. */
function rounded(node: MathNode): string {
  return node.transform((n) =>
    n.type === "ConstantNode"
      ? new math.ConstantNode(
        Number(Number((n as unknown as { value: number }).value).toPrecision(4)),
      )
      : n
  ).toString();
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(a));

function main() {
  const { values } = parseArgs({
    options: { trees: { type: "string", default: "300" }, seed: { type: "string", default: "1" } },
  });
  const rng = new Rng(Number(values.seed));
  const rows = { weighted: [0, 0, 0], ours: [0, 0, 0], mathjs: [0, 0, 0] };
  const n = Number(values.trees);
  let mathjsFailed = 0;
  for (let k = 0; k < n; k++) {
    const tree = generate(rng, { minHeight: 2, maxHeight: 5, method: "half" });
    const phi = tree.map(() => 0.3 + 1.4 * rng.next());
    const at = Array.from({ length: 20 }, () => [rng.next() * 6 - 3, rng.next() * 6 - 3]);
    const want = at.map(([y, fx]) => evaluate(tree, y, fx, phi));
    const worst = (f: (y: number, fx: number) => number) =>
      Math.max(
        0,
        ...at.map(([y, fx], i) => Number.isFinite(want[i]) ? relative(want[i], f(y, fx)) : 0),
      );

    rows.weighted[0] += toInfix(tree, phi, { digits: 4 }).length;

    let t = performance.now();
    const ours = simplified(tree, phi);
    const oursTree = simplifyTree(tree, phi);
    rows.ours[2] += performance.now() - t;
    rows.ours[0] += ours.infix.length;
    rows.ours[1] = Math.max(rows.ours[1], worst((y, fx) => evaluate(oursTree, y, fx)));

    t = performance.now();
    try {
      const s = math.simplify(mathText(tree, phi), DISTRIBUTE, {}, { exactFractions: false });
      rows.mathjs[2] += performance.now() - t;
      rows.mathjs[0] += rounded(s).length;
      const code = s.compile();
      rows.mathjs[1] = Math.max(
        rows.mathjs[1],
        worst((y, fx) => Number(code.evaluate({ ...SCOPE, y, fx }))),
      );
    } catch {
      mathjsFailed++;
    }
  }
  console.log(`${n} GP trees (height 2-5), weights uniform in [0.3, 1.7]`);
  console.log("                mean length   worst rel. difference   ms per formula");
  for (const [name, [len, err, ms]] of Object.entries(rows)) {
    console.log(
      `${name.padEnd(14)}  ${(len / n).toFixed(1).padStart(11)}   ${
        err.toExponential(1).padStart(21)
      }   ${(ms / n).toFixed(2).padStart(14)}`,
    );
  }
  if (mathjsFailed) console.log(`mathjs threw on ${mathjsFailed} formulas`);
}

main();
