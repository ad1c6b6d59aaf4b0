/**
 * Dataset files written byte by byte as the tools that make them do (numpy.save, the MNIST
 * distribution), for tests that read them from disk or upload them.
 */

/** A .npy file written by hand, as numpy.save lays it out (header padded to 64 bytes). */
export function npy(
  descr: string,
  shape: number[],
  data: ArrayBufferView,
  opts: { version?: 1 | 2 | 3; fortran?: boolean } = {},
): Uint8Array {
  const { version = 1, fortran = false } = opts;
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '${descr}', 'fortran_order': ${
    fortran ? "True" : "False"
  }, 'shape': (${dims}), }`;
  const pre = version === 1 ? 10 : 12;
  header = header.padEnd(Math.ceil((pre + header.length + 1) / 64) * 64 - pre - 1) + "\n";
  const out = new Uint8Array(pre + header.length + data.byteLength);
  out.set([0x93, ..."NUMPY"].map((c) => typeof c === "number" ? c : c.charCodeAt(0)));
  out[6] = version;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pre + header.length);
  return out;
}

/** An IDX file: the type code (0x08 unsigned bytes), its dimensions, then the values. */
export function idx(type: number, dims: number[], values: ArrayLike<number>): Uint8Array {
  const h = new Uint8Array(4 + 4 * dims.length);
  h[2] = type;
  h[3] = dims.length;
  dims.forEach((d, i) => new DataView(h.buffer).setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...h, ...Array.from(values)]);
}

/** A tiny IDX pair: n images of rows x cols, labels 0..classes-1 in turn. */
export function idxPair(
  n: number,
  rows = 4,
  cols = 4,
  classes = 2,
): { images: Uint8Array; labels: Uint8Array } {
  return {
    images: idx(
      8,
      [n, rows, cols],
      Array.from({ length: n * rows * cols }, (_, i) => (i * 37) % 256),
    ),
    labels: idx(8, [n], Array.from({ length: n }, (_, i) => i % classes)),
  };
}

export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * A large IDX pair, written directly into one buffer (`idx` spreads arrays, too slow for
 * millions of values): n images of rows x cols with hashed pixels, labels 0..classes-1 in turn.
 */
export function largeIdxPair(
  n: number,
  rows = 28,
  cols = 28,
  classes = 10,
): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(16 + n * rows * cols);
  const view = new DataView(images.buffer);
  images[2] = 8;
  images[3] = 3;
  [n, rows, cols].forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 16; i < images.length; i++) images[i] = Math.imul(i, 2654435761) >>> 24;
  const labels = new Uint8Array(8 + n);
  labels[2] = 8;
  labels[3] = 1;
  new DataView(labels.buffer).setUint32(4, n, false);
  for (let i = 0; i < n; i++) labels[8 + i] = i % classes;
  return { images, labels };
}
