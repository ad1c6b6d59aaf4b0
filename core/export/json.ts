/**
 * A learned loss as a self-describing JSON document: the exact tree and weights to rebuild it,
 * the formula for people, and the semantics in words for whoever reimplements it elsewhere.
 */
import type { Node } from "../expr/tree.ts";
import { checkLoss, type ExportableLoss, type Task } from "./loss.ts";
import { formula, usedPrimitives } from "./describe.ts";
import { REDUCTION, TERMINALS, WEIGHTS } from "./semantics.ts";
import type { Provenance } from "./provenance.ts";

export const LOSS_FORMAT = "lossmith.loss/v1";

export interface LossDocument {
  format: typeof LOSS_FORMAT;
  task: Task;
  /** Prefix order; nodes are op names, "y", "fx" or numbers. */
  tree: Node[];
  /** float32 values, one per node; phi[0] unused. */
  phi: number[];
  /** Weights rounded for reading; `tree` and `phi` are the exact loss. */
  infix: string;
  latex: string;
  structure: { infix: string; latex: string };
  semantics: {
    weights: string;
    inputs: string;
    reduction: string;
    /** Only the primitives this tree uses. */
    primitives: Record<string, string>;
  };
  /** The optimiser, steps, batch size, initialisation and data scaling it was tuned with. */
  validatedWith?: Omit<Provenance, "verdict">;
  /** Its comparison with the standard loss; anything but `better` means keep the standard. */
  verdict?: Provenance["verdict"];
}

export function lossDocument(loss: ExportableLoss): LossDocument {
  const checked = checkLoss(loss);
  const { infix, latex, structure } = formula(checked);
  return {
    format: LOSS_FORMAT,
    task: checked.task,
    tree: [...checked.tree],
    phi: checked.phi,
    infix,
    latex,
    structure,
    semantics: {
      weights: WEIGHTS,
      inputs: TERMINALS[checked.task],
      reduction: REDUCTION[checked.task],
      primitives: Object.fromEntries(usedPrimitives(checked)),
    },
    ...provenanceFields(checked.validatedWith),
  };
}

function provenanceFields(p?: Provenance): Pick<LossDocument, "validatedWith" | "verdict"> {
  if (!p) return {};
  const { verdict, ...validatedWith } = p;
  return { validatedWith, verdict };
}

export function exportJson(loss: ExportableLoss): string {
  return JSON.stringify(lossDocument(loss), null, 2) + "\n";
}

/** Reads a document back into a loss, checked like any export input. The descriptive fields
 * are ignored: `tree` and `phi` are the loss. */
export function readLossJson(text: string): ExportableLoss & { phi: number[] } {
  const doc = JSON.parse(text) as Partial<LossDocument>;
  if (doc?.format !== LOSS_FORMAT) {
    throw new Error(`not a ${LOSS_FORMAT} document (format: ${JSON.stringify(doc?.format)})`);
  }
  if (!Array.isArray(doc.tree) || !Array.isArray(doc.phi)) {
    throw new Error("a loss document needs the arrays `tree` and `phi`");
  }
  const { tree, phi, task } = checkLoss({ tree: doc.tree, phi: doc.phi, task: doc.task as Task });
  return { tree, phi, task };
}
