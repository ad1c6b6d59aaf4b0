/**
 * A learned loss as a PyTorch function: Python source that needs nothing but `import torch`.
 * Works on float32 or float64 tensors; constants and weights are float32 values written out in
 * full, so in float32 it computes what the engine computes.
 */
import type { Algebra } from "../expr/algebra.ts";
import { type CheckedLoss, checkLoss, type ExportableLoss, float32Literal } from "./loss.ts";
import { type Arg, arg, call, type CodeDialect, operand, straightLine } from "./straight_line.ts";
import { describe, formula } from "./describe.ts";

const infix = (symbol: string) => (a: Arg | number, b: Arg | number): Arg => ({
  text: `${operand(arg(a))} ${symbol} ${operand(arg(b))}`,
  compound: true,
});

// Against a constant, torch.clamp rather than torch.maximum with a tensor: the same value, and
// its gradient at the floor of the protected log and sqrt matches tf.maximum's (passed through
// where |a| >= eps). Between two tensors, at an exact tie torch splits the gradient between a
// and b where tfjs gives it all to one side; the value is the same and ties of two different
// inputs have probability zero.
const bound = (name: string, side: "min" | "max") => (a: Arg, b: Arg | number): Arg =>
  typeof b === "number"
    ? { text: `torch.clamp(${a.text}, ${side}=${b})`, compound: false }
    : call(name)(a, b);

const TORCH: Algebra<Arg> = {
  add: infix("+"),
  sub: infix("-"),
  mul: infix("*"),
  div: infix("/"),
  square: call("torch.square"),
  sqrt: call("torch.sqrt"),
  abs: call("torch.abs"),
  tanh: call("torch.tanh"),
  sign: call("torch.sign"),
  log: call("torch.log"),
  maximum: bound("torch.maximum", "min"),
  minimum: bound("torch.minimum", "max"),
};

const PYTHON: CodeDialect = {
  constant: (literal) => `torch.full_like(fx, ${literal})`,
  weighted: (value, literal) => ({ text: `${value} * ${literal}`, compound: true }),
  algebra: TORCH,
  literal: float32Literal,
};

const INPUTS = {
  classification: [
    "    if target.dim() == logits.dim() - 1:",
    "        # Class indices: one one-hot row per sample.",
    "        target = torch.nn.functional.one_hot(target.long(), logits.shape[-1])",
    "    y = target.to(logits.dtype)",
    "    fx = torch.softmax(logits, dim=-1)",
  ],
  // reshape rather than broadcasting: a (N,) target against (N, 1) predictions would otherwise
  // silently give an (N, N) loss. reshape raises if the sizes differ.
  regression: [
    "    fx = logits",
    "    y = target.to(fx.dtype).reshape(fx.shape)",
  ],
};

const ARGS = {
  classification: [
    "    logits: float tensor (N, C) of raw model outputs (before softmax).",
    "    target: class indices, integer tensor (N,), or one-hot (or soft) targets (N, C).",
  ],
  regression: [
    "    logits: float tensor (N, K) of raw predictions.",
    "    target: tensor of targets with as many elements, reshaped to the predictions' shape.",
  ],
};

const REDUCE = {
  classification: (t: string) =>
    `    return ${t}.sum(dim=-1).mean()  # sum over classes, mean over batch`,
  regression: (t: string) => `    return ${t}.mean()  # mean over batch and outputs`,
};

/**
 * A plain JSON-like value as a Python literal: JSON's strings and numbers are Python's too, its
 * true, false and null are not.
 */
export function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) =>
    v !== undefined
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`).join(", ")}}`;
}

/** Python source defining `learned_loss(logits, target)`. */
export function exportPytorch(loss: ExportableLoss): string {
  return pythonSource(checkLoss(loss));
}

function pythonSource(loss: CheckedLoss): string {
  const { steps, result } = straightLine(loss, PYTHON);
  const docstring = [
    ...describe(loss),
    "",
    "Args:",
    ...ARGS[loss.task],
    "",
    "Returns:",
    "    the mean loss, a scalar tensor, differentiable with respect to logits.",
  ];
  const provenance = loss.validatedWith
    ? [
      "",
      "# What the loss was tuned and validated with, and its verdict (see the docstring).",
      `VALIDATED_WITH = ${pythonLiteral(loss.validatedWith)}`,
    ]
    : [];
  return [
    '"""A learned loss exported by Lossmith. Needs only PyTorch."""',
    "import torch",
    ...provenance,
    "",
    "",
    "def learned_loss(logits, target):",
    `    """${docstring.map((l) => l === "" ? "" : `    ${l}`).join("\n").trimStart()}`,
    '    """',
    ...INPUTS[loss.task],
    `    # L = ${formula(loss).infix}`,
    "    # t<k> is node k of the prefix tree; '* w' is the weight phi[k] of a child.",
    ...steps.map((s) => `    ${s.name} = ${s.expr}`),
    REDUCE[loss.task](result),
    "",
  ].join("\n");
}
