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

Deno.test("spam: 6,046 SpamAssassin e-mails as a hashed bag of words, spam against ham", async () => {
  const { SPAM_HASH_SIZE, spamBucket, spamTokens } = await import("../core/data/bundled.ts");
  const ds = await loadBundled("spam");
  assert.equal(ds.task, "classification");
  assert.equal(ds.n, 6046);
  assert.equal(ds.d, SPAM_HASH_SIZE);
  assert.deepEqual(ds.classNames, ["ham", "spam"]);
  // The package's groups: spam-1 (500) and spam-2 (1,396) are spam; the three ham groups the rest.
  assert.deepEqual(classCounts(ds), [4150, 1896]);
  // Every message has words, and every feature is log(1 + count) of a non-negative count.
  for (let i = 0; i < ds.n; i += 97) {
    const row = ds.x.subarray(i * ds.d, (i + 1) * ds.d);
    assert.ok(row.some((v) => v > 0), `row ${i} is empty`);
    assert.ok(row.every((v) => v >= 0 && Number.isInteger(Math.round(Math.expm1(v) * 1e3) / 1e3)));
  }
  // Tokenisation: Subject and body only, lower-cased runs of 2 to 20 letters or digits.
  const msg =
    "From: x@y.z\nReceived: by host.example\nSubject: FREE Money!!\n\nClick a link: WIN $1000 now";
  assert.deepEqual(spamTokens(msg), ["free", "money", "click", "link", "win", "1000", "now"]);
  assert.equal(spamBucket("free"), spamBucket("free"));
  assert.ok(spamBucket("free") >= 0 && spamBucket("free") < SPAM_HASH_SIZE);
});

Deno.test("spam: loads and splits the same way every time", async () => {
  const { prepare } = await import("../core/prepare.ts");
  const [a, b] = [await loadBundled("spam"), await loadBundled("spam")];
  assert.deepEqual(a.x, b.x);
  assert.deepEqual(a.y, b.y);
  const [pa, pb] = [prepare(a, 3), prepare(b, 3)];
  assert.deepEqual(pa.train.y, pb.train.y);
  assert.deepEqual(pa.test.x, pb.test.x);
  assert.equal(pa.train.n + pa.validation.n + pa.test.n, 6046);
  assert.notDeepEqual(prepare(a, 4).test.y, pa.test.y);
});
