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
  isBundledName,
  loadBundled,
  splitDataset,
  type TargetScaler,
  type Task,
} from "./data/mod.ts";
import { defaultSettings, type InputScaling, type Settings } from "./settings.ts";
import { asSplitOf } from "./data/given.ts";
import {
  describeFormats,
  type FormatName,
  formatOfName,
  FORMATS,
  missingFile,
  optionsProblem,
  rolesOf,
} from "./data/formats.ts";

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

/** Plain arrays of one split, as the data layer produces them. */
export interface LabeledRows {
  /** Row-major features, n * d. */
  x: Float32Array;
  /** Class index (classification) or target value (regression), one per row. */
  y: Float32Array;
  n: number;
  d: number;
}

export type SplitSettings = Settings["split"];
export type PreprocessingSettings = Settings["preprocessing"];

/**
 * What was done to the data before any model saw it, with the statistics of the training rows:
 * a model trained here, or a loss tuned here, expects its inputs (and, for regression, targets)
 * transformed the same way.
 */
export interface Preprocessing {
  inputs: {
    /** x' = (x - mean) / std with one mean and std per feature, per image channel, or none. */
    scaling: "per-feature" | "per-channel" | "none";
    /** Per feature (`per-feature`), per channel (`per-channel`), empty for `none`. */
    mean: number[];
    std: number[];
  };
  /** Regression: y' = (y - mean) / std; predictions go back with y = y' * std + mean. */
  targets?: { mean: number; std: number };
}

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
  preprocessing: Preprocessing;
  /** Where the validation and test rows came from: the internal split, or a given dataset's
   * name (`prepare`'s `given`). */
  sources?: { validation: string; test: string };
}

/** A user's own validation and test sets, in place of the internal split (core/data/given.ts). */
export interface GivenSplits {
  validation?: Dataset;
  test?: Dataset;
}

/** The scaling a setting stands for on data with or without an image shape. */
export function inputScalingFor(
  setting: InputScaling,
  isImage: boolean,
): Preprocessing["inputs"]["scaling"] {
  switch (setting) {
    case "auto":
      return isImage ? "per-channel" : "per-feature";
    case "none-for-images":
      return isImage ? "none" : "per-feature";
    default:
      return setting;
  }
}

/** The files of a file-backed reference, by role (core/data/formats.ts). */
export function refFiles(ref: Exclude<DatasetRef, { kind: "bundled" }>): Record<string, string> {
  switch (ref.kind) {
    case "csv":
    case "json":
      return { file: ref.path };
    case "npy":
      return { features: ref.features, labels: ref.labels };
    case "idx":
      return { images: ref.images, labels: ref.labels };
  }
}

/**
 * A reference to files of a format, by role, with the reading options the format takes; refused
 * with the registry's words (core/data/formats.ts) when a file is missing or an option does not
 * fit.
 */
export function fileRef(
  format: FormatName,
  files: Record<string, string>,
  opts: { target?: string; task?: Task; name?: string } = {},
): DatasetRef {
  const problem = missingFile(format, Object.keys(files)) ?? optionsProblem(format, opts);
  if (problem) throw new Error(problem.detail);
  const named = opts.name === undefined ? {} : { name: opts.name };
  const task = FORMATS[format].task && opts.task ? { task: opts.task } : {};
  switch (format) {
    case "csv":
      return { kind: "csv", path: files.file, target: opts.target!, ...task, ...named };
    case "json":
      return {
        kind: "json",
        path: files.file,
        ...(opts.target ? { target: opts.target } : {}),
        ...task,
        ...named,
      };
    case "npy":
      return { kind: "npy", features: files.features, labels: files.labels, ...task, ...named };
    case "idx":
      return { kind: "idx", images: files.images, labels: files.labels, ...named };
  }
}

/**
 * A CLI dataset argument: a bundled name, or a file whose format its name tells (a file of an
 * unknown ending is read as CSV). The file is the format's first role and `--labels` its labels,
 * so a missing file or a misplaced option gets the words the service gives for the same request.
 */
