import assert from "node:assert/strict";
import type { Dataset } from "../core/data/dataset.ts";
import { DataError } from "../core/data/errors.ts";
import { validateDataset } from "../core/data/validate.ts";

/** 6 rows, 2 features, 2 classes of 3. */
function small(): Dataset {
  return {
    name: "small",
    task: "classification",
    x: Float32Array.from({ length: 12 }, (_, i) => i),
    y: Float32Array.of(0, 1, 0, 1, 0, 1),
    n: 6,
    d: 2,
    nClasses: 2,
    classNames: ["no", "yes"],
    featureNames: ["f0", "f1"],
  };
}

const fails = (ds: Dataset, pattern: RegExp, opts = {}) =>
  assert.throws(
    () => validateDataset(ds, opts),
    (e) => e instanceof DataError && pattern.test(e.message),
  );

Deno.test("validate: a well-formed dataset passes unchanged", () => {
  const ds = small();
  assert.equal(validateDataset(ds), ds);
});

Deno.test("validate: x length must be n*d", () => {
  fails({ ...small(), x: new Float32Array(11) }, /x has 11 values, expected n\*d = 6\*2 = 12/);
});

Deno.test("validate: NaN or infinite features name row and column", () => {
  const ds = small();
  ds.x[7] = Infinity; // row 4 (1-based), column f1
  assert.throws(
    () => validateDataset(ds),
    (e) => e instanceof DataError && e.row === 4 && e.column === "f1",
  );
  ds.x[7] = NaN;
  fails(ds, /NaN is not finite/);
});

Deno.test("validate: labels must be integers in [0, nClasses)", () => {
  fails({ ...small(), y: Float32Array.of(0, 1, 0, 1, 0, 2) }, /label 2 is not a class index/);
  fails({ ...small(), y: Float32Array.of(0, 1, 0, 1, 0, 0.5) }, /label 0.5/);
  fails({ ...small(), y: Float32Array.of(0, 1, 0, 1, 0, -1) }, /label -1/);
});

Deno.test("validate: too few rows of a class names the class", () => {
  const ds = { ...small(), y: Float32Array.of(0, 0, 0, 0, 1, 1) };
  fails(ds, /class "yes" has 2 rows; at least 3 are needed/, { minRowsPerClass: 3 });
  assert.equal(validateDataset(ds), ds); // the default minimum is 2
});

Deno.test("validate: regression targets must be finite", () => {
  const ds: Dataset = {
    ...small(),
    task: "regression",
    nClasses: undefined,
    classNames: undefined,
  };
  ds.y[2] = NaN;
  assert.throws(() => validateDataset(ds), (e) => e instanceof DataError && e.row === 3);
});

Deno.test("validate: image shape must hold d values", () => {
  fails({ ...small(), imageShape: [2, 2, 1] }, /image shape/);
});
