/** Reading dataset files from disk, with the one error every loader gives for a missing file. */
import { DataError } from "./errors.ts";

export async function readDataFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataError(`file not found: ${path}`);
    throw e;
  }
}

export async function readDataText(path: string): Promise<string> {
  return new TextDecoder().decode(await readDataFile(path));
}

/** A dataset's default name: its file's name. */
export function fileName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}
