/** Reading dataset files from disk, with the one error every loader gives for a missing file. */
import { DataError } from "./errors.ts";

function missing(e: unknown, path: string): unknown {
  return e instanceof Deno.errors.NotFound ? new DataError(`file not found: ${path}`) : e;
}

export async function readDataFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw missing(e, path);
  }
}

export async function readDataText(path: string): Promise<string> {
  return new TextDecoder().decode(await readDataFile(path));
}

/** The first `n` bytes of a file (fewer if it is shorter): enough to tell its format. */
export async function readDataHead(path: string, n: number): Promise<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    throw missing(e, path);
  }
  try {
    const head = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const read = await file.read(head.subarray(got));
      if (read === null) break;
      got += read;
    }
    return head.subarray(0, got);
  } finally {
    file.close();
  }
}

/** A dataset's default name: its file's name. */
export function fileName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}
