// deno-lint-ignore-file no-explicit-any
/**
 * Two services on one real PostgreSQL database, as two nodes with data folders of their own,
 * over real HTTP: a dataset uploaded to one is read by a search on the other, its files copied
 * there from the database; a cancel sent to either node stops a search wherever it runs; a
 * node's start-up sweep of a shared data folder removes what dead nodes left, never what a live
 * one owns; and a search deleted through one node is gone from the node running it, for good.
 */
import pg from "pg";
import { assert, assertEquals } from "./support/assert.ts";
import { skipReason, type TestDatabase, testDatabase, testServer } from "./support/postgres.ts";
import {
  finished,
  form,
  postJson,
  startTestService,
  type TestService,
  tinySearch,
  waitFor,
} from "./support/service.ts";

const OPTIONS = {
  ignore: skipReason(await testServer()),
  sanitizeOps: false,
  sanitizeResources: false,
};

const CSV = ["a,b,y", ...Array.from({ length: 60 }, (_, i) => `${i % 7},${i % 3},${i % 2}`)]
  .join("\n");

async function node(db: TestDatabase, dataDir?: string): Promise<TestService> {
  const dir = await Deno.makeTempDir({ prefix: "lossmith-pg-node-" });
  return await startTestService({
    databaseUrl: db.url,
    leaseMs: 10_000,
    ...(dataDir ? { dataDir } : {}),
  }, dir);
}

async function database(): Promise<TestDatabase> {
  const db = await testDatabase();
  if ("skip" in db) throw new Error(db.skip);
  return db;
}

