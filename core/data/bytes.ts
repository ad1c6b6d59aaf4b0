/** Byte streams read whole under a size limit: uploads, downloads and gzip inflation share it. */

/**
 * Reads every chunk of `stream` into one array, throwing `tooLarge()` as soon as the total passes
 * `maxBytes`, not after: a large body or a small gzip bomb never fills memory first. Leaving the
 * loop early cancels a ReadableStream.
 */
export async function readAllLimited(
  stream: AsyncIterable<Uint8Array>,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
