import assert from "node:assert/strict";
import { loadBundled } from "../core/data/bundled.ts";
import type { Dataset } from "../core/data/dataset.ts";
import { splitDataset } from "../core/data/split.ts";
import { prepare } from "../core/prepare.ts";
import {
  applyStandardizer,
  applyTargetScaler,
  fitStandardizer,
  fitTargetScaler,
  invertTargets,
  mseToOriginalUnits,
} from "../core/data/standardize.ts";

/** Mean and population std of column j, in float64. */
function columnStats(ds: Dataset, j: number): [number, number] {
  const col = Array.from({ length: ds.n }, (_, i) => ds.x[i * ds.d + j]);
  const mean = col.reduce((a, b) => a + b, 0) / ds.n;
  return [mean, Math.sqrt(col.reduce((a, v) => a + (v - mean) ** 2, 0) / ds.n)];
}

const close = (a: number, b: number, tol = 1e-4) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

Deno.test("standardizer: statistics come from the training rows only", async () => {
  const ds = await loadBundled("boston");
  const { train, test } = splitDataset(ds, { seed: 2 });
  const s = fitStandardizer(train);
  for (let j = 0; j < ds.d; j++) {
    const [m, sd] = columnStats(train, j);
    close(s.mean[j], m);
    close(s.std[j], sd);
  }
  // Had the fit seen all 506 rows, the means would match the full table's instead.
  const differs = [...s.mean].filter((m, j) => Math.abs(m - columnStats(ds, j)[0]) > 1e-3);
  assert.ok(
    differs.length >= 10,
    `only ${differs.length} of 13 means differ from the full table's`,
  );
  // Standardised test rows are therefore not exactly centred.
  const t = applyStandardizer(test, s);
  assert.ok(Math.abs(columnStats(t, 12)[0]) > 1e-3);
});

Deno.test("standardizer: training features come out with mean 0 and std 1", async () => {
  const { train } = splitDataset(await loadBundled("iris"), { seed: 1 });
  const z = applyStandardizer(train, fitStandardizer(train));
  for (let j = 0; j < 4; j++) {
    const [m, sd] = columnStats(z, j);
    close(m, 0);
    close(sd, 1);
  }
  assert.notEqual(z.x, train.x); // a copy: the input is untouched
});

Deno.test("standardizer: a constant column gets std 1 and maps to 0", () => {
  // 0.1 has no exact float representation: the mean's rounding must not create a tiny std.
  const ds: Dataset = {
    name: "const",
    task: "regression",
    x: Float32Array.of(0.1, 1, 0.1, 2, 0.1, 3),
    y: new Float32Array(3),
    n: 3,
    d: 2,
  };
  const s = fitStandardizer(ds);
  assert.equal(s.std[0], 1);
  assert.deepEqual([...applyStandardizer(ds, s).x].filter((_, i) => i % 2 === 0), [0, 0, 0]);
});

Deno.test("standardizer: images are left alone by default; 'global' uses one mean/std", async () => {
  const { train } = splitDataset(await loadBundled("mnist"), { seed: 1 });
  const none = fitStandardizer(train);
  assert.equal(none.mode, "none");
  assert.ok(none.mean.every((m) => m === 0) && none.std.every((s) => s === 1));
  const global = fitStandardizer(train, { mode: "global" });
  // The classic MNIST normalisation is about 0.13 / 0.31.
  close(global.mean[0], 0.13, 0.1);
  close(global.std[0], 0.31, 0.1);
  assert.ok(global.mean.every((m) => m === global.mean[0]));
});

Deno.test("standardizer: 'per-channel' gives each image channel one mean/std over its pixels", () => {
  // Two 1x2 RGB-like images of 2 channels: channel 0 holds 1, 3, 5, 7 and channel 1 holds
  // 10, 10, 20, 20 (h, w, c order: the channel is the fastest index).
  const ds: Dataset = {
    name: "two-channel",
    task: "classification",
    x: Float32Array.of(1, 10, 3, 10, 5, 20, 7, 20),
    y: Float32Array.of(0, 1),
    n: 2,
    d: 4,
    nClasses: 2,
    imageShape: [1, 2, 2],
  };
  const s = fitStandardizer(ds, { mode: "per-channel" });
  // Population statistics: channel 0 mean 4, std sqrt(5); channel 1 mean 15, std 5.
  assert.deepEqual([...s.mean], [4, 15, 4, 15]);
  close(s.std[0], Math.sqrt(5));
  assert.deepEqual([s.std[1], s.std[3]], [5, 5]);
  assert.deepEqual([...applyStandardizer(ds, s).x].filter((_, i) => i % 2 === 1), [-1, -1, 1, 1]);
  // Without an image shape the data is one channel: one mean/std for all values.
  const flat = fitStandardizer({ ...ds, imageShape: undefined }, { mode: "per-channel" });
  const global = fitStandardizer(ds, { mode: "global" });
  assert.deepEqual([...flat.mean], [...global.mean]);
  assert.deepEqual([...flat.std], [...global.std]);
});

Deno.test("target scaler: fit on train, invert exactly, MSE back in original units", async () => {
  const { train, test } = splitDataset(await loadBundled("boston"), { seed: 4 });
  const t = fitTargetScaler(train);
  const scaled = applyTargetScaler(test, t);
  const back = invertTargets(scaled.y, t);
  back.forEach((v, i) => close(v, test.y[i]));
  // A constant prediction of the training mean: its MSE is the same in either unit system.
  const mseScaled = scaled.y.reduce((a, v) => a + v * v, 0) / scaled.n;
  const mseOrig = test.y.reduce((a, v) => a + (v - t.mean) ** 2, 0) / test.n;
  close(mseToOriginalUnits(mseScaled, t), mseOrig);
});

Deno.test("target scaler: refuses classification data", async () => {
  const iris = await loadBundled("iris");
  assert.throws(() => fitTargetScaler(iris), /regression/);
});

Deno.test("prepare: images per channel, tables per feature, each recorded with its statistics", async () => {
  const mnist = await loadBundled("mnist");
  const images = prepare(mnist, 1);
  assert.deepEqual(images.preprocessing.inputs.scaling, "per-channel");
  // One mean and std for all pixels of the one channel, as the published MNIST transform.
  const [mean] = images.preprocessing.inputs.mean;
  const [std] = images.preprocessing.inputs.std;
  close(mean, 0.1307, 0.02);
  close(std, 0.3081, 0.02);
  assert.equal(images.preprocessing.inputs.mean.length, 1);
  const x = images.train.x;
  close(x.reduce((a, v) => a + v, 0) / x.length, 0, 1e-3);
  assert.equal(images.preprocessing.targets, undefined);
  // Searches stored before the setting ran with the images unscaled.
  const legacy = prepare(mnist, 1, undefined, { inputs: "none-for-images" });
  assert.deepEqual(legacy.preprocessing.inputs, { scaling: "none", mean: [], std: [] });
  assert.ok(legacy.train.x.every((v) => v >= 0 && v <= 1));
  // Tabular data: one mean and std per feature; a regression target's mean and std too.
  const boston = prepare(await loadBundled("boston"), 1);
  assert.equal(boston.preprocessing.inputs.scaling, "per-feature");
  assert.equal(boston.preprocessing.inputs.mean.length, 13);
  assert.deepEqual(boston.preprocessing.targets, boston.targetScaler);
  assert.ok(boston.preprocessing.targets!.std > 1);
  for (const setting of ["auto", "none-for-images"] as const) {
    const p = prepare(await loadBundled("iris"), 1, undefined, { inputs: setting });
    assert.equal(p.preprocessing.inputs.scaling, "per-feature");
  }
});
