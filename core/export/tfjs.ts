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

// Targets: one value per example are class indices ([N] or [N, 1] for [N, C] outputs; any
// layout with the class axis removed, or of size 1, for [N, ..., C]); as many as the outputs
// are one-hot rows or class probabilities. Reshaped, not broadcast: a [N] target against [N, 1]
// predictions would silently give an [N, N] loss.
const INPUTS = {
  classification: [
    "    const classes = yPred.shape[yPred.rank - 1];",
    "    let y;",
    "    if (yTrue.size === yPred.size) {",
    "      // One-hot rows or class probabilities, in the layout of the outputs.",
    '      y = tf.reshape(tf.cast(yTrue, "float32"), yPred.shape);',
    "    } else if (yTrue.size * classes === yPred.size) {",
    "      // Class indices: one per example.",
    '      const indices = tf.cast(tf.reshape(yTrue, yPred.shape.slice(0, -1)), "int32");',
    '      y = tf.oneHot(indices, classes, 1, 0, "float32");',
    "    } else {",
    "      throw new Error(",
    "        `learnedLoss: yTrue of shape [${yTrue.shape}] is neither class indices nor one-hot ` +",
    "          `targets for yPred of shape [${yPred.shape}]`,",
    "      );",
    "    }",
    "    // Class probabilities over the last axis: a softmax of the logits, or yPred as it is.",
    '    const fx = fromLogits ? tf.softmax(yPred) : tf.cast(yPred, "float32");',
  ],
  regression: [
    '    const fx = tf.cast(yPred, "float32");',
    '    const y = tf.reshape(tf.cast(yTrue, "float32"), fx.shape);',
  ],
};

const PARAMS = {
  classification: [
    " * @param {tf.Tensor} yTrue the targets: one-hot rows (or class probabilities) shaped like",
    " *   yPred, or class indices, one per example ([N] or [N, 1] for yPred [N, C]). In",
    " *   model.fit TF.js itself insists on targets shaped like the outputs for any loss but its",
    " *   own sparse one: pass tf.oneHot(labels, C) there.",
    " * @param {tf.Tensor} yPred the model's outputs [N, C] (or [N, ..., C], classes last):",
    " *   class probabilities (a softmax layer's output) by default, logits with fromLogits.",
    " * @param {{fromLogits?: boolean}} [options] fromLogits (default false, as Keras's",
    " *   categoricalCrossentropy): whether yPred are logits, to which the softmax is applied here.",
  ],
  regression: [
    " * @param {tf.Tensor} yTrue the targets, as many as the predictions (reshaped to them).",
    " * @param {tf.Tensor} yPred the raw predictions [N, K]; `fromLogits` does not apply.",
    " * @param {{fromLogits?: boolean}} [options] ignored for regression.",
  ],
};

const RETURNS = {
  classification: [
    " * @returns {tf.Tensor} the loss of each example, shape yPred.shape without its last axis",
    " *   (summed over the classes); model.compile averages it over the batch, which gives the",
    " *   mean loss the search tuned and validated.",
  ],
  regression: [
    " * @returns {tf.Tensor} the loss of each example, averaged over its outputs: shape [N];",
    " *   model.compile averages it over the batch, which gives the mean loss the search tuned.",
  ],
};

const REDUCE = {
  classification: (t: string) => `    return tf.sum(${t}, -1); // over the classes, per example`,
  regression: (t: string) => `    return tf.mean(${t}, -1); // over the outputs, per example`,
};

/**
 * JavaScript ES module source exporting `learnedLoss(yTrue, yPred, {fromLogits})`, Keras's
 * convention (per-example losses, usable as it is in `model.compile({loss: learnedLoss})`), and
 * `learnedLossFromLogits(yTrue, yPred)`.
 */
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
    " * Keras's convention: learnedLoss(yTrue, yPred), one loss per example, as",
    " * model.compile({optimizer, loss: learnedLoss}) takes it.",
    " *",
    ...PARAMS[loss.task],
    ...RETURNS[loss.task],
    " */",
    "export function learnedLoss(yTrue, yPred, { fromLogits = false } = {}) {",
    "  return tf.tidy(() => {",
    ...INPUTS[loss.task],
    `    // L = ${formula(loss).infix}`,
    "    // t<k> is node k of the prefix tree; tf.mul(t<k>, w) applies its weight phi[k].",
    ...steps.map((s) => `    const ${s.name} = ${s.expr};`),
    REDUCE[loss.task](result),
    "  });",
    "}",
    "",
    "/** learnedLoss for models whose outputs are logits (no softmax layer). */",
    "export function learnedLossFromLogits(yTrue, yPred) {",
    "  return learnedLoss(yTrue, yPred, { fromLogits: true });",
    "}",
    "",
  ].join("\n");
}
