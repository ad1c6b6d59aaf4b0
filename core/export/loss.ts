/**
 * The one learned loss an export describes, checked once before any format is written: a
 * malformed tree or a non-finite weight must fail here, with a message, rather than as a
 * Python or JavaScript syntax error in someone else's project.
 */
import { isOp, isWellFormed, type Tree } from "../expr/tree.ts";
import type { Task } from "../data/dataset.ts";
import type { Provenance } from "./provenance.ts";

export type { Task };

/** What an export needs: a RankedLoss (core/result.ts) plus the task of its dataset. */
export interface ExportableLoss {
  tree: Tree;
  /** One weight per node, prefix order; phi[0] (the root's) is unused. Absent: all ones, the
   * plain symbolic loss. */
  phi?: readonly number[];
  task: Task;
  /** What it was tuned and validated with, and its verdict (core/export/provenance.ts). */
  validatedWith?: Provenance;
}

export type ExportFormat = "json" | "pytorch" | "tfjs";

/** A loss that passed `checkLoss`: phi present and rounded to float32, as the engine uses it. */
export interface CheckedLoss {
  tree: Tree;
  phi: number[];
  task: Task;
  validatedWith?: Provenance;
}

export function checkLoss(loss: ExportableLoss): CheckedLoss {
  const { tree, task } = loss;
  if (task !== "classification" && task !== "regression") {
    throw new Error(`unknown task ${JSON.stringify(task)}`);
  }
  tree.forEach((node, i) => {
    const known = isOp(node) || node === "y" || node === "fx" ||
      (typeof node === "number" && Number.isFinite(Math.fround(node)));
    if (!known) throw new Error(`node ${i} of the tree is not exportable: ${JSON.stringify(node)}`);
  });
  if (!isWellFormed(tree)) throw new Error("malformed prefix tree");
  const phi = loss.phi ? Array.from(loss.phi, Math.fround) : tree.map(() => 1);
  if (phi.length !== tree.length) {
    throw new Error(`phi has ${phi.length} weights for a tree of ${tree.length} nodes`);
  }
  const bad = phi.findIndex((w) => !Number.isFinite(w));
  if (bad >= 0) throw new Error(`phi[${bad}] is not a finite float32: ${loss.phi?.[bad]}`);
  return { tree, phi, task, ...(loss.validatedWith ? { validatedWith: loss.validatedWith } : {}) };
}

/**
 * Shortest decimal that reads back as the same float64, of the float32 nearest `v`: the engine
 * holds constants and weights as float32, so this is exactly the number it computes with, and
 * both Python and JavaScript parse the text back to it. Python wants a `.0` on whole numbers so
 * that the literal is a float, and both languages need the sign of -0 spelled out.
 */
export function float32Literal(v: number): string {
  const f = Math.fround(v);
  if (!Number.isFinite(f)) throw new Error(`${v} is not a finite float32`);
  if (Object.is(f, -0)) return "-0.0";
  const text = String(f);
  return /[.e]/.test(text) ? text : `${text}.0`;
}