Deno.test({
  name: "a dataset uploaded to one node is read by a search that another node runs",
  ...OPTIONS,
  fn: async () => {
    const db = await database();
    const a = await node(db);
    let b: TestService | undefined;
    try {
      b = await node(db);
      const up = await a.json(
        "/v1/datasets",
        form({ file: new Blob([CSV]), target: "y", name: "mod" }),
      );
      assertEquals(up.status, 201, JSON.stringify(up.body));
      const id = up.body.id;
      assertEquals((await b.json(`/v1/datasets/${id}`)).body.name, "mod");
      // Only b is left to compute: every evaluation reads the files it copied from the database.
      await a.close();
      const { body } = await b.json("/v1/searches", postJson(tinySearch(id)));
      const done = await waitFor(b, body.id, finished);
      assertEquals(done.state, "succeeded", JSON.stringify(done.error));
      const copied = [...Deno.readDirSync(`${b.service.config.dataDir}/${id}`)].map((e) => e.name);
      assertEquals(copied, ["file.csv"]);
      const losses = (await b.json(`/v1/searches/${body.id}/losses`)).body;
      assert(losses.losses.length > 0);
    } finally {
      await a.close().catch(() => {});
      await b?.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "a cancel sent to one node stops the search that another node runs",
  ...OPTIONS,
  fn: async () => {
    const db = await database();
    const a = await node(db);
    const b = await node(db);
    try {
      const long = tinySearch("iris", { budget: { population: 6, generations: 500 } });
      const { body } = await a.json("/v1/searches", postJson(long));
      await waitFor(a, body.id, (s) => s.progress.generation >= 1);
      const owners = await Promise.all([a, b].map(async (t) => (await t.json("/healthz")).body));
      const owner = owners.findIndex((h) => h.leases.searches === 1);
      assert(owner >= 0, JSON.stringify(owners));
      const other = [a, b][1 - owner];
      const t0 = performance.now();
      const res = await other.json(`/v1/searches/${body.id}:cancel`, { method: "POST" });
      assert([200, 202].includes(res.status), JSON.stringify(res.body));
      const done = await waitFor(other, body.id, finished, 30_000);
      console.log(
        `cancelled on the other node: stopped in ${(performance.now() - t0).toFixed(0)} ms`,
      );
      assertEquals(done.state, "cancelled");
      const losses = (await other.json(`/v1/searches/${body.id}/losses`)).body;
      assertEquals(losses.stopped, "cancelled");
      assert(losses.losses.length > 0, "its finished generations' losses are kept");
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "the start-up sweep of a shared data folder keeps what a live node owns",
  ...OPTIONS,
  fn: async () => {
    const db = await database();
    const live = await node(db);
    const shared = await Deno.makeTempDir({ prefix: "lossmith-shared-" });
    const put = async (path: string, text = "x") => {
      await Deno.mkdir(`${shared}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${shared}/${path}`, text);
    };
    const liveId = live.service.node.id;
    await put(`.incoming/${liveId}/ds_up/file.csv`); // an upload in progress on the live node
    await put(`.incoming/gone/ds_old/file.csv`); // one a dead node left
    await put(`ds_pending/.pending`, liveId); // renamed into place, record about to be stored
    await put(`ds_orphan/.pending`, "gone"); // the dead node's, never recorded
    await put(`ds_unmarked/file.csv`); // no record, no owner
    let starting: TestService | undefined;
    try {
      starting = await node(db, shared);
      const left = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assertEquals(left(shared), [".incoming", "ds_pending"]);
      assertEquals(left(`${shared}/.incoming`), [liveId]);
      assertEquals(left(`${shared}/.incoming/${liveId}`), ["ds_up"]);
    } finally {
      await starting?.close();
      await live.close();
      await db.drop();
      await Deno.remove(shared, { recursive: true });
    }
  },
});

/** Rows of a search in the storage's tables and in the evaluation queue. */
async function rowsOf(db: TestDatabase, id: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const out: Record<string, number> = {};
    for (const table of ["jobs", "events", "checkpoints", "results"]) {
      const column = table === "jobs" ? "id" : "job_id";
      const { rows } = await client.query(
        `SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = $1`,
        [id],
      );
      out[table] = Number(rows[0].n);
    }
    const { rows } = await client.query(
      "SELECT COUNT(*) AS n FROM pgboss.job WHERE data->>'jobId' = $1",
      [id],
    );
    out.evaluations = Number(rows[0].n);
    return out;
  } finally {
    await client.end();
  }
}

Deno.test({
  name: "a search deleted through one node stops on the node running it, which writes nothing " +
    "of it again; labels filter and uploads deduplicate across nodes",
  ...OPTIONS,
  fn: async () => {
    const db = await database();
    const a = await node(db);
    const b = await node(db);
    try {
      const long = tinySearch("iris", {
        budget: { population: 6, generations: 500 },
        labels: { team: "vision" },
      });
      const { body } = await a.json("/v1/searches", postJson(long));
      await waitFor(a, body.id, (s) => s.progress.generation >= 1);
      // The owner's live progress counts a generation just before its checkpoint commits.
      let before = await rowsOf(db, body.id);
      for (const until = Date.now() + 60_000; before.checkpoints < 1 && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 20));
        before = await rowsOf(db, body.id);
      }
      assert(
        before.jobs === 1 && before.checkpoints >= 1 && before.events > 1,
        JSON.stringify(before),
      );
      assert(before.evaluations > 0, "its evaluations went through the shared queue");
      const owner = [a, b].find((t) => t.service.jobs.running === 1)!;
      const other = owner === a ? b : a;
      assertEquals(
        (await other.json("/v1/searches?label=team:vision")).body.items.map((s: any) => s.id),
        [body.id],
      );

      const res = await other.request(`/v1/searches/${body.id}`, { method: "DELETE" });
      assertEquals(res.status, 204);
      assertEquals((await owner.json(`/v1/searches/${body.id}`)).status, 404);
      const deadline = Date.now() + 15_000;
      while (owner.service.jobs.running > 0) {
        assert(Date.now() < deadline, "the owner stopped it");
        await new Promise((r) => setTimeout(r, 50));
      }
      const none = { jobs: 0, events: 0, checkpoints: 0, results: 0, evaluations: 0 };
      assertEquals(await rowsOf(db, body.id), none);
      // Past the owner's next heartbeats (every lease / 3): nothing of it came back.
      await new Promise((r) => setTimeout(r, 4000));
      assertEquals(await rowsOf(db, body.id), none);
      assertEquals((await owner.json("/healthz")).body.leases, { searches: 0, evaluations: 0 });

      // The same bytes uploaded to each node are one dataset.
      const first = await a.json("/v1/datasets", form({ file: new Blob([CSV]), target: "y" }));
      const again = await b.request("/v1/datasets", form({ file: new Blob([CSV]), target: "y" }));
      assertEquals([first.status, again.status], [201, 200]);
      assertEquals(again.headers.get("deduplicated"), "true");
      assertEquals((await again.json()).id, first.body.id);
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  },
});
