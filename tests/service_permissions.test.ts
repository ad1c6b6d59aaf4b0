/**
 * Least privilege: the service runs with the permissions `deno task start` gives it (deno.json),
 * in a real process, and a search runs to its end. The task's paths name the default database
 * (./lossmith.sqlite and its files folder); here they name a temporary one, the only change.
 * The Dockerfile grants the same kinds of permission, and neither grants everything.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tinySearch } from "./support/service.ts";
import { spawnService, untilFinished } from "./support/process.ts";

const ROOT = new URL("..", import.meta.url);

/** The permission flags of `deno task start`, its database paths moved into `dir`. */
function startFlags(dir: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const words = (config.tasks.start as string).split(/\s+/);
  assertEquals(words.slice(0, 2), ["deno", "run"]);
  assertEquals(words.slice(-2), ["main.ts", "start"]);
  return words.slice(2, -2).map((flag) => {
    const m = /^(--allow-(?:read|write))=(.*)$/.exec(flag);
    if (!m) return flag;
    const paths = m[2].split(",").map((p) => p.startsWith("lossmith.sqlite") ? `${dir}/${p}` : p);
    return `${m[1]}=${paths.join(",")}`;
  });
}

const kinds = (flags: string[]) => [...new Set(flags.map((f) => f.split("=")[0]))].sort();

Deno.test("the start task and the Dockerfile grant the same kinds of permission, not all", () => {
  const flags = startFlags("/tmp");
  for (const f of flags) {
    assert(!/^(-A|--allow-all|--allow-run|--allow-import)/.test(f), `too much: ${f}`);
    assert(f.startsWith("--allow-"), f);
  }
  const docker = Deno.readTextFileSync(new URL("Dockerfile", ROOT));
  const cmd = /^CMD \[(.*?)\]$/ms.exec(docker)![1].replace(/\\\n/g, "");
  const dockerFlags = [...cmd.matchAll(/"(--allow-[^"]*)"/g)].map((m) => m[1]);
  assertEquals(kinds(dockerFlags), kinds(flags));
  assert(!/"-A"/.test(cmd), "the image does not grant everything");
});

Deno.test({
  name: "the service runs a search with exactly the permissions of `deno task start`",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lossmith-perm-" });
    const service = await spawnService(startFlags(dir), [
      ...["--db", `${dir}/lossmith.sqlite`, "--workers", "1", "--backend", "wasm"],
      ...["--default-search", "false"],
    ]);
    try {
      const base = service.base;
      const health = await (await fetch(`${base}/healthz`)).json();
      assertEquals([health.status, health.backend], ["ok", "wasm"]);
      const created = await fetch(`${base}/v1/searches`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(tinySearch("iris")),
      });
      assertEquals(created.status, 202);
      const search = await untilFinished(base, (await created.json()).id);
      assertEquals(search.state, "succeeded", JSON.stringify(search.error));
      assertEquals(search.failures, []);
      const losses = await (await fetch(`${base}/v1/searches/${search.id}/losses`)).json();
      assert(losses.losses.length > 0);
    } finally {
      const { code, stderr } = await service.stop();
      assert(!/Requires .* access|NotCapable|PermissionDenied/.test(stderr), stderr);
      assertEquals(code, 0, stderr);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
