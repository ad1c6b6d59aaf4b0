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
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + values.length);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => new DataView(out.buffer).setUint32(4 + 4 * i, d, false));
  out.set(values, header);
  return out;
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

/** A large IDX pair: n images of rows x cols with hashed pixels, labels 0..classes-1 in turn. */
export function largeIdxPair(
  n: number,
  rows = 28,
  cols = 28,
  classes = 10,
): { images: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(n * rows * cols);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.imul(i + 16, 2654435761) >>> 24;
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % classes;
  return { images: idx(8, [n, rows, cols], pixels), labels: idx(8, [n], labels) };
}
