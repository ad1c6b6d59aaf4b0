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
    '    if reduction not in ("mean", "sum", "none"):',
    "        raise ValueError(f\"reduction must be 'mean', 'sum' or 'none', not {reduction!r}\")",
    "    dim = dim % input.dim()",
    "    if target.shape == input.shape:",
    "        # One-hot targets or class probabilities, laid out like the input.",
    "        y = target.to(input.dtype)",
    "    elif target.shape == input.shape[:dim] + input.shape[dim + 1:]:",
    "        # Class indices: one-hot along the class dimension.",
    "        y = torch.nn.functional.one_hot(target.long(), input.shape[dim])",
    "        y = y.movedim(-1, dim).to(input.dtype)",
    "    else:",
    "        raise ValueError(",
    '            f"target of shape {tuple(target.shape)} is neither class indices nor one-hot "',
    '            f"targets for input of shape {tuple(input.shape)} with classes along dim {dim}"',
    "        )",
    "    fx = torch.softmax(input, dim=dim) if from_logits else input",
  ],
  // reshape rather than broadcasting: a (N,) target against (N, 1) predictions would otherwise
  // silently give an (N, N) loss. reshape raises if the sizes differ.
  regression: [
    '    if reduction not in ("mean", "sum", "none"):',
    "        raise ValueError(f\"reduction must be 'mean', 'sum' or 'none', not {reduction!r}\")",
    "    fx = input",
    "    y = target.to(fx.dtype).reshape(fx.shape)",
  ],
};

const SIGNATURE = {
  classification: 'input, target, reduction="mean", dim=1, from_logits=True',
  regression: 'input, target, reduction="mean"',
};

const ARGS = {
  classification: [
    "    input: float tensor (N, C) or (N, C, d1, ...), classes along `dim`: logits (the",
    "        default, as torch.nn.CrossEntropyLoss takes them) or, with from_logits=False,",
    "        class probabilities (a softmax's output).",
    "    target: class indices, an integer tensor (N,) or (N, d1, ...), or one-hot targets (or",
    "        class probabilities) shaped like input.",
    "    reduction: 'mean' (default: the loss the search tuned and validated), 'sum', or",
    "        'none' (the loss of each element, summed over the classes: shape (N, d1, ...)).",
    "    dim: the class dimension (default 1, PyTorch's; -1 for classes last).",
    "    from_logits: whether input holds logits, to which the softmax is applied here.",
  ],
  regression: [
    "    input: float tensor (N, K) of raw predictions (any shape).",
    "    target: tensor of targets with as many elements, reshaped to the input's shape.",
    "    reduction: 'mean' (default: the loss the search tuned and validated), 'sum', or",
    "        'none' (the element-wise loss, shaped like input), as torch.nn.MSELoss.",
  ],
};

const REDUCE = {
  classification: (t: string) => [
    `    loss = ${t}.sum(dim=dim)  # over the classes`,
    '    if reduction == "none":',
    "        return loss",
    '    return loss.sum() if reduction == "sum" else loss.mean()',
  ],
  regression: (t: string) => [
    `    loss = ${t}`,
    '    if reduction == "none":',
    "        return loss",
    '    return loss.sum() if reduction == "sum" else loss.mean()',
  ],
};

const MODULE = {
  classification: [
    "class LearnedLoss(torch.nn.Module):",
    '    """learned_loss as a torch.nn.Module, as torch.nn.CrossEntropyLoss:',
    "    LearnedLoss(reduction='mean', dim=1, from_logits=True)(input, target).",
    '    """',
    "",
    '    def __init__(self, reduction="mean", dim=1, from_logits=True):',
    "        super().__init__()",
    "        self.reduction = reduction",
    "        self.dim = dim",
    "        self.from_logits = from_logits",
    "",
    "    def forward(self, input, target):",
    "        return learned_loss(input, target, self.reduction, self.dim, self.from_logits)",
  ],
  regression: [
    "class LearnedLoss(torch.nn.Module):",
    '    """learned_loss as a torch.nn.Module, as torch.nn.MSELoss:',
    "    LearnedLoss(reduction='mean')(input, target).",
    '    """',
    "",
    '    def __init__(self, reduction="mean"):',
    "        super().__init__()",
    "        self.reduction = reduction",
    "",
    "    def forward(self, input, target):",
    "        return learned_loss(input, target, self.reduction)",
  ],
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

/**
 * Python source defining `learned_loss(input, target, reduction, ...)` and its `nn.Module`,
 * `LearnedLoss`, in PyTorch's conventions (those of CrossEntropyLoss and MSELoss).
 */
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
    "    the reduced loss (a scalar unless reduction='none'), differentiable with respect to",
    "    input.",
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
    `def learned_loss(${SIGNATURE[loss.task]}):`,
    `    """${docstring.map((l) => l === "" ? "" : `    ${l}`).join("\n").trimStart()}`,
    '    """',
    ...INPUTS[loss.task],
    `    # L = ${formula(loss).infix}`,
    "    # t<k> is node k of the prefix tree; '* w' is the weight phi[k] of a child.",
    ...steps.map((s) => `    ${s.name} = ${s.expr}`),
    ...REDUCE[loss.task](result),
    "",
    "",
    ...MODULE[loss.task],
    "",
  ].join("\n");
}
