import assert from "node:assert/strict";
import { classCounts } from "../core/data/dataset.ts";
import { loadBundled } from "../core/data/bundled.ts";

Deno.test("mnist: 10,000 28x28 digits in 10 classes, pixels in [0, 1]", async () => {
  const t0 = performance.now();
  const ds = await loadBundled("mnist");
  const ms = performance.now() - t0;
  assert.equal(ds.task, "classification");
  assert.equal(ds.n, 10_000);
  assert.equal(ds.d, 784);
  assert.deepEqual(ds.imageShape, [28, 28, 1]);
  assert.equal(ds.nClasses, 10);
  assert.equal(ds.x.length, ds.n * ds.d);
  // The package holds between 863 and 1,127 images per digit, not exactly 1,000.
  const counts = classCounts(ds);
  assert.equal(counts.reduce((a, b) => a + b), 10_000);
  assert.ok(counts.every((c) => c > 800 && c < 1200), `counts ${counts}`);
  let min = Infinity, max = -Infinity;
  for (const v of ds.x) [min, max] = [Math.min(min, v), Math.max(max, v)];
  assert.equal(min, 0);
  assert.equal(max, 1);
  // Generous bound (about 0.4 s measured on 2 cores): catches an accidental quadratic loader.
  assert.ok(ms < 5000, `mnist took ${ms.toFixed(0)} ms`);
});

Deno.test("mnist: each load is a fresh copy", async () => {
  const a = await loadBundled("mnist");
  a.x[0] = 42;
  const b = await loadBundled("mnist");
  assert.equal(b.x[0], 0);
});

Deno.test("boston: 506 rows, 13 named features, regression on medv", async () => {
  const ds = await loadBundled("boston");
  assert.equal(ds.task, "regression");
  assert.equal(ds.n, 506);
  assert.equal(ds.d, 13);
  assert.equal(ds.featureNames?.length, 13);
  assert.ok(!ds.featureNames?.includes("medv"));
  // First row of the classic table: crim 0.00632, medv 24.
  assert.equal(ds.x[0], Math.fround(0.00632));
  assert.equal(ds.y[0], 24);
  assert.equal(ds.nClasses, undefined);
});

Deno.test("iris: 150 rows, 4 features, 3 sorted species of 50", async () => {
  const ds = await loadBundled("iris");
  assert.equal(ds.task, "classification");
  assert.equal(ds.n, 150);
  assert.equal(ds.d, 4);
  assert.equal(ds.nClasses, 3);
  assert.deepEqual(ds.classNames, ["setosa", "versicolor", "virginica"]);
  assert.deepEqual(classCounts(ds), [50, 50, 50]);
});
