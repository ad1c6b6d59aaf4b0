/**
 * The meaning of an exported loss in words, written into every format: a reader of the Python
 * or JSON needs the protected primitives (div is not a / b) without opening Lossmith.
 * Keep in step with core/expr/primitives.ts and core/metaloss.ts.
 */
import type { Op } from "../expr/tree.ts";
import { PROTECT_EPS } from "../expr/primitives.ts";
import type { Task } from "./loss.ts";

/** Definition of each primitive on its arguments a (and b), element-wise. Record<Op, ...>: a new primitive fails to compile until it is described here. */
export const PRIMITIVES: Readonly<Record<Op, string>> = {
  add: "a + b",
  sub: "a - b",
  mul: "a * b",
  div: "a / sqrt(1 + b^2), the analytic quotient, defined everywhere",
  min: "the smaller of a and b",
  max: "the larger of a and b",
  square: "a * a",
  abs: "|a|",
  tanh: "tanh(a)",
  sign: "-1, 0 or 1, with sign(0) = 0",
  log: `log(max(|a|, ${PROTECT_EPS}))`,
  sqrt: `sqrt(max(|a|, ${PROTECT_EPS}))`,
};

export const WEIGHTS =
  "Node k of the prefix tree has weight phi[k]; its value is multiplied by phi[k] as it is " +
  "passed up to its parent (phi[0], the root's, is unused). Constants and weights are float32.";

export const TERMINALS: Readonly<Record<Task, string>> = {
  classification: "y is the one-hot target, fx = softmax(logits) over the class axis",
  regression: "y is the target, fx the raw prediction",
};

export const REDUCTION: Readonly<Record<Task, string>> = {
  classification: "element-wise value summed over classes, then averaged over the batch",
  regression: "element-wise value averaged over the batch and the outputs",
};
