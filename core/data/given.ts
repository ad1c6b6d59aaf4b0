/**
 * A user's own validation and test sets, given in place of the internal split: they must be the
 * same kind of data as the training set (task, features, image shape, classes), and their class
 * indices are brought to the training set's, matched by class name (each file numbers its own
 * classes, so a file lacking a class would otherwise shift the others).
 */
import type { Dataset, Task } from "./dataset.ts";
import { DataError } from "./errors.ts";

export type GivenRole = "validation" | "test";

/** What must agree between the training set and a given split. */
export interface DataShape {
  task: Task;
  features: number;
  classNames?: string[];
  featureNames?: string[];
  imageShape?: [number, number, number];
}

export const shapeOf = (ds: Dataset): DataShape => ({
  task: ds.task,
  features: ds.d,
  classNames: ds.classNames,
  featureNames: ds.featureNames,
  imageShape: ds.imageShape,
});

/** Why `other` cannot serve as the training set's `role` split, or undefined if it can. */
export function shapeMismatch(
  train: DataShape,
  other: DataShape,
  role: GivenRole,
): string | undefined {
  const the = `the ${role} set`;
  if (other.task !== train.task) {
    return `${the} is a ${other.task} dataset; the training set is a ${train.task} one`;
  }
  if (other.features !== train.features) {
    return `${the} has ${other.features} features; the training set has ${train.features}`;
  }
  if (train.featureNames && other.featureNames) {
    const k = train.featureNames.findIndex((name, i) => other.featureNames![i] !== name);
    if (k >= 0) {
      return `${the}'s feature ${k + 1} is '${other.featureNames[k]}'; the training set's is ` +
        `'${train.featureNames[k]}' (the columns must be the same, in the same order)`;
    }
  }
  const shape = (s?: number[]) => (s ? s.join("x") : "none");
  if (shape(train.imageShape) !== shape(other.imageShape)) {
    return `${the} has image shape ${shape(other.imageShape)}; the training set has ` +
      shape(train.imageShape);
  }
  if (train.task === "classification") {
    const known = new Set(train.classNames ?? []);
    const unknown = (other.classNames ?? []).filter((c) => !known.has(c));
    if (unknown.length) {
      return `${the} has classes the training set lacks: ${unknown.slice(0, 10).join(", ")}`;
    }
  }
  return undefined;
}

/**
 * `other` as the training set's `role` split: checked (a DataError saying what differs) and,
 * for classification, with its labels renumbered to the training set's classes.
 */
export function asSplitOf(train: Dataset, other: Dataset, role: GivenRole): Dataset {
  const problem = shapeMismatch(shapeOf(train), shapeOf(other), role);
  if (problem) throw new DataError(problem);
  if (train.task !== "classification") return other;
  const names = train.classNames ?? [];
  const index = new Map(names.map((c, i) => [c, i]));
  const own = other.classNames ?? [];
  const y = Float32Array.from(other.y, (k) => index.get(own[k])!);
  return { ...other, y, nClasses: train.nClasses, classNames: train.classNames };
}