export function parseDatasetRef(
  text: string,
  opts: { target?: string; labels?: string; task?: Task } = {},
): DatasetRef {
  if (isBundledName(text)) {
    if (opts.labels || opts.target) {
      throw new Error(`'${text}' is a bundled dataset: it takes no --target or --labels`);
    }
    return { kind: "bundled", name: text };
  }
  const named = formatOfName(text);
  const format = named ?? "csv";
  const [first, ...rest] = rolesOf(format);
  if (rest.length === 0 && opts.labels) {
    throw new Error(`--labels is for files of features or images, not '${text}' (${format})`);
  }
  if (!named && !opts.target) {
    // Most likely a mistyped bundled name, or a file without a known ending.
    throw new Error(
      `'${text}' is not a bundled dataset (${BUNDLED_NAMES.join(", ")}), so it is read as a ` +
        `CSV file: ${
          optionsProblem("csv", {})!.detail
        } (--target COLUMN). Formats: ${describeFormats()}`,
    );
  }
  const files: Record<string, string> = { [first]: text };
  if (opts.labels) files.labels = opts.labels;
  return fileRef(format, files, { target: opts.target, task: opts.task });
}

export function describeRef(ref: DatasetRef): string {
  if (ref.kind === "bundled") return ref.name;
  const files = Object.values(refFiles(ref)).join(" + ");
  const target = "target" in ref && ref.target ? ` (target ${ref.target})` : "";
  return `${ref.name ?? files}${target}`;
}

/**
 * Loads the dataset a reference names. `maxInflatedBytes` bounds what a gzip file may inflate to,
 * counted while it inflates (the service passes its upload limit; the default is 1 GiB).
 */
export async function loadDataset(
  ref: DatasetRef,
  opts: { maxInflatedBytes?: number } = {},
): Promise<Dataset> {
  if (ref.kind === "bundled") return await loadBundled(ref.name);
  return await FORMATS[ref.kind].load(refFiles(ref), { ...ref, ...opts });
}

function rows(ds: Dataset): LabeledRows {
  return { x: ds.x, y: ds.y, n: ds.n, d: ds.d };
}

export function prepare(
  ds: Dataset,
  seed: number,
  split: SplitSettings = defaultSettings().split,
  preprocessing: PreprocessingSettings = defaultSettings().preprocessing,
  given: GivenSplits = {},
): PreparedData {
  // A given split takes the place of the internal one: its share of the rows stays in training.
  const parts = splitDataset(ds, {
    seed,
    testFraction: given.test ? 0 : split.testFraction,
    validationFraction: given.validation ? 0 : split.validationFraction,
  });
  if (given.validation) parts.validation = asSplitOf(ds, given.validation, "validation");
  if (given.test) parts.test = asSplitOf(ds, given.test, "test");
  const scaling = inputScalingFor(preprocessing.inputs, ds.imageShape !== undefined);
  const scaler = fitStandardizer(parts.train, { mode: scaling });
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
    preprocessing: {
      inputs: { scaling, ...recorded(scaler, scaling, ds.imageShape?.[2] ?? 1) },
      ...(targetScaler ? { targets: { ...targetScaler } } : {}),
    },
    sources: {
      validation: given.validation ? given.validation.name : "split",
      test: given.test ? given.test.name : "split",
    },
  };
}

/** The scaler's statistics once per feature or channel, as they are recorded. */
function recorded(
  scaler: { mean: Float32Array; std: Float32Array },
  scaling: Preprocessing["inputs"]["scaling"],
  channels: number,
): { mean: number[]; std: number[] } {
  const count = scaling === "none" ? 0 : scaling === "per-channel" ? channels : scaler.mean.length;
  return {
    mean: Array.from(scaler.mean.subarray(0, count)),
    std: Array.from(scaler.std.subarray(0, count)),
  };
}

/** A prepared job's data: the dataset, and its given validation and test sets if any. */
export async function loadAndPrepare(
  refs: { dataset: DatasetRef; validation?: DatasetRef; test?: DatasetRef },
  seed: number,
  split: SplitSettings,
  preprocessing?: PreprocessingSettings,
): Promise<PreparedData> {
  const load = (ref?: DatasetRef) => (ref ? loadDataset(ref) : Promise.resolve(undefined));
  const [ds, validation, test] = await Promise.all([
    loadDataset(refs.dataset),
    load(refs.validation),
    load(refs.test),
  ]);
  return prepare(ds, seed, split, preprocessing, { validation, test });
}
