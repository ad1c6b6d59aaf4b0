/** Data layer: datasets as plain typed arrays, loaders, validation, splits and scaling. */

export { DataError } from "./errors.ts";
export { classCounts, type Dataset, oneHot, subsetRows, type Task } from "./dataset.ts";
export { validateDataset, type ValidateOptions } from "./validate.ts";
export {
  BUNDLED_NAMES,
  bundledDescription,
  type BundledName,
  isBundledName,
  loadBundled,
  presetFor,
} from "./bundled.ts";
export { decodeIdxPair, idxDataset, loadIdxFiles, parseIdx } from "./idx.ts";
export {
  decodeNpyPair,
  loadNpyPair,
  MAX_NPY_CLASSES,
  type NpyArray,
  npyDataset,
  type NpyOptions,
  parseNpy,
} from "./npy.ts";
export { type JsonOptions, loadJsonFile, parseJsonDataset } from "./json.ts";
export {
  inferTask,
  loadCsvFile,
  MAX_INFERRED_CLASSES,
  parseDelimited,
  type ParseOptions,
} from "./csv.ts";
export { type DelimitedRecord, detectDelimiter, tokenize } from "./tokenize.ts";
export { apportion, type Split, splitDataset, type SplitOptions } from "./split.ts";
export {
  applyStandardizer,
  applyTargetScaler,
  fitStandardizer,
  fitTargetScaler,
  invertTargets,
  mseToOriginalUnits,
  type StandardizeMode,
  type StandardizeOptions,
  type Standardizer,
  type TargetScaler,
} from "./standardize.ts";
