// deno-lint-ignore-file no-explicit-any
/**
 * The OpenAPI document: valid OpenAPI 3.1 by a standard validator, describing exactly the routes
 * the app serves, and describing real responses. Access: API keys, and another key's resources
 * are not found.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020";
import { assert, assertEquals } from "./support/assert.ts";
import {
  finished,
  postJson,
  readEvents,
  startTestService,
  tinySearch,
  waitFor,
} from "./support/service.ts";
import { createApp } from "../api/app.ts";
import { openApiPath } from "../api/route.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "the document is valid OpenAPI 3.1, lists every route the app serves and no other, and describes real responses",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const doc = (await t.json("/openapi.json")).body;
      assertEquals(doc.openapi, "3.1.0");
      const validator = new Validator();
      const verdict = await validator.validate(doc);
      assert(verdict.valid, JSON.stringify(verdict.errors, null, 2));
      assertEquals(validator.version, "3.1");

      // Hono's own route table against the document's operations.
      const { app } = createApp(t.service);
      const served = new Set(
        app.routes.filter((r) => r.method !== "ALL").map((r) =>
          `${r.method.toLowerCase()} ${openApiPath(r.path)}`
        ),
      );
      const documented = new Set(
        Object.entries(doc.paths).flatMap(([path, item]) =>
          Object.keys(item as object).map((m) => `${m} ${path}`)
        ),
      );
      assertEquals([...served].sort(), [...documented].sort());
      assert(documented.has("post /v1/searches/{id}:cancel"));

      // Real answers match the schemas the document gives for them.
      const ajv = new Ajv2020({ strict: false, validateFormats: false });
      const schema = (name: string) =>
        ajv.compile({ $ref: `#/components/schemas/${name}`, components: doc.components });
      const created = await t.json(
        "/v1/searches",
        postJson(tinySearch("iris", { budget: { population: 4, generations: 1 } })),
      );
      const id: string = created.body.id;
      const search = schema("Search");
      assert(search(created.body), JSON.stringify(search.errors));
      const done = await waitFor(t, id, finished);
      assert(search(done), JSON.stringify(search.errors));
      const losses = schema("Losses");
      const l: any = (await t.json(`/v1/searches/${id}/losses`)).body;
      // Checked on a copy: the validator is a type guard, which would narrow `l` to unknown.
      assert(losses({ ...l }), JSON.stringify(losses.errors));
      // A finished search's verdict and split sizes are in its losses and its result.
      assert(l.outcome && l.conclusion && l.rows && Array.isArray(l.warnings), JSON.stringify(l));
      assert(l.final?.verdict && l.final.paired, JSON.stringify(l.final));
      const result = schema("SearchResult");
      const r: any = (await t.json(`/v1/searches/${id}/result`)).body;
      assert(result({ ...r }), JSON.stringify(result.errors));
      assertEquals([r.outcome, r.dataset.rows], [l.outcome, l.rows]);
      const candidates = (await t.json(`/v1/searches/${id}/candidates?sort=fitness`)).body;
      const candidate = schema("Candidate");
      assert(candidates.items.length >= 1);
      for (const c of candidates.items) assert(candidate(c), JSON.stringify(candidate.errors));
      const fitness = candidates.items.map((c: any) => c.fitness ?? Infinity);
      assertEquals(fitness, [...fitness].sort((a: number, b: number) => a - b));
      const event = schema("SearchEvent");
      const events = await readEvents(await t.request(`/v1/searches/${id}/events`));
      assertEquals(
        [...new Set(events.map((e) => e.event))].sort(),
        ["best", "finished", "generation", "progress", "state"],
      );
      for (const e of events) assert(event(e), `${e.event}: ${JSON.stringify(event.errors)}`);
      const exported = (await t.json(`/v1/searches/${id}/losses/1/json`)).body;
      const lossDocument = schema("LossDocument");
      assert(lossDocument(exported), JSON.stringify(lossDocument.errors));
      const report = await t.request(`/v1/searches/${id}/report`);
      assertEquals(report.headers.get("content-type"), "text/html; charset=utf-8");
      assert((await report.text()).includes("Ranked losses"));
      const dataset = schema("Dataset");
      assert(dataset((await t.json("/v1/datasets/iris")).body), JSON.stringify(dataset.errors));
      const problem = schema("Problem");
      assert(problem((await t.json("/v1/searches/srch_x")).body), JSON.stringify(problem.errors));
      const health = schema("Health");
      assert(health((await t.json("/healthz")).body));

      const page = await t.request("/docs");
      assertEquals(page.headers.get("content-type"), "text/html; charset=utf-8");
      const html = await page.text();
      // Swagger UI over this document, its files from the service; the problem types.
      assert(
        html.includes("/assets/swagger-ui-bundle.js") && html.includes("/assets/docs.js"),
        html,
      );
      assert((await (await t.request("/assets/docs.js")).text()).includes("/openapi.json"));
      assert(html.includes('id="problem-validation"'));
      const metrics = await (await t.request("/metrics")).text();
      for (
        const family of [
          'lossmith_jobs{state="succeeded"} 1',
          "lossmith_evaluations_total{",
          "lossmith_evaluation_duration_seconds_bucket{",
          "lossmith_worker_utilisation ",
        ]
      ) assert(metrics.includes(family), `${family} in\n${metrics}`);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name:
    "with API keys every request needs one, and another key's datasets and searches are not found",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const alice = (await t.service.storage.keys.create("alice")).token;
      const bob = (await t.service.storage.keys.create("bob")).token;
      const none = await t.request("/v1/searches");
      assertEquals(none.status, 401);
      assertEquals(none.headers.get("www-authenticate"), 'Bearer realm="lossmith"');
      assertEquals((await t.request("/v1/searches", { key: "lsm_wrong" })).status, 401);
      assertEquals((await t.request("/healthz")).status, 200, "health stays public");

      const csv = new FormData();
      csv.append(
        "file",
        new Blob(["x,y\n" + Array.from({ length: 20 }, (_, i) => `${i},${i % 2}`).join("\n")]),
      );
      csv.append("target", "y");
      const ds = await t.json("/v1/datasets", { method: "POST", body: csv, key: alice });
      assertEquals(ds.status, 201);
      const body = tinySearch("iris", {
        budget: { population: 4, generations: 1 },
        final: { seeds: 0 },
      });
      const job = await t.json("/v1/searches", { ...postJson(body), key: alice });
      assertEquals(job.status, 202);
      const id = job.body.id;
      for (
        const path of [
          `/v1/searches/${id}`,
          `/v1/searches/${id}/events`,
          `/v1/searches/${id}/losses`,
          `/v1/searches/${id}/losses/1/pytorch`,
          `/v1/searches/${id}/result`,
          `/v1/searches/${id}/report`,
          `/v1/searches/${id}/candidates`,
          `/v1/datasets/${ds.body.id}`,
        ]
      ) {
        const res = await t.request(path, { key: bob });
        assertEquals(res.status, 404, path);
        await res.body?.cancel();
      }
      assertEquals(
        (await t.request(`/v1/searches/${id}:cancel`, { method: "POST", key: bob })).status,
        404,
      );
      assertEquals(
        (await t.request(`/v1/datasets/${ds.body.id}`, { method: "DELETE", key: bob })).status,
        404,
      );
      assertEquals((await t.json("/v1/searches", { key: bob })).body.items, []);
      assertEquals(
        (await t.json("/v1/datasets", { key: bob })).body.items.map((d: any) => d.id),
        ["mnist", "boston", "iris", "spam"],
      );
      // Bob cannot search on Alice's upload either.
      const theirs = await t.json("/v1/searches", {
        ...postJson({ dataset: ds.body.id }),
        key: bob,
      });
      assertEquals(theirs.status, 422);
      const done = await waitFor(t, id, finished, 120_000, alice);
      assertEquals(done.state, "succeeded");
      assertEquals((await t.json(`/v1/searches/${id}`, { key: alice })).status, 200);
    } finally {
      await t.close();
    }
  },
});
