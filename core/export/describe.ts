/** Human-readable pieces shared by the exports: the formula, its structure, its semantics. */
import { toInfix, toLatex } from "../expr/print.ts";
import { arity, isOp, type Op } from "../expr/tree.ts";
import { OPS } from "../expr/registry.ts";
import { REDUCTION, TERMINALS, WEIGHTS } from "./semantics.ts";
import type { CheckedLoss } from "./loss.ts";
import { describeProvenance } from "./provenance.ts";

/** Significant digits of the weights in printed formulas, as in RankedLoss (core/result.ts);
 * the code itself carries every digit. */
export const FORMULA_DIGITS = 4;

/** Width of the prose in generated comments (formulas are never broken). */
const WIDTH = 88;

export function formula(loss: CheckedLoss) {
  return {
    infix: toInfix(loss.tree, loss.phi, { digits: FORMULA_DIGITS }),
    latex: toLatex(loss.tree, loss.phi, { digits: FORMULA_DIGITS }),
    structure: { infix: toInfix(loss.tree), latex: toLatex(loss.tree) },
  };
}

/** The primitives this tree uses, with their definitions, in order of first appearance. */
export function usedPrimitives(loss: CheckedLoss): [Op, string][] {
  const ops = [...new Set(loss.tree.filter(isOp))];
  return ops.map((op) => [op, OPS[op].words]);
}

/** Comment lines describing the loss, without comment markers. */
export function describe(loss: CheckedLoss): string[] {
  const { infix, structure } = formula(loss);
  const weighted = loss.phi.some((w, i) => i > 0 && w !== 1);
  const signature = (op: Op) => arity(op) === 2 ? `${op}(a, b)` : `${op}(a)`;
  return [
    `Learned loss (Lossmith, EvoMAL) for ${loss.task}:`,
    "",
    `  L(y, f(x)) = ${infix}`,
    "",
    ...(weighted
      ? [
        `Structure, all weights 1: ${structure.infix}`,
        ...wrap(
          `Weights in the formula are rounded to ${FORMULA_DIGITS} significant digits; ` +
            "the code uses them exactly.",
        ),
      ]
      : []),
    ...wrap(`Inputs: ${TERMINALS[loss.task]}.`),
    ...wrap(`Reduction: ${REDUCTION[loss.task]}.`),
    ...wrap(WEIGHTS),
    "Primitives:",
    ...usedPrimitives(loss).map(([op, text]) => `  ${signature(op)} = ${text}`),
    ...(loss.validatedWith
      ? ["", ...describeProvenance(loss.validatedWith).flatMap((l) => wrapIndented(l))]
      : []),
  ];
}

/** wrap() keeping a line's indentation, its continuation lines indented two more. */
function wrapIndented(line: string): string[] {
  const indent = line.length - line.trimStart().length;
  return wrap(line.trimStart(), WIDTH - indent - 2).map((l, i) =>
    " ".repeat(i === 0 ? indent : indent + 2) + l
  );
}

/** Greedy word wrap to `width` columns. */
function wrap(text: string, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line];
}
