/**
 * From a dataset reference to the three splits a search uses, identically in every worker: load,
 * split with the seed (stratified for classification), then scale features and regression
 * targets with statistics of the training rows only.
 */
import {
  applyStandardizer,
  applyTargetScaler,
  BUNDLED_NAMES,
  type BundledName,
  type Dataset,
  fitStandardizer,
  fitTargetScaler,
  loadBundled,
  loadCsvFile,
  loadIdxFiles,
  loadJsonFile,
  loadNpyPair,
  splitDataset,
  type TargetScaler,
  type Task,
} from "./data/mod.ts";
import type { LabeledRows } from "./batches.ts";

/**
 * Where a dataset comes from: plain data, so it can be posted to a worker or stored. `name`, where
 * given, is what results call the dataset (the service names uploads by their id, not by the
 * temporary file they sit in).
 */
export type DatasetRef =
  | { kind: "bundled"; name: BundledName }
  | { kind: "csv"; path: string; target: string; task?: Task; name?: string }
  | { kind: "idx"; images: string; labels: string; name?: string }
  | { kind: "npy"; features: string; labels: string; task?: Task; name?: string }
  | { kind: "json"; path: string; target?: string; task?: Task; name?: string };

export interface SplitSettings {
  testFraction: number;
  /** Fraction of the remaining training rows held out for validation (method.md: 10%). */
  validationFraction: number;
}

export const DEFAULT_SPLIT: SplitSettings = { testFraction: 0.2, validationFraction: 0.1 };

export interface PreparedData {
  name: string;
  task: Task;
  nClasses?: number;
  classNames?: string[];
  inputs: number;
  train: LabeledRows;
  validation: LabeledRows;
  test: LabeledRows;
  /** Regression: targets were standardised with this; MSE is reported back in original units. */
  targetScaler?: TargetScaler;
  /** [height, width, channels] of image data, which convolutional models need. */
  imageShape?: [number, number, number];
}

/** The file formats parseDatasetRef tells apart by extension. */
export const FILE_FORMATS =
  "CSV/TSV (.csv, .tsv, .txt, with a target column), JSON (.json), NumPy (.npy, .npy.gz, " +
  "with a labels file) or IDX (.idx, -ubyte, .gz, with a labels file)";

/**
 * A CLI dataset argument: a bundled name, or a file whose format its extension gives. CSV (and a
 * file of any other extension, as before) needs a target column; .npy and IDX files need the
 * labels file that goes with them.
 */
export function parseDatasetRef(text: string, target?: string, labels?: string): DatasetRef {
  if ((BUNDLED_NAMES as readonly string[]).includes(text)) {
    return { kind: "bundled", name: text as BundledName };
  }
  const lower = text.toLowerCase();
  const pair = (format: string) => {
    if (!labels) {
      throw new Error(
        `'${text}' is a ${format} features file; it needs a labels file (--labels FILE)`,
      );
    }
    return labels;
  };
  if (lower.endsWith(".json")) return { kind: "json", path: text, ...(target ? { target } : {}) };
  if (lower.endsWith(".npy") || lower.endsWith(".npy.gz")) {
    return { kind: "npy", features: text, labels: pair(".npy") };
  }
  if (/(\.idx|-ubyte|\.idx\d)(\.gz)?$/.test(lower) || (lower.endsWith(".gz") && labels)) {
    return { kind: "idx", images: text, labels: pair("IDX") };
  }
  if (!target) {
    throw new Error(
      `'${text}' is not a bundled dataset (${
        BUNDLED_NAMES.join(", ")
      }); a CSV file needs a target column (formats: ${FILE_FORMATS})`,
    );
  }
  return { kind: "csv", path: text, target };
}

export function describeRef(ref: DatasetRef): string {
  switch (ref.kind) {
    case "bundled":
      return ref.name;
    case "csv":
      return `${ref.name ?? ref.path} (target ${ref.target})`;
    case "idx":
      return ref.name ?? `${ref.images} + ${ref.labels}`;
    case "npy":
      return ref.name ?? `${ref.features} + ${ref.labels}`;
    case "json":
      return `${ref.name ?? ref.path}${ref.target ? ` (target ${ref.target})` : ""}`;
  }
}

export async function loadDataset(ref: DatasetRef): Promise<Dataset> {
  switch (ref.kind) {
    case "bundled":
      return await loadBundled(ref.name);
    case "csv":
      return await loadCsvFile(ref.path, { target: ref.target, task: ref.task, name: ref.name });
    case "idx":
      return await loadIdxFiles(ref.images, ref.labels, ref.name);
    case "npy":
      return await loadNpyPair(ref.features, ref.labels, { task: ref.task, name: ref.name });
    case "json":
      return await loadJsonFile(ref.path, { target: ref.target, task: ref.task, name: ref.name });
  }
}

function rows(ds: Dataset): LabeledRows {
  return { x: ds.x, y: ds.y, n: ds.n, d: ds.d };
}

export function prepare(
  ds: Dataset,
  seed: number,
  split: SplitSettings = DEFAULT_SPLIT,
): PreparedData {
  const parts = splitDataset(ds, { seed, ...split });
  const scaler = fitStandardizer(parts.train);
  let [train, validation, test] = [parts.train, parts.validation, parts.test].map((p) =>
    applyStandardizer(p, scaler)
  );
  let targetScaler: TargetScaler | undefined;
  if (ds.task === "regression") {
    targetScaler = fitTargetScaler(train);
    [train, validation, test] = [train, validation, test].map((p) =>
      applyTargetScaler(p, targetScaler!)
    );
  }
  return {
    name: ds.name,
    task: ds.task,
    nClasses: ds.nClasses,
    classNames: ds.classNames,
    inputs: ds.d,
    train: rows(train),
    validation: rows(validation),
    test: rows(test),
    targetScaler,
    imageShape: ds.imageShape,
  };
}
