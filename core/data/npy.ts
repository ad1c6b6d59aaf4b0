/**
 * NumPy .npy files (what `numpy.save` writes): a features array and a labels array, plain or gzip.
 *
 * Layout: the magic "\x93NUMPY", a major and minor version byte, the header length (uint16 LE in
 * version 1, uint32 LE in versions 2 and 3), then an ASCII (version 3: UTF-8) Python dict literal
 * such as `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }`, then the raw
 * values. Supported: floats (f4, f8), signed and unsigned integers of 1 to 8 bytes and booleans,
 * either byte order, C order only.
 *
 * Features are [n, d] (a table) or [n, h, w] / [n, h, w, c] (images, which set imageShape); uint8
 * images are scaled to [0, 1] (pixel / 255) as IDX images are. Labels are [n] (or [n, 1]): an
 * integer or boolean array is read as class labels, a float array as regression targets, unless
 * `task` says otherwise.
 */
import type { Dataset, Task } from "./dataset.ts";
import { DataError, inFile } from "./errors.ts";
import { fileName, readDataFile } from "./files.ts";
import { validateDataset } from "./validate.ts";
import { decodeFile } from "./idx.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Whether the bytes start with the .npy magic string. */
export function isNpy(bytes: Uint8Array): boolean {
  return MAGIC.every((b, i) => bytes[i] === b);
}
/** A sanity bound on integer labels: more distinct classes than this is not a label array. */
export const MAX_NPY_CLASSES = 1000;

export type NpyKind = "f" | "i" | "u" | "b";

export interface NpyArray {
  shape: number[];
  /** The dtype as the file spells it, e.g. "<f4" or "|u1". */
  descr: string;
  kind: NpyKind;
  /** Bytes per value. */
  size: number;
  littleEndian: boolean;
  /** The raw values, C order. */
  data: Uint8Array;
}

