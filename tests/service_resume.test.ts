/**
 * Durability for real: the service runs as its own process (`main.ts start`, a temporary
 * database), is killed with SIGKILL in the middle of a search once a generation has been
 * checkpointed, and started again on the same database. The search resumes from its last
 * finished generation and ends with the same ranked losses, fitness values and final comparison
 * as an uninterrupted run of the same request and seed.
 */
// deno-lint-ignore-file no-explicit-any
import { assert, assertEquals } from "./support/assert.ts";
import { finished, tinySearch } from "./support/service.ts";
import { type Node, startNode, stopNode } from "./support/nodes.ts";

async function startServer(db: string): Promise<Node> {
  return await startNode(["--db", db, "--workers", "1", "--backend", "wasm"]);
}

async function api(s: Node, path: string, init?: RequestInit): Promise<any> {
  const res = await fetch(s.base + path, init);
  return await res.json();
}

async function waitUntil(s: Node, id: string, until: (j: any) => boolean): Promise<any> {
  const deadline = Date.now() + 180_000;
  while (true) {
    const job = await api(s, `/v1/searches/${id}`);
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const submit = (s: Node, body: unknown) =>
  api(s, "/v1/searches", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** What must not depend on the interruption (timings and ids may). */
function outcome(losses: any) {
  return {
    losses: losses.losses.map((l: any) => [l.canonical, l.fitness, l.phi]),
    final: [losses.final.learned.values, losses.final.standard.values],
    totals: { ...losses.totals, wallMs: undefined },
  };
}

Deno.test({
  name:
    "a search killed with SIGKILL mid-run resumes from its checkpoint and ends as an uninterrupted run",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lossmith-resume-" });
    const db = `${dir}/lossmith.sqlite`;
    const body = tinySearch("iris", {
      budget: { population: 4, generations: 6 },
      evaluation: { screen: { steps: 40 }, localSearch: { metaSteps: 5 }, fitnessSteps: 60 },
      final: { steps: 40, seeds: 2 },
      seed: 3,
    });
    let server = await startServer(db);
    try {
      const job = await submit(server, body);
      const atKill = await waitUntil(
        server,
        job.id,
        (j) => j.progress.generation >= 1 || finished(j),
      );
      server.child.kill("SIGKILL");
      await server.child.status;
      assertEquals(atKill.state, "running", "the search must still be running when it is killed");
      const killedAt = atKill.progress.generation;
      assert(killedAt < 6);

      server = await startServer(db);
      const resumed = await waitUntil(server, job.id, finished);
      assertEquals(resumed.state, "succeeded", JSON.stringify(resumed.error));
      assert(resumed.progress.resumedFrom >= killedAt, JSON.stringify(resumed.progress));
      assert(resumed.progress.resumedFrom < 6, "it resumed mid-search, not after the end");
      const events = await (await fetch(`${server.base}/v1/searches/${job.id}/events`)).text();
      assert(events.includes(`"resumedFrom":${resumed.progress.resumedFrom}`), events);
      // And the service's log says so, in its line for the search's `running` transition.
      const said = server.stdout().split("\n").filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l))
        .find((l) => l.event === "search" && l.id === job.id && l.state === "running");
      assertEquals(
        [said?.resumedFrom, said?.generations],
        [resumed.progress.resumedFrom, 6],
        server.stdout(),
      );

      // The same request and seed, never interrupted.
      const again = await submit(server, body);
      const whole = await waitUntil(server, again.id, finished);
      assertEquals(whole.state, "succeeded");
      assertEquals(whole.progress.resumedFrom, undefined);
      const a = await api(server, `/v1/searches/${job.id}/losses`);
      const b = await api(server, `/v1/searches/${again.id}/losses`);
      assert(a.losses.length > 0);
      assertEquals(outcome(a), outcome(b));
    } finally {
      await stopNode(server);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
