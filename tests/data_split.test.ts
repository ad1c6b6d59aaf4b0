import assert from "node:assert/strict";
import { loadBundled } from "../core/data/bundled.ts";
import { classCounts, type Dataset } from "../core/data/dataset.ts";
import { apportion, type Split, splitDataset } from "../core/data/split.ts";

/** A test-local LCG, so the generated datasets do not depend on the code under test. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/** Classification data with random class sizes (1..60 rows, some tiny) in shuffled order. */
function randomDataset(seed: number): Dataset {
  const rnd = lcg(seed);
  const k = 2 + rnd(6);
  const labels: number[] = [];
  for (let c = 0; c < k; c++) {
    const size = rnd(4) === 0 ? 1 + rnd(3) : 1 + rnd(60);
    for (let i = 0; i < size; i++) labels.splice(rnd(labels.length + 1), 0, c);
  }
  const n = labels.length;
  // Feature 0 is the row index, so every row can be traced through the split.
  const x = Float32Array.from({ length: n * 2 }, (_, i) => (i % 2 ? rnd(100) : i / 2));
  return {
    name: "random",
    task: "classification",
    x,
    y: Float32Array.from(labels),
    n,
    d: 2,
    nClasses: k,
  };
}

function assertPartition(s: Split, n: number): void {
  const all = [...s.indices.train, ...s.indices.validation, ...s.indices.test];
  assert.equal(all.length, n, "rows lost or duplicated");
  assert.equal(new Set(all).size, n, "a row is in two splits");
  assert.ok(all.every((i) => Number.isInteger(i) && i >= 0 && i < n));
}

/** Per class: split counts within one row of their expected share, and present where possible. */
function assertStratified(ds: Dataset, s: Split, tf: number, vf: number): void {
  const total = classCounts(ds);
  const test = classCounts(s.test);
  const val = classCounts(s.validation);
  const train = classCounts(s.train);
  total.forEach((nc, c) => {
    const msg = `class ${c}: ${nc} rows -> train ${train[c]}, val ${val[c]}, test ${test[c]}`;
    assert.ok(Math.abs(test[c] - nc * tf) <= 1, msg);
    assert.ok(Math.abs(val[c] - (nc - test[c]) * vf) <= 1, msg);
    if (nc >= 1) assert.ok(train[c] >= 1, msg);
    if (nc >= 3) assert.ok(test[c] >= 1 && val[c] >= 1, msg);
  });
}

Deno.test("split property: random class layouts partition and stay stratified", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const ds = randomDataset(seed);
    const [tf, vf] = [[0.2, 0.1], [0.3, 0.25], [0.1, 0.5]][seed % 3];
    const s = splitDataset(ds, { seed, testFraction: tf, validationFraction: vf });
    assertPartition(s, ds.n);
    assertStratified(ds, s, tf, vf);
  }
});

Deno.test("split: the split datasets hold exactly the rows their indices name", () => {
  const ds = randomDataset(7);
  const s = splitDataset(ds, { seed: 3 });
  for (const part of ["train", "validation", "test"] as const) {
    s.indices[part].forEach((row, k) => {
      assert.equal(s[part].x[k * 2], row); // feature 0 is the source row index
      assert.equal(s[part].y[k], ds.y[row]);
    });
    assert.equal(s[part].n, s.indices[part].length);
    assert.equal(s[part].nClasses, ds.nClasses);
  }
});

Deno.test("split: iris 150 -> test 30, validation 12, train 108, 10/4/36 per class", async () => {
  const ds = await loadBundled("iris");
  const s = splitDataset(ds, { seed: 1 });
  assert.deepEqual(classCounts(s.test), [10, 10, 10]);
  assert.deepEqual(classCounts(s.validation), [4, 4, 4]);
  assert.deepEqual(classCounts(s.train), [36, 36, 36]);
});

Deno.test("split: same seed, same split; another seed, another split", async () => {
  const ds = await loadBundled("iris");
  const a = splitDataset(ds, { seed: 42 });
  const b = splitDataset(ds, { seed: 42 });
  const c = splitDataset(ds, { seed: 43 });
  assert.deepEqual(a.indices, b.indices);
  assert.deepEqual(a.train.x, b.train.x);
  assert.notDeepEqual(new Set(a.indices.test), new Set(c.indices.test));
});

Deno.test("split: mnist stays stratified and its splits mix the classes", async () => {
  const ds = await loadBundled("mnist");
  const s = splitDataset(ds, { seed: 5 });
  assertPartition(s, ds.n);
  assertStratified(ds, s, 0.2, 0.1);
  assert.equal(s.test.n, 2000);
  // Classes are interleaved: the first 50 training rows are not all one digit.
  assert.ok(new Set(s.train.y.slice(0, 50)).size > 5);
  assert.deepEqual(s.train.imageShape, [28, 28, 1]);
});

Deno.test("split: boston regression is random with the requested sizes", async () => {
  const ds = await loadBundled("boston");
  const s = splitDataset(ds, { seed: 9 });
  assertPartition(s, ds.n);
  assert.equal(s.test.n, 101); // round(506 * 0.2)
  assert.equal(s.validation.n, 41); // round(405 * 0.1)
  assert.equal(s.train.n, 364);
  // Random, not the first or last rows of the file.
  const sorted = [...s.indices.test].sort((a, b) => a - b);
  assert.notDeepEqual(sorted, [...Array(101).keys()]);
  assert.ok(sorted[0] < 50 && sorted[100] > 450);
});

Deno.test("split: a zero fraction gives an empty split", async () => {
  const ds = await loadBundled("iris");
  const s = splitDataset(ds, { seed: 1, testFraction: 0, validationFraction: 0 });
  assert.equal(s.test.n, 0);
  assert.equal(s.validation.n, 0);
  assert.equal(s.train.n, 150);
});

Deno.test("split: bad options are refused", async () => {
  const ds = await loadBundled("iris");
  assert.throws(() => splitDataset(ds, { seed: 1.5 }), RangeError);
  assert.throws(() => splitDataset(ds, { seed: 1, testFraction: 1 }), RangeError);
  assert.throws(() => splitDataset(ds, { seed: 1, validationFraction: -0.1 }), RangeError);
});

Deno.test("apportion: floor or ceil per group, summing to the rounded total", () => {
  assert.deepEqual(apportion([10, 10, 10], 0.25), [3, 3, 2]); // 7.5 -> 8; ties go to the first
  assert.deepEqual(apportion([5, 3, 2], 0.5), [3, 1, 1]);
  assert.deepEqual(apportion([1001, 1127], 0.2), [200, 226]);
});
