/**
 * One service per SQLite file: a second `main.ts start` on a database a running service holds is
 * refused at start, with a message naming the holder, and exits; the running one is untouched
 * and `deno task keys` still works beside it. In one process, a second Service on the file is
 * refused the same way.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { startTestService } from "./support/service.ts";
import { Service } from "../service/mod.ts";
import { testConfig } from "./support/service.ts";
import { spawnNode, startNode, stopNode } from "./support/nodes.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const flags = (db: string) => ["--db", db, "--workers", "1", "--backend", "cpu"];

Deno.test({
  name: "a second service process on the same SQLite file is refused at start, naming the first",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lossmith-refusal-" });
    const db = `${dir}/lossmith.sqlite`;
    const first = await startNode(flags(db));
    try {
      const base = first.base;
      const second = spawnNode(flags(db));
      second.stdout.pipeTo(new WritableStream());
      const t0 = performance.now();
      const [status, stderr] = await Promise.all([
        second.status,
        new Response(second.stderr).text(),
      ]);
      const ms = performance.now() - t0;
      console.log(`second process refused after ${ms.toFixed(0)} ms: ${stderr.trim()}`);
      assertEquals(status.code, 1, stderr);
      assert(
        /in use by another Lossmith service \(pid \d+ on .+\)/.test(stderr),
        `the message names the holder: ${stderr}`,
      );
      assert(/PostgreSQL/.test(stderr), "and says how to run several nodes");

      // The first one still answers, and keys can be managed beside it.
      assertEquals((await fetch(`${base}/healthz`).then((r) => r.json())).status, "ok");
      const keys = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "keys", "create", "ops", "--db", db],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(keys.success, new TextDecoder().decode(keys.stderr));
      assertEquals((await fetch(`${base}/healthz`).then((r) => r.json())).auth, "api-keys");
    } finally {
      await stopNode(first);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "in one process, a second service on the same SQLite file is refused too",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestService();
    try {
      const e = await assertRejects(
        () => Service.start(testConfig(t.dir)),
        /in use by another Lossmith service/,
      );
      assertEquals(e.name, "StorageInUse");
    } finally {
      await t.close();
    }
    // Once the first has stopped, the file is free again.
    const again = await startTestService({}, t.dir);
    await again.close();
    await Deno.remove(t.dir, { recursive: true });
  },
});
