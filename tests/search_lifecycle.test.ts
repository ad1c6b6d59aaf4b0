// deno-lint-ignore-file no-explicit-any
/**
 * The lifecycle of searches over real HTTP on a real port and a real SQLite file: names and
 * labels (stored, returned, filtered with pages still whole, changed by a merge patch), query
 * parameters no operation takes refused by name, deleting a search with everything stored of it
 * (a running one cancelled first), the retention sweep, and uploads kept once per content.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  expectProblem,
  finished,
  form,
  postJson,
  problemOf,
  readEvents,
  startTestService,
  tableCounts,
  type TestService,
  tinySearch,
  waitFor,
} from "./support/service.ts";
import type { SqliteStorage } from "../store/sqlite/mod.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };

/** Long enough to still be running whenever the test looks. */
const LONG = tinySearch("iris", {
  budget: { population: 6, generations: 500 },
  final: { seeds: 0 },
});

/** Done in a generation, with no final comparison: the quickest search that ends. */
const QUICK = tinySearch("iris", {
  budget: { population: 4, generations: 1 },
  final: { seeds: 0 },
});

const CSV = ["a,b,y", ...Array.from({ length: 40 }, (_, i) => `${i % 7},${i % 3},${i % 2}`)]
  .join("\n");

/** Every page of a list, `limit` at a time, following the Link header as a client would. */
async function allPages(t: TestService, first: string, key?: string): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined = first;
  while (next) {
    const res = await t.request(next, { key });
    assertEquals(res.status, 200, next);
    ids.push(...(await res.json()).items.map((s: any) => s.id));
    next = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
  }
  return ids;
}

