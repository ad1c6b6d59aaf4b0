import assert from "node:assert/strict";
import { type Dataset, oneHot, subsetRows } from "../core/data/dataset.ts";
import { DataError } from "../core/data/errors.ts";

const ds: Dataset = {
  name: "t",
  task: "classification",
  x: Float32Array.of(0, 1, 10, 11, 20, 21),
  y: Float32Array.of(0, 1, 2),
  n: 3,
  d: 2,
  nClasses: 3,
};

Deno.test("subsetRows: copies the named rows in order and keeps metadata", () => {
  const s = subsetRows(ds, [2, 0]);
  assert.deepEqual([...s.x], [20, 21, 0, 1]);
  assert.deepEqual([...s.y], [2, 0]);
  assert.equal(s.n, 2);
  assert.equal(s.nClasses, 3);
  s.x[0] = -1;
  assert.equal(ds.x[4], 20); // a copy, not a view
});

Deno.test("subsetRows: refuses an index out of range", () => {
  assert.throws(() => subsetRows(ds, [3]), RangeError);
});

Deno.test("oneHot: one 1 per row at the label's column", () => {
  assert.deepEqual([...oneHot([2, 0], 3)], [0, 0, 1, 1, 0, 0]);
  assert.throws(() => oneHot([3], 3), DataError);
});
