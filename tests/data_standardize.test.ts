import assert from "node:assert/strict";
import { loadBundled } from "../core/data/bundled.ts";
import type { Dataset } from "../core/data/dataset.ts";
import { splitDataset } from "../core/data/split.ts";
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
