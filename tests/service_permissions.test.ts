/**
 * Least privilege: the service runs with the permissions `deno task start` gives it (deno.json),
 * in a real process (tests/support/nodes.ts starts every node so), and a search runs to its end:
 * on the SQLite file, and on PostgreSQL, where two nodes share the database and a key revoked
 * with the keys command stops the key's search on whichever node runs it. The task's paths name
 * the default database (./lossmith.sqlite, its lock and its files folder); here they name a
 * temporary one, the only change. The Dockerfile grants the same kinds of permission, and
 * neither grants everything.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tinySearch } from "./support/service.ts";
import { type Node, startNode, startTaskFlags, stopNode, untilFinished } from "./support/nodes.ts";
import { skipReason, testDatabase, testServer } from "./support/postgres.ts";
import { openStorage } from "../store/mod.ts";

const ROOT = new URL("..", import.meta.url);
const PROCESS_TEST = { sanitizeResources: false, sanitizeOps: false };
/** A permission refused shows on stderr as one of these. */
const REFUSED = /Requires .* access|NotCapable|PermissionDenied/;

const kinds = (flags: string[]) => [...new Set(flags.map((f) => f.split("=")[0]))].sort();

Deno.test("the start task and the Dockerfile grant the same kinds of permission, not all", () => {
  const flags = startTaskFlags({ db: "/tmp/x.sqlite", dataDir: "/tmp/x.files" });
  for (const f of flags) {
    assert(!/^(-A|--allow-all|--allow-run|--allow-import)/.test(f), `too much: ${f}`);
    // --ignore-env grants nothing: the variables not allowed read as unset.
    assert(f.startsWith("--allow-") || f === "--ignore-env", f);
    assert(!/^--allow-(env|read|write|ffi|sys)$/.test(f), `unscoped: ${f}`);
  }
  const docker = Deno.readTextFileSync(new URL("Dockerfile", ROOT));
  const cmd = /^CMD \[(.*?)\]$/ms.exec(docker)![1].replace(/\\\n/g, "");
  const dockerFlags = [...cmd.matchAll(/"(--(?:allow|ignore)-[^"]*)"/g)].map((m) => m[1]);
  assertEquals(kinds(dockerFlags), kinds(flags));
  assert(!/"-A"/.test(cmd), "the image does not grant everything");
});

async function runSearch(base: string, headers: HeadersInit = {}) {
  const created = await fetch(`${base}/v1/searches`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(tinySearch("iris")),
  });
  assertEquals(created.status, 202);
  const search = await untilFinished(base, (await created.json()).id, headers);
  assertEquals(search.state, "succeeded", JSON.stringify(search.error));
  assertEquals(search.failures, []);
  const losses = await (await fetch(`${base}/v1/searches/${search.id}/losses`, { headers }))
    .json();
  assert(losses.losses.length > 0);
}

/** Stops the node; it must have exited cleanly, no permission refused on the way. */
async function stopClean(node: Node): Promise<void> {
  const { code, stderr } = await stopNode(node);
  assert(!REFUSED.test(stderr), stderr);
  assert(!REFUSED.test(node.stdout()), node.stdout());
  assertEquals(code, 0, stderr);
}

Deno.test({
  name: "the service runs a search with exactly the permissions of `deno task start`",
  ...PROCESS_TEST,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lossmith-perm-" });
    const node = await startNode(
      ["--db", `${dir}/lossmith.sqlite`, "--workers", "1", "--backend", "wasm"],
    );
    try {
      const health = await (await fetch(`${node.base}/healthz`)).json();
      assertEquals([health.status, health.backend, health.storage], ["ok", "wasm", "sqlite"]);
      await runSearch(node.base);
    } finally {
      await stopClean(node);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "on PostgreSQL, nodes with the start task's permissions: a search, a revoked key's search",
  ignore: skipReason(await testServer()),
  ...PROCESS_TEST,
  fn: async () => {
    const db = await testDatabase();
    if ("skip" in db) throw new Error(db.skip);
    const dir = await Deno.makeTempDir({ prefix: "lossmith-perm-pg-" });
    const storage = await openStorage({ db: "", databaseUrl: db.url });
    const nodes: Node[] = [];
    try {
      const { id: keyId, token } = await storage.keys.create("mallory");
      const alice = (await storage.keys.create("alice")).token;
      for (const name of ["p1", "p2"]) {
        nodes.push(
          await startNode([
            ...["--database-url", db.url, "--node-id", name, "--data-dir", `${dir}/${name}`],
            ...["--workers", "1", "--backend", "wasm", "--lease", "10"],
          ]),
        );
      }
      const health = await (await fetch(`${nodes[1].base}/healthz`)).json();
      assertEquals([health.status, health.storage, health.nodes], ["ok", "postgres", 2]);
      assertEquals(
        health.cluster.map((n: { node: string; status: string }) => [n.node, n.status]),
        [["p1", "ok"], ["p2", "ok"]],
      );
      await runSearch(nodes[0].base, { authorization: `Bearer ${alice}` });

      // A long search of mallory's, submitted to p1: whichever node runs it stops it.
      const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const long = tinySearch("iris", { budget: { population: 8, generations: 200 } });
      const created = await (await fetch(`${nodes[0].base}/v1/searches`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify(long),
      })).json();
      const deadline = Date.now() + 120_000;
      while ((await storage.jobs.getById(created.id))!.progress.generation < 1) {
        assert(Date.now() < deadline, "the search did not get going");
        await new Promise((r) => setTimeout(r, 100));
      }
      const t0 = performance.now();
      const cli = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "main.ts", "keys", "revoke", keyId, "--database-url", db.url],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(cli.success, new TextDecoder().decode(cli.stderr));
      assert(
        /1 queued or running search\(es\) cancelled/.test(new TextDecoder().decode(cli.stdout)),
      );
      // The owner was told by NOTIFY: no heartbeat (a third of the 10 s lease) is needed.
      let job = (await storage.jobs.getById(created.id))!;
      while (job.state !== "cancelled") {
        assert(performance.now() - t0 < 30_000, `not cancelled: ${job.state}`);
        await new Promise((r) => setTimeout(r, 50));
        job = (await storage.jobs.getById(created.id))!;
      }
      console.log(
        `revoke -> search cancelled on its node: ${(performance.now() - t0).toFixed(0)} ms`,
      );
      const refused = await fetch(`${nodes[1].base}/v1/searches`, { headers: auth });
      assertEquals(refused.status, 401);
      await refused.body?.cancel();
    } finally {
      for (const n of nodes) await stopClean(n);
      await storage.close();
      await db.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