Deno.test({
  name: "names and labels: stored, returned, filtered with whole pages, changed by a merge patch",
  ...SERVICE_TEST,
  fn: async () => {
    // One running at a time: the others wait queued, which filters do not mind.
    const t = await startTestService({ maxRunningJobs: 1 });
    try {
      const made: { id: string }[] = [];
      const specs: { name?: string; labels?: Record<string, string> }[] = [
        { name: "resnet", labels: { team: "vision", tier: "gold" } },
        { name: "resnet", labels: { team: "audio" } },
        { labels: { team: "vision" } },
        { name: "resnet", labels: { team: "vision" } },
        { name: "bert" },
      ];
      for (const spec of specs) {
        const res = await t.json("/v1/searches", postJson({ ...LONG, ...spec }));
        assertEquals(res.status, 202, JSON.stringify(res.body));
        assertEquals([res.body.name, res.body.labels], [spec.name ?? null, spec.labels ?? {}]);
        assertEquals(res.body.continues, null);
        made.push({ id: res.body.id, ...spec });
      }
      const got = (await t.json(`/v1/searches/${made[0].id}`)).body;
      assertEquals([got.name, got.labels], ["resnet", { team: "vision", tier: "gold" }]);
      // Not part of the settings: the configuration has neither.
      assert(!("name" in got.config) && !("labels" in got.config), JSON.stringify(got.config));

      const ids = (...i: number[]) => i.map((n) => made[n].id);
      for (const limit of [1, 2, 100]) {
        assertEquals(
          await allPages(t, `/v1/searches?label=team:vision&limit=${limit}`),
          ids(3, 2, 0),
          `limit ${limit}`,
        );
        assertEquals(await allPages(t, `/v1/searches?name=resnet&limit=${limit}`), ids(3, 1, 0));
        assertEquals(
          await allPages(t, `/v1/searches?name=resnet&label=team:vision&label=tier&limit=${limit}`),
          ids(0),
        );
      }
      assertEquals(await allPages(t, "/v1/searches?label=team&limit=2"), ids(3, 2, 1, 0));
      assertEquals(await allPages(t, "/v1/searches?label=team:visio"), [], "values match whole");
      assertEquals(await allPages(t, `/v1/searches?name=${encodeURIComponent("res")}`), []);
      assertEquals(await allPages(t, "/v1/searches?state=succeeded&name=resnet"), []);

      // Changed by a merge patch: a label given is set, null removes one, the others stay.
      const patch = (body: unknown, type = "application/merge-patch+json") => ({
        method: "PATCH",
        headers: { "content-type": type },
        body: JSON.stringify(body),
      });
      const changed = await t.json(
        `/v1/searches/${made[1].id}`,
        patch({ name: "resnet-50", labels: { team: null, owner: "ana" } }),
      );
      assertEquals(changed.status, 200, JSON.stringify(changed.body));
      assertEquals([changed.body.name, changed.body.labels], ["resnet-50", { owner: "ana" }]);
      assertEquals(
        (await t.json(`/v1/searches/${made[1].id}`, patch({ name: null }, "application/json")))
          .body.name,
        null,
      );
      assertEquals(await allPages(t, "/v1/searches?label=owner:ana"), ids(1));
      assertEquals(await allPages(t, "/v1/searches?name=resnet"), ids(3, 0));

      // Refusals name the field at fault.
      await expectProblem(
        t,
        "/v1/searches",
        postJson({ ...QUICK, labels: { Team: "x" } }),
        422,
        { pointer: "/labels/Team" },
      );
      await expectProblem(t, "/v1/searches", postJson({ ...QUICK, labels: { team: "a b" } }), 422, {
        pointer: "/labels/team",
      });
      await expectProblem(t, "/v1/searches", postJson({ ...QUICK, name: "x".repeat(101) }), 422, {
        pointer: "/name",
      });
      await expectProblem(t, "/v1/searches", postJson({ ...QUICK, name: "a\nb" }), 422, {
        pointer: "/name",
      });
      const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"]));
      await expectProblem(t, "/v1/searches", postJson({ ...QUICK, labels: many }), 422, {
        pointer: "/labels",
      });
      // A patch may not push the labels past the limit either; nothing changes then.
      const most = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, "v"]));
      await expectProblem(
        t,
        `/v1/searches/${made[0].id}`,
        patch({ labels: most }),
        422,
        { pointer: "/labels" },
      );
      assertEquals((await t.json(`/v1/searches/${made[0].id}`)).body.labels, {
        team: "vision",
        tier: "gold",
      });
      await expectProblem(t, `/v1/searches/${made[0].id}`, patch({}), 422);
      await expectProblem(
        t,
        "/v1/searches?label=Team:vision",
        {},
        422,
        { parameter: "label" },
      );
      await expectProblem(t, `/v1/searches/srch_nothing`, patch({ name: "x" }), 404);
      for (const m of made) {
        await t.request(`/v1/searches/${m.id}:cancel`, { method: "POST" }).then((r) =>
          r.body?.cancel()
        );
      }
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "query parameters an operation does not take are refused on every route, by name",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const id = (await t.json("/v1/searches", postJson(QUICK))).body.id;
      const upload = (await t.json("/v1/datasets", form({ file: new Blob([CSV]), target: "y" })))
        .body;
      // Every operation the document lists, by its declared parameters: one it does not take.
      const doc = (await t.json("/openapi.json")).body;
      const concrete = (path: string) =>
        path.replace("{rank}", "1").replace("{format}", "json").replace("{name}", "app.js")
          .replace(/\{id\}/, path.startsWith("/v1/datasets") ? upload.id : id);
      let checked = 0;
      const pages = ["/", "/docs"];
      for (const [path, item] of Object.entries<any>(doc.paths)) {
        for (const [method, op] of Object.entries<any>(item)) {
          if (method === "delete") {
            assert(op.responses["400"], `${method} ${path} declares its 400`);
            continue; // deleting is checked apart, below
          }
          const url = `${concrete(path)}${path.includes("?") ? "&" : "?"}colour=blue&verbose`;
          const res = await t.request(url, { method: method.toUpperCase() });
          if (pages.includes(path)) {
            // A page for browsers: links carry their own parameters (campaign tags).
            assertEquals([res.status, op.responses["400"]], [200, undefined], path);
            assert(res.headers.get("content-type")?.startsWith("text/html"), path);
            await res.body?.cancel();
            checked++;
            continue;
          }
          assert(op.responses["400"], `${method} ${path} declares its 400`);
          assertEquals(res.status, 400, `${method} ${path}`);
          const p = await problemOf(res);
          assertEquals(p.type, "/docs#problem-unknown-parameter");
          assertEquals(p.errors.map((e: any) => e.parameter), ["colour", "verbose"]);
          assert(p.detail.includes("colour is not a parameter"), p.detail);
          checked++;
        }
      }
      assert(checked >= 15, `${checked} operations`);
      // Nothing was done by the refused requests: the search is still there, not cancelled.
      const res = await t.request(`/v1/searches/${id}?force=true`, { method: "DELETE" });
      assertEquals(res.status, 400);
      await res.body?.cancel();
      assertEquals((await t.json(`/v1/searches/${id}`)).status, 200);
      // The parameters it takes are named; one given twice where it takes one value is refused.
      const p = await expectProblem(t, "/v1/searches?state=queued&state=running", {}, 422, {
        parameter: "state",
      });
      assert(p.detail.includes("given 2 times"), p.detail);
      const datasets = await expectProblem(t, "/v1/datasets?sort=name", {}, 400, {
        parameter: "sort",
      });
      assert(datasets.detail.includes("it takes limit, cursor"), datasets.detail);
      const health = await expectProblem(t, "/healthz?x=1", {}, 400, { parameter: "x" });
      assert(health.detail.includes("it takes none"), health.detail);
      // Declared ones still work.
      assertEquals((await t.json("/v1/searches?limit=1&state=queued")).status, 200);
      await waitFor(t, id, finished);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a deleted search goes with everything stored of it; a running one is cancelled first",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const alice = (await t.service.storage.keys.create("alice")).token;
      const bob = (await t.service.storage.keys.create("bob")).token;
      const empty = tableCounts(t.service);
      // A finished search, with its result, checkpoint, events and report.
      const done = (await t.json("/v1/searches", { ...postJson(QUICK), key: alice })).body;
      assertEquals((await waitFor(t, done.id, finished, 120_000, alice)).state, "succeeded");
      assertEquals((await t.request(`/v1/searches/${done.id}/report`, { key: alice })).status, 200);
      // Another key's search is not found, nor changed, nor listed, and stays.
      const res = await t.request(`/v1/searches/${done.id}`, { method: "DELETE", key: bob });
      assertEquals(res.status, 404);
      await res.body?.cancel();
      await expectProblem(t, `/v1/searches/${done.id}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ labels: { team: "bob" } }),
        key: bob,
      }, 404);
      assertEquals((await t.json("/v1/searches?label=team", { key: bob })).body.items, []);
      assertEquals((await t.json(`/v1/searches/${done.id}`, { key: alice })).body.labels, {});
      const del = await t.request(`/v1/searches/${done.id}`, { method: "DELETE", key: alice });
      assertEquals(del.status, 204);
      assertEquals(await del.text(), "");
      for (const path of ["", "/events", "/losses", "/result", "/report", "/candidates"]) {
        const r = await t.request(`/v1/searches/${done.id}${path}`, { key: alice });
        assertEquals(r.status, 404, path);
        await r.body?.cancel();
      }
      const again = await t.request(`/v1/searches/${done.id}`, { method: "DELETE", key: alice });
      assertEquals(again.status, 404, "deleted once");
      await again.body?.cancel();
      assertEquals({ ...tableCounts(t.service), api_keys: empty.api_keys }, empty);

      // A running one, followed by an event stream: cancelled, deleted, its stream ends.
      const running = (await t.json("/v1/searches", { ...postJson(LONG), key: alice })).body;
      await waitFor(t, running.id, (s) => s.progress.generation >= 1, 120_000, alice);
      const stream = t.request(`/v1/searches/${running.id}/events`, { key: alice });
      const gone = await t.request(`/v1/searches/${running.id}`, { method: "DELETE", key: alice });
      assertEquals(gone.status, 204);
      await gone.body?.cancel();
      const events = await readEvents(await stream);
      assert(events.length > 0 && events.every((e) => e.id > 0), "the stream ended");
      assertEquals(t.service.jobs.running, 0, "no longer running here");
      assertEquals({ ...tableCounts(t.service), api_keys: empty.api_keys }, empty);
      // Nothing of it is written back afterwards (its run wrote under a lease the delete ended).
      await new Promise((r) => setTimeout(r, 500));
      assertEquals({ ...tableCounts(t.service), api_keys: empty.api_keys }, empty);
      assertEquals((await t.json("/v1/searches", { key: alice })).body.items, []);

      // A queued one too (one running slot, taken).
      const queued = await Promise.all(
        [LONG, QUICK].map(async (b) =>
          (await t.json("/v1/searches", { ...postJson(b), key: alice })).body
        ),
      );
      const q = await t.request(`/v1/searches/${queued[1].id}`, { method: "DELETE", key: alice });
      assertEquals(q.status, 204);
      await q.body?.cancel();
      const q0 = await t.request(`/v1/searches/${queued[0].id}`, { method: "DELETE", key: alice });
      assertEquals(q0.status, 204);
      await q0.body?.cancel();
      assertEquals({ ...tableCounts(t.service), api_keys: empty.api_keys }, empty);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "retention: the sweep deletes finished searches older than the setting, never others",
  ...SERVICE_TEST,
  fn: async () => {
    let t = await startTestService({ retentionDays: 7 });
    const dir = t.dir;
    let old: string, recent: string, running: string;
    try {
      old = (await t.json("/v1/searches", postJson(QUICK))).body.id;
      recent = (await t.json("/v1/searches", postJson(QUICK))).body.id;
      await waitFor(t, old, finished);
      await waitFor(t, recent, finished);
      running = (await t.json("/v1/searches", postJson(LONG))).body.id;
      await waitFor(t, running, (s) => s.state === "running");
      const day = 24 * 3600_000;
      assertEquals(await t.service.jobs.sweepExpired(Date.now() + 6 * day), [], "not yet");
      // The old one ended ten days ago, as the database would say after ten days.
      const at = new Date(Date.now() - 10 * day).toISOString();
      (t.service.storage as SqliteStorage).db.run(
        "UPDATE jobs SET finished_at = :at WHERE id = :id",
        { at, id: old },
      );
      assertEquals(await t.service.jobs.sweepExpired(), [old]);
      assertEquals((await t.json(`/v1/searches/${old}`)).status, 404);
      assertEquals((await t.json(`/v1/searches/${recent}`)).body.state, "succeeded");
      // Eight days on, the recent one has expired too; a running search never does.
      assertEquals(await t.service.jobs.sweepExpired(Date.now() + 8 * day), [recent]);
      assertEquals((await t.json(`/v1/searches/${running}`)).body.state, "running");
      const c = await t.request(`/v1/searches/${running}:cancel`, { method: "POST" });
      await c.body?.cancel();
      (t.service.storage as SqliteStorage).db.run(
        "UPDATE jobs SET finished_at = :at WHERE id = :id",
        { at, id: running },
      );
    } finally {
      await t.close();
    }
    // The service sweeps when it starts (then hourly): the cancelled one is ten days old.
    t = await startTestService({ retentionDays: 7 }, dir);
    try {
      const deadline = Date.now() + 10_000;
      while ((await t.json(`/v1/searches/${running}`)).status !== 404) {
        assert(Date.now() < deadline, "swept at start");
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await t.close();
    }
    // With no retention (the default) nothing is ever swept.
    t = await startTestService({}, dir);
    try {
      const id = (await t.json("/v1/searches", postJson(QUICK))).body.id;
      await waitFor(t, id, finished);
      assertEquals(await t.service.jobs.sweepExpired(Date.now() + 3650 * 24 * 3600_000), []);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "an upload of the same content is the dataset there is: 200, Deduplicated, same id",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({ url: { timeoutMs: 5000, allowPrivate: true } });
    try {
      const alice = (await t.service.storage.keys.create("alice")).token;
      const bob = (await t.service.storage.keys.create("bob")).token;
      const upload = (fields: Record<string, string | Blob>, key = alice) =>
        t.request("/v1/datasets", { ...form(fields), key });
      const first = await upload({ file: new Blob([CSV]), target: "y", name: "first" });
      assertEquals(first.status, 201);
      assertEquals(first.headers.get("deduplicated"), null);
      const made = await first.json();
      assert(/^[0-9a-f]{64}$/.test(made.contentHash), made.contentHash);
      const files = () => [...Deno.readDirSync(`${t.dir}/files`)].map((e) => e.name).sort();
      const before = files();

      const again = await upload({ file: new Blob([CSV]), target: "y", name: "second" });
      assertEquals(again.status, 200);
      assertEquals(again.headers.get("deduplicated"), "true");
      assertEquals(again.headers.get("location"), `/v1/datasets/${made.id}`);
      assertEquals(await again.json(), made, "the dataset as it was, its name included");
      assertEquals(files(), before, "no second copy of the files");
      // Registered by URL, the same bytes read the same way are the same dataset too.
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        () => new Response(CSV),
      );
      try {
        const url = `http://127.0.0.1:${server.addr.port}/data.csv`;
        const byUrl = await t.json("/v1/datasets", {
          ...postJson({ url, target: "y" }),
          key: alice,
        });
        assertEquals([byUrl.status, byUrl.body.id], [200, made.id]);
      } finally {
        await server.shutdown();
      }

      // Read another way, or another key's: another dataset.
      const other = await upload({ file: new Blob([CSV]), target: "b" });
      assertEquals(other.status, 201);
      const regression = await upload({ file: new Blob([CSV]), target: "y", task: "regression" });
      assertEquals(regression.status, 201);
      const bobs = await upload({ file: new Blob([CSV]), target: "y" }, bob);
      assertEquals(bobs.status, 201);
      const ids = new Set(
        [made, await other.json(), await regression.json(), await bobs.json()].map((d) => d.id),
      );
      assertEquals(ids.size, 4);

      // Sent twice at once: one dataset, one of the answers says it was there already.
      const csv2 = CSV.replace("a,b,y", "p,q,y");
      const both = await Promise.all(
        [1, 2].map(() => upload({ file: new Blob([csv2]), target: "y" })),
      );
      const bodies = await Promise.all(both.map((r) => r.json()));
      assertEquals(both.map((r) => r.status).sort(), [200, 201]);
      assertEquals(bodies[0].id, bodies[1].id);

      // Deleted, the content is new again.
      const del = await t.request(`/v1/datasets/${made.id}`, { method: "DELETE", key: alice });
      assertEquals(del.status, 204);
      const fresh = await upload({ file: new Blob([CSV]), target: "y" });
      assertEquals(fresh.status, 201);
      assert((await fresh.json()).id !== made.id);
    } finally {
      await t.close();
    }
  },
});
