/**
 * The meaning of an exported loss in words, written into every format: a reader of the Python
 * or JSON needs the protected primitives (div is not a / b) without opening Lossmith. Each
 * primitive's own words are in core/expr/registry.ts, beside its definition.
 */
import type { Task } from "./loss.ts";

export const WEIGHTS =
  "Node k of the prefix tree has weight phi[k]; its value is multiplied by phi[k] as it is " +
  "passed up to its parent (phi[0], the root's, is unused). Constants and weights are float32.";

export const TERMINALS: Readonly<Record<Task, string>> = {
  classification: "y is the one-hot target, fx the predicted class probabilities (the " +
    "softmax of the logits over the class axis)",
  regression: "y is the target, fx the raw prediction",
};

export const REDUCTION: Readonly<Record<Task, string>> = {
  classification: "element-wise value summed over classes, then averaged over the batch",
  regression: "element-wise value averaged over the batch and the outputs",
};
