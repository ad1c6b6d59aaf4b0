/**
 * IDX files (the format MNIST ships in): an images file and a labels file, plain or gzip.
 *
 * Layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type image datasets use),
 * a dimension count, then one big-endian uint32 per dimension, then the values row-major.
 * Images are [n, rows, cols] (or [n, rows, cols, channels]); labels are [n]. Every check names
 * the file and what it expected, because a user's download is the usual culprit (a truncated
 * file, the two files swapped, an HTML error page saved under the right name).
 */
import type { Dataset } from "./dataset.ts";
import { DataError, inFile } from "./errors.ts";
import { readDataFile } from "./files.ts";
import { validateDataset } from "./validate.ts";
import { readAllLimited } from "./bytes.ts";

const UBYTE = 0x08;
const GZIP = [0x1f, 0x8b];
/** A sanity bound on labels: more distinct classes than this is not an image dataset. */
export const MAX_IDX_CLASSES = 1000;

export interface IdxArray {
  dims: number[];
  values: Uint8Array;
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP[0] && bytes[1] === GZIP[1];
}

/**
 * Compressed bytes fed to the decompressor per write. Deflate expands at most 1032-fold, so one
 * write inflates to at most about 4 MiB: the count stops a bomb within that of the limit. (Given
 * the whole file at once, DecompressionStream inflates all of it in one chunk before anything
 * can be counted: a 4 MB file took 4 GiB.)
 */
const GZIP_SLICE = 4096;

/** Inflates gzip data with the web-standard DecompressionStream, stopping past `maxBytes`. */
export async function gunzip(
  bytes: Uint8Array,
  what: string,
  maxBytes: number,
): Promise<Uint8Array> {
  const inflate = new DecompressionStream("gzip");
  const writer = inflate.writable.getWriter();
  const feeding = (async () => {
    for (let i = 0; i < bytes.length; i += GZIP_SLICE) {
      await writer.ready;
      await writer.write(bytes.subarray(i, i + GZIP_SLICE) as Uint8Array<ArrayBuffer>);
    }
    await writer.close();
  })();
  // A failure to feed (bad data, or reading stopped) surfaces on the reading side.
  feeding.catch(() => {});
  const tooLarge = () =>
    new DataError(`${what} inflates to more than ${maxBytes} bytes, the limit`, {
      tooLarge: true,
    });
  try {
    return await readAllLimited(inflate.readable, maxBytes, tooLarge);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${what} is not valid gzip data: ${(e as Error).message}`);
  } finally {
    await writer.abort().catch(() => {});
  }
}

/** Parses one IDX array of unsigned bytes; `what` names the file in errors. */
export function parseIdx(bytes: Uint8Array, what: string): IdxArray {
  if (bytes.length < 4) throw new DataError(`${what} is too short to be an IDX file`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(
      `${what} does not start with the IDX magic number (two zero bytes); got 0x${hex(bytes[0])}${
        hex(bytes[1])
      }`,
    );
  }
  if (bytes[2] !== UBYTE) {
    throw new DataError(
      `${what} holds IDX type 0x${hex(bytes[2])}; only unsigned bytes (0x08) are supported`,
    );
  }
  const rank = bytes[3];
  if (rank < 1 || rank > 4) throw new DataError(`${what} declares ${rank} dimensions`);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new DataError(`${what} ends inside its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - header;
  if (actual !== expected) {
    throw new DataError(
      `${what} declares dimensions [${dims.join(", ")}] = ${expected} values but holds ${actual}`,
    );
  }
  return { dims, values: bytes.subarray(header) };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}

/** Images in [0, 1] (pixel / 255) and integer labels; classes are 0..max(label). */
export function idxDataset(
  images: IdxArray,
  labels: IdxArray,
  name = "idx",
): Dataset {
  if (images.dims.length < 3) {
    throw new DataError(
      `the images file has ${images.dims.length} dimension(s); expected [n, rows, cols] (are the two files swapped?)`,
      { role: "images" },
    );
  }
  if (labels.dims.length !== 1) {
    throw new DataError(
      `the labels file has dimensions [${labels.dims.join(", ")}]; expected [n]`,
      { role: "labels" },
    );
  }
  const [n, rows, cols, channels = 1] = images.dims;
  if (labels.dims[0] !== n) {
    throw new DataError(
      `the images file holds ${n} images but the labels file ${labels.dims[0]}`,
      { role: "images" },
    );
  }
  const d = rows * cols * channels;
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = images.values[i] / 255;
  const y = Float32Array.from(labels.values);
  let k = 0;
  for (const label of labels.values) k = Math.max(k, label + 1);
  if (k > MAX_IDX_CLASSES) {
    throw new DataError(`the labels file's labels go up to ${k - 1}`, { role: "labels" });
  }
  const counts = new Array<number>(k).fill(0);
  for (const label of labels.values) counts[label]++;
  const empty = counts.flatMap((c, label) => c === 0 ? [label] : []);
  if (empty.length > 0) {
    // Classes are numbered from 0: a label past a gap is most likely a wrong file (all 255s).
    const shown = empty.length > 5 ? `${empty.slice(0, 5).join(", ")}, ...` : empty.join(", ");
    throw new DataError(
      `the labels file's labels go up to ${k - 1}, but ${empty.length} of the classes ` +
        `0..${k - 1} have no image (${shown}); IDX labels number the classes from 0`,
      { role: "labels" },
    );
  }
  return validateDataset({
    name,
    task: "classification",
    x,
    y,
    n,
    d,
    nClasses: k,
    classNames: Array.from({ length: k }, (_, i) => String(i)),
    imageShape: [rows, cols, channels],
  }, { roles: { features: "images", labels: "labels" } });
}

/** Decodes an images/labels pair held in memory (gzip or not, each on its own). */
export async function decodeIdxPair(
  imagesBytes: Uint8Array,
  labelsBytes: Uint8Array,
  opts: { name?: string; maxBytes?: number } = {},
): Promise<Dataset> {
  const images = await decodeFile("images", imagesBytes, parseIdx, opts.maxBytes);
  const labels = await decodeFile("labels", labelsBytes, parseIdx, opts.maxBytes);
  return idxDataset(images, labels, opts.name);
}

/**
 * One file of a pair, inflated if it is gzip (to at most `maxBytes`, 1 GiB by default) and
 * parsed; its errors are said of its role.
 */
export function decodeFile<T>(
  role: string,
  bytes: Uint8Array,
  parse: (bytes: Uint8Array, what: string) => T,
  maxBytes = 1 << 30,
): Promise<T> {
  return inFile(role, async () => {
    const what = `the ${role} file`;
    return parse(isGzip(bytes) ? await gunzip(bytes, what, maxBytes) : bytes, what);
  });
}

/** Reads an images/labels pair from disk. */
export async function loadIdxFiles(
  imagesPath: string,
  labelsPath: string,
  name?: string,
  maxBytes?: number,
): Promise<Dataset> {
  const images = await inFile("images", () => readDataFile(imagesPath));
  const labels = await inFile("labels", () => readDataFile(labelsPath));
  return decodeIdxPair(images, labels, { name, maxBytes });
}
