/** Human-readable pieces shared by the exports: the formula, its structure, its semantics. */
import { toInfix, toLatex } from "../expr/print.ts";
import { PRIMITIVES, REDUCTION, TERMINALS, WEIGHTS } from "./semantics.ts";
import type { CheckedLoss } from "./loss.ts";
import type { Op } from "../expr/tree.ts";
import { isOp } from "../expr/tree.ts";

/** Significant digits of the weights in printed formulas, as in RankedLoss (core/result.ts);
 * the code itself carries every digit. */
export const FORMULA_DIGITS = 4;

export function formula(loss: CheckedLoss) {
  return {
    infix: toInfix(loss.tree, loss.phi, { digits: FORMULA_DIGITS }),
    latex: toLatex(loss.tree, loss.phi, { digits: FORMULA_DIGITS }),
    structure: { infix: toInfix(loss.tree), latex: toLatex(loss.tree) },
  };
}

/** The primitives this tree uses, defined, in order of first appearance. */
export function usedPrimitives(loss: CheckedLoss): [Op, string][] {
  const ops = [...new Set(loss.tree.filter(isOp))];
  return ops.map((op) => [op, PRIMITIVES[op]]);
}

/** Comment lines describing the loss, without comment markers. */
export function describe(loss: CheckedLoss): string[] {
  const { infix, structure } = formula(loss);
  return [
    `Learned loss (Lossmith, EvoMAL), ${loss.task}.`,
    "",
    `  L(y, f(x)) = ${infix}`,
    "",
    `Weights rounded to ${FORMULA_DIGITS} significant digits above; the code uses them exactly.`,
    `Structure (all weights 1): ${structure.infix}`,
    `Inputs: ${TERMINALS[loss.task]}.`,
    `Reduction: ${REDUCTION[loss.task]}.`,
    ...usedPrimitives(loss).map(([op, text]) => `${op}: ${text}`),
    WEIGHTS,
  ];
}
