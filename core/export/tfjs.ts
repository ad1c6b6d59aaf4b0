/**
 * A learned loss as a TensorFlow.js function: an ES module in plain JavaScript (JSDoc types),
 * so it loads as it is in a browser, Node or Deno, wherever `@tensorflow/tfjs` resolves.
 * It issues the engine's own tfjs calls (engine/metaloss.ts), in the same order.
 */
import type { Algebra } from "../expr/algebra.ts";
import { type CheckedLoss, checkLoss, type ExportableLoss, float32Literal } from "./loss.ts";
import { type Arg, call, type CodeDialect, straightLine } from "./straight_line.ts";
import { describe, formula } from "./describe.ts";

// The algebra's operations are named after tfjs's: each is the tf function of its name, as in
// the engine.
const TF: Algebra<Arg> = {
  add: call("tf.add"),
  sub: call("tf.sub"),
  mul: call("tf.mul"),
  div: call("tf.div"),
  square: call("tf.square"),
  sqrt: call("tf.sqrt"),
  abs: call("tf.abs"),
  tanh: call("tf.tanh"),
  sign: call("tf.sign"),
  log: call("tf.log"),
  maximum: call("tf.maximum"),
  minimum: call("tf.minimum"),
};

const JAVASCRIPT: CodeDialect = {
  constant: (literal) => `tf.fill(fx.shape, ${literal})`,
  weighted: (value, literal) => ({ text: `tf.mul(${value}, ${literal})`, compound: false }),
  algebra: TF,
  // "2.0" is as good a JavaScript number as "2"; one spelling keeps the two exports alike.
  literal: float32Literal,
};

const INPUTS = {
  classification: [
    "    // Class indices (one rank less than the logits) become one-hot rows.",
    "    const y = target.rank === logits.rank - 1",
    '      ? tf.oneHot(tf.cast(target, "int32"), logits.shape[logits.rank - 1], 1, 0, "float32")',
    '      : tf.cast(target, "float32");',
    "    const fx = tf.softmax(logits);",
  ],
  // Reshaped, not broadcast: a [N] target against [N, 1] predictions would silently give an
  // [N, N] loss; tf.reshape throws if the sizes differ.
  regression: [
    "    const fx = logits;",
    '    const y = tf.reshape(tf.cast(target, "float32"), fx.shape);',
  ],
};

const PARAMS = {
  classification: [
    " * @param {tf.Tensor} logits raw model outputs [N, C] (before softmax).",
    " * @param {tf.Tensor} target class indices [N] or one-hot (or soft) targets [N, C].",
  ],
  regression: [
    " * @param {tf.Tensor} logits raw predictions [N, K].",
    " * @param {tf.Tensor} target targets with as many elements, reshaped to [N, K].",
  ],
};

const REDUCE = {
  classification: (t: string) => `    return tf.mean(tf.sum(${t}, -1)); // classes, then batch`,
  regression: (t: string) => `    return tf.mean(${t}); // batch and outputs`,
};

/** JavaScript ES module source exporting `learnedLoss(logits, target)`. */
export function exportTfjs(loss: ExportableLoss): string {
  return moduleSource(checkLoss(loss));
}

function moduleSource(loss: CheckedLoss): string {
  const { steps, result } = straightLine(loss, JAVASCRIPT);
  // A formula cannot contain "*/", but the comment must not end early whatever it holds.
  const comment = (l: string) => ` *${l === "" ? "" : ` ${l.replaceAll("*/", "* /")}`}`;
  return [
    "// A learned loss exported by Lossmith. Needs only TensorFlow.js.",
    'import * as tf from "@tensorflow/tfjs";',
    "",
    ...(loss.validatedWith
      ? [
        "/** What the loss was tuned and validated with, and its verdict (see below). */",
        `export const VALIDATED_WITH = ${JSON.stringify(loss.validatedWith)};`,
        "",
      ]
      : []),
    "/**",
    ...describe(loss).map(comment),
    " *",
    ...PARAMS[loss.task],
    " * @returns {tf.Scalar} the mean loss, differentiable with respect to logits.",
    " */",
    "export function learnedLoss(logits, target) {",
    "  return tf.tidy(() => {",
    ...INPUTS[loss.task],
    `    // L = ${formula(loss).infix}`,
    "    // t<k> is node k of the prefix tree; tf.mul(t<k>, w) applies its weight phi[k].",
    ...steps.map((s) => `    const ${s.name} = ${s.expr};`),
    REDUCE[loss.task](result),
    "  });",
    "}",
    "",
  ].join("\n");
}
