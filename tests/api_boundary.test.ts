/**
 * api/ talks to service/ only: no file under it imports from store/ or reaches the store through
 * the service (`service.storage`). Read as text, so that a new route file is checked too.
 */
import { assert, assertEquals } from "./support/assert.ts";

const API = new URL("../api/", import.meta.url);

async function sources(dir: URL): Promise<URL[]> {
  const out: URL[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) out.push(...await sources(url));
    else if (entry.name.endsWith(".ts")) out.push(url);
  }
  return out;
}

/** Static and dynamic imports of a path with a `store` folder in it. */
const STORE_IMPORT = /(?:from|import)\s*\(?\s*["'][^"']*\bstore\/[^"']*["']/;

Deno.test("no file under api/ imports from store/ or mentions service.storage", async () => {
  const files = await sources(API);
  assert(files.length >= 10, `only ${files.length} files found under api/`);
  const offending: string[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    const name = file.pathname.slice(API.pathname.length);
    if (STORE_IMPORT.test(text)) offending.push(`${name} imports from store/`);
    if (/service\s*\.\s*stor(e|age)\b/.test(text)) {
      offending.push(`${name} mentions service.storage`);
    }
  }
  assertEquals(offending, []);
});

Deno.test("the boundary check sees the imports it forbids", () => {
  assert(STORE_IMPORT.test(`import type { JobRecord } from "../store/mod.ts";`));
  assert(STORE_IMPORT.test(`import { JOB_STATES } from '../../store/types.ts';`));
  assert(STORE_IMPORT.test(`const m = await import("../store/jobs.ts");`));
  assert(!STORE_IMPORT.test(`import type { JobRecord } from "../service/types.ts";`));
});
