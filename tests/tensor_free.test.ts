/**
 * The boundary between the tensor-free core and the tensor engine is structural: code that the
 * service's main thread, the API, the store or the dataset inspector run must never load
 * TensorFlow.js, at import time or later. The module graph (`deno info`) is followed along
 * runtime imports only (type imports are erased), from every such file; reaching engine/ or a
 * @tensorflow package fails, naming the chain of imports.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./support/assert.ts";

const ROOT = new URL("..", import.meta.url);

/** Folders whose every file is tensor-free, and the tensor-free files of mixed folders. */
const TENSOR_FREE = ["core/", "api/", "service/", "store/", "openapi/", "report/", "dashboard/"];
const ALSO = [
  "workers/pool.ts",
  "workers/protocol.ts",
  "workers/inspect.ts",
  "workers/inspect_worker.ts",
  "cli/start.ts",
  "cli/keys.ts",
  "cli/args.ts",
  "cli/summary.ts",
  "cli/default_search.ts",
  "cli/settings_doc.ts",
];

interface Module {
  specifier: string;
  dependencies?: { code?: { specifier: string } }[];
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(new URL(dir, ROOT))) {
    if (e.isDirectory) out.push(...await tsFiles(`${dir}${e.name}/`));
    else if (e.name.endsWith(".ts")) out.push(`${dir}${e.name}`);
  }
  return out;
}

async function graph(roots: string[]): Promise<Map<string, Module>> {
  const modules = new Map<string, Module>();
  // One `deno info` per root: it prints one root's graph.
  for (const root of roots) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      cwd: fileURLToPath(ROOT),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: Module[] };
    for (const m of info.modules) modules.set(m.specifier, m);
  }
  return modules;
}

Deno.test("the tensor-free parts never load TensorFlow.js or engine/", async () => {
  const files = [...(await Promise.all(TENSOR_FREE.map(tsFiles))).flat(), ...ALSO];
  assert(files.length > 60, `only ${files.length} files found`);
  const modules = await graph(files);
  const engine = new URL("engine/", ROOT).href;
  const offending: string[] = [];
  for (const file of files) {
    const start = new URL(file, ROOT).href;
    // Breadth first along runtime imports, remembering how each module was reached.
    const via = new Map<string, string | undefined>([[start, undefined]]);
    const queue = [start];
    while (queue.length) {
      const at = queue.shift()!;
      if (at.startsWith(engine) || /@tensorflow/.test(at)) {
        const chain: string[] = [];
        for (let m: string | undefined = at; m; m = via.get(m)) chain.unshift(m);
        offending.push(chain.map((m) => m.replace(new URL(".", ROOT).href, "")).join(" -> "));
        break;
      }
      for (const d of modules.get(at)?.dependencies ?? []) {
        const next = d.code?.specifier;
        if (next && !via.has(next)) {
          via.set(next, at);
          queue.push(next);
        }
      }
    }
  }
  assertEquals(offending, []);
});