/** Parses one .npy array; `what` names the file in errors. */
export function parseNpy(bytes: Uint8Array, what: string): NpyArray {
  if (bytes.length < 10 || !isNpy(bytes)) {
    const start = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, "0"));
    throw new DataError(
      `${what} does not start with the .npy magic string "\\x93NUMPY"; got ${
        start.length ? `0x${start.join("")}` : "an empty file"
      }`,
    );
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataError(`${what} ends inside its header`);
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new DataError(
      `${what} is .npy format version ${major}.${
        bytes[7]
      }; versions 1.0, 2.0 and 3.0 are supported`,
    );
  }
  if (bytes.length < start + headerLen) throw new DataError(`${what} ends inside its header`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + headerLen),
  );
  const descr = header.match(/['"]descr['"]\s*:\s*['"]([^'"]*)['"]/)?.[1];
  if (descr === undefined) {
    const list = /['"]descr['"]\s*:\s*\[/.test(header);
    throw new DataError(
      list
        ? `${what} holds a structured (record) array; only plain numeric arrays are supported`
        : `${what} has no 'descr' (dtype) in its header: ${header.trim()}`,
    );
  }
  const fortran = header.match(/['"]fortran_order['"]\s*:\s*(True|False)/)?.[1];
  if (fortran === undefined) {
    throw new DataError(`${what} has no 'fortran_order' in its header: ${header.trim()}`);
  }
  if (fortran === "True") {
    throw new DataError(
      `${what} is stored in Fortran (column-major) order; save it in C order ` +
        `(numpy.save(path, numpy.ascontiguousarray(a)))`,
    );
  }
  const shapeText = header.match(/['"]shape['"]\s*:\s*\(([^)]*)\)/)?.[1];
  if (shapeText === undefined) {
    throw new DataError(`${what} has no 'shape' in its header: ${header.trim()}`);
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
    const n = Number(s.replace(/L$/, ""));
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new DataError(`${what} has a bad shape (${shapeText}) in its header`);
    }
    return n;
  });
  const { kind, size, littleEndian } = parseDescr(descr, what);
  const data = bytes.subarray(start + headerLen);
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * size;
  if (data.length !== expected) {
    throw new DataError(
      `${what} declares shape (${shape.join(", ")}) of ${descr} = ${expected} bytes of data but ${
        data.length < expected ? "holds only" : "holds"
      } ${data.length}${data.length < expected ? " (truncated?)" : ""}`,
    );
  }
  return { shape, descr, kind, size, littleEndian, data };
}

const SIZES: Record<NpyKind, number[]> = { f: [4, 8], i: [1, 2, 4, 8], u: [1, 2, 4, 8], b: [1] };

function parseDescr(
  descr: string,
  what: string,
): { kind: NpyKind; size: number; littleEndian: boolean } {
  const m = descr.match(/^([<>|=]?)([a-zA-Z])(\d+)$/);
  const order = m?.[1] ?? "";
  const kind = m?.[2] as NpyKind | undefined;
  const size = Number(m?.[3]);
  if (!m || !kind || !(kind in SIZES) || !SIZES[kind].includes(size)) {
    throw new DataError(
      `${what} holds dtype '${descr}'; supported are float32/64 (<f4, <f8), ` +
        `int8..int64 (<i1..<i8), uint8..uint64 (<u1..<u8) and bool (|b1)`,
    );
  }
  return { kind, size, littleEndian: order !== ">" };
}

/** Value i of the array as a JS number (64-bit integers beyond 2^53 lose precision). */
function reader(a: NpyArray): (i: number) => number {
  const view = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const le = a.littleEndian;
  const s = a.size;
  switch (`${a.kind}${s}`) {
    case "f4":
      return (i) => view.getFloat32(i * 4, le);
    case "f8":
      return (i) => view.getFloat64(i * 8, le);
    case "i1":
      return (i) => view.getInt8(i);
    case "i2":
      return (i) => view.getInt16(i * 2, le);
    case "i4":
      return (i) => view.getInt32(i * 4, le);
    case "i8":
      return (i) => Number(view.getBigInt64(i * 8, le));
    case "u1":
    case "b1":
      return (i) => view.getUint8(i);
    case "u2":
      return (i) => view.getUint16(i * 2, le);
    case "u4":
      return (i) => view.getUint32(i * 4, le);
    default: // u8
      return (i) => Number(view.getBigUint64(i * 8, le));
  }
}

export interface NpyOptions {
  /** By default: classification for integer or boolean labels, regression for float labels. */
  task?: Task;
  name?: string;
}

/** Builds a validated dataset from a parsed features array and labels array. */
export function npyDataset(features: NpyArray, labels: NpyArray, opts: NpyOptions = {}): Dataset {
  const { name = "npy" } = opts;
  const fs = features.shape;
  if (fs.length < 2 || fs.length > 4) {
    throw new DataError(
      `the features file has shape (${fs.join(", ")}); expected [n, d], [n, h, w] or ` +
        `[n, h, w, c]${fs.length === 1 ? " (are the two files swapped?)" : ""}`,
      { role: "features" },
    );
  }
  const ls = labels.shape;
  if (!(ls.length === 1 || (ls.length === 2 && ls[1] === 1))) {
    throw new DataError(`the labels file has shape (${ls.join(", ")}); expected [n]`, {
      role: "labels",
    });
  }
  const n = fs[0];
  if (ls[0] !== n) {
    throw new DataError(`the features file holds ${n} rows but the labels file ${ls[0]}`, {
      role: "features",
    });
  }
  const d = fs.slice(1).reduce((a, b) => a * b, 1);
  const image = fs.length >= 3;
  const scale = image && features.kind === "u" && features.size === 1 ? 1 / 255 : 1;
  const get = reader(features);
  const x = new Float32Array(n * d);
  if (scale === 1) { for (let i = 0; i < x.length; i++) x[i] = get(i); }
  else for (let i = 0; i < x.length; i++) x[i] = get(i) / 255;
  const imageShape: [number, number, number] | undefined = image
    ? [fs[1], fs[2], fs[3] ?? 1]
    : undefined;
  const base = { name, x, n, d, ...(imageShape ? { imageShape } : {}) };

  const label = reader(labels);
  const values = Array.from({ length: n }, (_, i) => label(i));
  const task = opts.task ?? (labels.kind === "f" ? "regression" : "classification");
  if (task === "regression") {
    return validateDataset({ ...base, task, y: Float32Array.from(values) }, { roles: ROLES });
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(values[i])) {
      throw new DataError(
        `label ${values[i]} at index ${i} of the labels file is not an integer; ` +
          `float labels are regression targets (or pass task regression)`,
        { row: i + 1, role: "labels" },
      );
    }
  }
  // Classes are the distinct label values in increasing order, as for numeric CSV labels.
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  if (distinct.length > MAX_NPY_CLASSES) {
    throw new DataError(
      `the labels file holds ${distinct.length} distinct labels, more than ${MAX_NPY_CLASSES} ` +
        `classes; for regression targets pass task regression`,
      { role: "labels" },
    );
  }
  const index = new Map(distinct.map((v, k) => [v, k]));
  return validateDataset({
    ...base,
    task,
    y: Float32Array.from(values, (v) => index.get(v)!),
    nClasses: distinct.length,
    classNames: distinct.map(String),
  }, { roles: ROLES });
}

/** Which file a problem of the features or of the labels is in. */
const ROLES = { features: "features", labels: "labels" };

/** Decodes a features/labels pair held in memory (gzip or not, each on its own). */
export async function decodeNpyPair(
  featuresBytes: Uint8Array,
  labelsBytes: Uint8Array,
  opts: NpyOptions & { maxBytes?: number } = {},
): Promise<Dataset> {
  const features = await decodeFile("features", featuresBytes, parseNpy, opts.maxBytes);
  const labels = await decodeFile("labels", labelsBytes, parseNpy, opts.maxBytes);
  return npyDataset(features, labels, opts);
}

/** Reads a features/labels pair of .npy (or .npy.gz) files; named after the features file. */
export async function loadNpyPair(
  featuresPath: string,
  labelsPath: string,
  opts: NpyOptions & { maxBytes?: number } = {},
): Promise<Dataset> {
  const name = opts.name ?? fileName(featuresPath);
  const features = await inFile("features", () => readDataFile(featuresPath));
  const labels = await inFile("labels", () => readDataFile(labelsPath));
  return decodeNpyPair(features, labels, { ...opts, name });
}
