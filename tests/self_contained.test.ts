/**
 * The repository stands on its own: a user clones it and has nothing beside it, so no tracked
 * file may point into the parent folder's `shared` notes (the method, the benchmark reference).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./support/assert.ts";

// Built from pieces so that this file does not contain the text it looks for.
const NEEDLE = [".", ".", "/", "shared"].join("");

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function trackedFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`git ls-files failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout).split("\0").filter(Boolean);
}

Deno.test(`no tracked file refers to ${NEEDLE}`, async () => {
  const files = await trackedFiles();
  // Vacuous without the checkout's files (git missing, or run outside the repository).
  assert(files.length > 100 && files.includes("README.md"), `only ${files.length} files listed`);
  const offending: string[] = [];
  for (const path of files) {
    let text: string;
    try {
      // Non-fatal decoding: binary files are searched too, as bytes mapped to text.
      text = new TextDecoder().decode(await Deno.readFile(join(ROOT, path)));
    } catch (e) {
      // Deleted in the working tree but not yet in the index: nothing left to check.
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    text.split("\n").forEach((line, i) => {
      if (line.includes(NEEDLE)) offending.push(`${path}:${i + 1}: ${line.trim()}`);
    });
  }
  assertEquals(offending, [], `files refer to ${NEEDLE}:\n${offending.join("\n")}`);
});
