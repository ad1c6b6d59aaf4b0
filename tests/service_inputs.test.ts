// deno-lint-ignore-file no-explicit-any
/**
 * Bad input at every endpoint gets an RFC 9457 problem (with the JSON pointer, parameter, or row
 * and column at fault) and leaves the store as it was; uploads of CSV and IDX data, whose errors
 * name the file at fault; URL registration refused for special-purpose addresses and URLs with
 * credentials unless allowed; a wrong method gets 405 with Allow.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  expectProblem,
  filesUnder,
  form,
  postJson,
  startTestService,
  tableCounts,
} from "./support/service.ts";
import { gzip, idx, idxPair } from "./support/data_files.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };

const IRIS_CSV = [
  "a,b,c,d,species",
  ...Array.from(
    { length: 30 },
    (_, i) => `${i % 7},${i % 5}.5,${i % 3},${i},${["x", "y", "z"][i % 3]}`,
  ),
].join("\n");

Deno.test({
  name:
    "bad input at every endpoint gets problem+json with the field at fault; the store is intact",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({
      limits: { ...(await import("../service/config.ts")).DEFAULT_LIMITS, maxUploadBytes: 4096 },
    });
    try {
      const before = tableCounts(t.service);
      const S = "/v1/searches";
      // POST /v1/searches
      await expectProblem(
        t,
        S,
        { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" },
        400,
        { pointer: "" },
      );
      await expectProblem(t, S, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "",
      }, 400);
      await expectProblem(t, S, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "{}",
      }, 415);
      await expectProblem(t, S, postJson({ dataset: 5 }), 422, { pointer: "/dataset" });
      await expectProblem(t, S, postJson({}), 422, { pointer: "/dataset" });
      await expectProblem(
        t,
        S,
        postJson({ dataset: "iris", budget: { population: "many" } }),
        422,
        { pointer: "/budget/population" },
      );
      const limit = await expectProblem(
        t,
        S,
        postJson({ dataset: "iris", budget: { population: 100_000 } }),
        422,
        { pointer: "/budget/population" },
      );
      assert(/at most 200 \(this service's limit\)/.test(limit.detail), limit.detail);
      await expectProblem(t, S, postJson({ dataset: "iris", budget: { generations: 0 } }), 422, {
        pointer: "/budget/generations",
      });
      await expectProblem(t, S, postJson({ dataset: "iris", bogus: 1 }), 422, {
        pointer: "/bogus",
      });
      await expectProblem(
        t,
        S,
        postJson({ dataset: "iris", evaluation: { inner: { momentum: 2 } } }),
        422,
        { pointer: "/evaluation/inner/momentum" },
      );
      await expectProblem(
        t,
        S,
        postJson({ dataset: "iris", execution: { candidateStack: 1 } }),
        422,
        { pointer: "/execution/candidateStack" },
      );
      await expectProblem(
        t,
        S,
        postJson({
          dataset: "iris",
          gp: { crossoverProb: 0.5, mutationProb: 0.6 },
        }),
        422,
        { pointer: "/gp/mutationProb" },
      );
      await expectProblem(t, S, postJson({ dataset: "iris", task: "regression" }), 422, {
        pointer: "/task",
      });
      const unknown = await expectProblem(t, S, postJson({ dataset: "nosuch" }), 422, {
        pointer: "/dataset",
      });
      assert(unknown.detail.includes("iris"), "names the datasets that exist");
      await expectProblem(t, S, postJson({ dataset: "iris" }, { "idempotency-key": "" }), 422, {
        parameter: "Idempotency-Key",
      });
      // GET /v1/searches
      await expectProblem(t, `${S}?state=bogus`, {}, 422, { parameter: "state" });
      await expectProblem(t, `${S}?limit=0`, {}, 422, { parameter: "limit" });
      await expectProblem(t, `${S}?limit=abc`, {}, 422, { parameter: "limit" });
      await expectProblem(t, `${S}?cursor=garbage`, {}, 422, { parameter: "cursor" });
      // One search, and the operations on searches
      for (
        const path of [
          `${S}/srch_nosuch`,
          `${S}/srch_nosuch/losses`,
          `${S}/srch_nosuch/result`,
          `${S}/srch_nosuch/events`,
          `${S}/srch_nosuch/losses/1/json`,
        ]
      ) {
        await expectProblem(t, path, {}, 404);
      }
      await expectProblem(t, `${S}/srch_nosuch:cancel`, { method: "POST" }, 404);
      await expectProblem(t, `${S}/srch_nosuch/events?after=-1`, {}, 422, { parameter: "after" });
      await expectProblem(t, `${S}/srch_nosuch/losses/0/json`, {}, 422, { parameter: "rank" });
      await expectProblem(t, `${S}/srch_nosuch/losses/1/excel`, {}, 422, { parameter: "format" });
      await expectProblem(t, "/v1/nothing", {}, 404);
      // Datasets
      const D = "/v1/datasets";
      await expectProblem(t, `${D}?limit=1000`, {}, 422, { parameter: "limit" });
      await expectProblem(t, `${D}/ds_nosuch`, {}, 404);
      await expectProblem(t, `${D}/ds_nosuch`, { method: "DELETE" }, 404);
      await expectProblem(t, `${D}/iris`, { method: "DELETE" }, 409);
      await expectProblem(t, D, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "[1,",
      }, 400);
      await expectProblem(t, D, postJson({ url: 5 }), 422, { pointer: "/url" });
      // A stated CSV without a target is refused before anything is downloaded.
      await expectProblem(
        t,
        D,
        postJson({ url: "http://example.invalid/x.csv", format: "csv" }),
        422,
        { pointer: "/target" },
      );
      await expectProblem(t, D, postJson({ imagesUrl: "https://example.invalid/i" }), 422, {
        pointer: "/labelsUrl",
      });
      await expectProblem(t, D, form({ file: new Blob([IRIS_CSV]) }), 422, { parameter: "target" });
      await expectProblem(
        t,
        D,
        form({ file: new Blob([IRIS_CSV]), target: "species", extra: "1" }),
        422,
        { parameter: "extra" },
      );
      await expectProblem(t, D, form({ target: "species" }), 422, { parameter: "file" });
      const badCell = IRIS_CSV.replace("\n3,3.5,0,3,x", "\n3,oops,0,3,x");
      const cell = await expectProblem(
        t,
        D,
        form({ file: new Blob([badCell]), target: "species" }),
        422,
        { row: 5, column: "b" },
      );
      assert(cell.detail.includes('line 5, column "b"'), cell.detail);
      await expectProblem(t, D, form({ file: new Blob([IRIS_CSV]), target: "nosuch" }), 422, {
        column: "nosuch",
      });
      const big = await expectProblem(
        t,
        D,
        form({ file: new Blob(["x".repeat(10_000)]), target: "a" }),
        413,
      );
      assert(big.detail.includes("4096 bytes"), big.detail);
      const pair = idxPair(20);
      await expectProblem(
        t,
        D,
        form({
          images: new Blob([pair.labels as BlobPart]),
          labels: new Blob([pair.labels as BlobPart]),
        }),
        422,
      );
      const badMagic = await expectProblem(
        t,
        D,
        form({
          images: new Blob([new Uint8Array([1, 2, 3, 4, 5]) as BlobPart]),
          labels: new Blob([pair.labels as BlobPart]),
        }),
        422,
      );
      assert(badMagic.detail.includes("magic"), badMagic.detail);
      await expectProblem(
        t,
        D,
        form({
          images: new Blob([pair.images.slice(0, -3) as BlobPart]),
          labels: new Blob([pair.labels as BlobPart]),
        }),
        422,
      );

      assertEquals(tableCounts(t.service), before, "no bad request wrote anything");
      assertEquals(filesUnder(t.service.config.dataDir), [], "no file was left behind");
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "CSV and IDX (plain and gzip) uploads are read, described, listed and deleted",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const csv = await t.request(
        "/v1/datasets",
        form({ file: new Blob([IRIS_CSV]), target: "species", name: "toy" }),
      );
      assertEquals(csv.status, 201);
      const d = await csv.json();
      assertEquals([d.name, d.task, d.rows, d.features, d.classes], [
        "toy",
        "classification",
        30,
        4,
        3,
      ]);
      assertEquals(csv.headers.get("location"), `/v1/datasets/${d.id}`);
      const pair = idxPair(40, 3, 5, 2);
      const idx = await t.json(
        "/v1/datasets",
        form({
          images: new Blob([await gzip(pair.images) as BlobPart]),
          labels: new Blob([pair.labels as BlobPart]),
        }),
      );
      assertEquals(idx.status, 201);
      assertEquals([idx.body.format, idx.body.rows, idx.body.features, idx.body.imageShape], [
        "idx",
        40,
        15,
        [3, 5, 1],
      ]);
      const list = await t.json("/v1/datasets");
      assertEquals(list.body.items.map((x: any) => x.id), [
        "mnist",
        "boston",
        "iris",
        "spam",
        d.id,
        idx.body.id,
      ]);
      assertEquals((await t.json(`/v1/datasets/${d.id}`)).body, d);
      // A search on the upload, read as regression: the text labels cannot be numbers.
      await expectProblem(t, "/v1/searches", postJson({ dataset: d.id, task: "regression" }), 422, {
        pointer: "/task",
        column: "species",
      });
      assertEquals(
        (await t.request(`/v1/datasets/${idx.body.id}`, { method: "DELETE" })).status,
        204,
      );
      assertEquals((await t.request(`/v1/datasets/${idx.body.id}`)).status, 404);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name:
    "URLs on loopback, private and link-local addresses are refused unless the operator allows them",
  ...SERVICE_TEST,
  fn: async () => {
    // A real file server on loopback: the only address these tests send traffic to.
    const files = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) =>
        new URL(req.url).pathname === "/big.csv"
          ? new Response("a,b\n" + "1,2\n".repeat(5000))
          : new Response(IRIS_CSV),
    );
    const url = `http://127.0.0.1:${files.addr.port}/iris.csv`;
    const refusing = await startTestService();
    try {
      let hits = 0;
      for (
        const u of [
          url,
          `http://localhost:${files.addr.port}/x.csv`,
          "http://10.1.2.3/x.csv",
          "http://192.168.0.1/x.csv",
          "http://169.254.169.254/latest",
          "http://[::1]/x.csv",
          "http://[::ffff:127.0.0.1]/x.csv",
          "http://0.0.0.0/x.csv",
          "http://[::7f00:1]/x.csv",
          "http://[2002:7f00:1::]/x.csv",
          "http://[fec0::1]/x.csv",
          `http://user:secret@127.0.0.1:${files.addr.port}/iris.csv`,
          "ftp://example.invalid/x.csv",
        ]
      ) {
        const p = await expectProblem(
          refusing,
          "/v1/datasets",
          postJson({ url: u, target: "species" }),
          422,
          { pointer: "/url" },
        );
        assert(/special-purpose|loopback|credentials|only http/.test(p.detail), p.detail);
        assert(!JSON.stringify(p).includes("secret"), "a password is never echoed");
        hits++;
      }
      assertEquals(hits, 13);
      assertEquals(tableCounts(refusing.service).datasets, 0);
    } finally {
      await refusing.close();
    }
    const allowing = await startTestService({
      url: { timeoutMs: 5000, allowPrivate: true },
      limits: { ...(await import("../service/config.ts")).DEFAULT_LIMITS, maxUploadBytes: 10_000 },
    });
    try {
      const ok = await allowing.json("/v1/datasets", postJson({ url, target: "species" }));
      assertEquals(ok.status, 201);
      assertEquals([ok.body.source, ok.body.rows, ok.body.url], ["url", 30, url]);
      const big = await expectProblem(
        allowing,
        "/v1/datasets",
        postJson({ url: url.replace("iris", "big"), target: "b" }),
        413,
        { pointer: "/url" },
      );
      assert(big.detail.includes("10000 bytes"), big.detail);
    } finally {
      await allowing.close();
      await files.shutdown();
    }
  },
});

Deno.test({
  name: "a wrong method gets 405 with Allow; an unknown path 404",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      for (
        const [method, path, allow] of [
          ["DELETE", "/v1/searches", "POST, GET"],
          ["PUT", "/v1/datasets/ds_x", "GET, DELETE"],
          ["POST", "/healthz", "GET"],
        ]
      ) {
        const res = await t.request(path, { method });
        assertEquals(res.status, 405, `${method} ${path}`);
        assertEquals(res.headers.get("allow"), allow);
        assertEquals(res.headers.get("content-type"), "application/problem+json");
        assert((await res.json()).detail.includes(allow));
      }
      const missing = await t.request("/v1/nothing");
      assertEquals(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "every IDX data error names its file: images or labels",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const { images, labels } = idxPair(12);
      const blob = (b: Uint8Array) => new Blob([b as BlobPart]);
      const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
        // All labels 255: classes 0..254 have no image (the probe got `class "0" has 0 rows`).
        ["labels", images, idx(8, [12], new Array(12).fill(255)), /no image/],
        ["images", images.subarray(0, 30), labels, /images file declares/],
        ["labels", images, labels.subarray(0, 10), /labels file declares/],
        ["images", images, idx(8, [11], new Array(11).fill(0)), /12 images but the labels/],
        ["images", await gzip(images).then((g) => g.subarray(0, 20)), labels, /gzip/],
        ["labels", images, idx(8, [12], [...new Array(11).fill(0), 1]), /labels file: class/],
      ];
      for (const [role, img, lab, message] of cases) {
        const p = await expectProblem(
          t,
          "/v1/datasets",
          form({ images: blob(img), labels: blob(lab) }),
          422,
          { parameter: role },
        );
        assert(message.test(p.detail), p.detail);
        assert(!/class "0" has 0 rows/.test(p.detail), p.detail);
      }
      assertEquals(tableCounts(t.service).datasets, 0);
    } finally {
      await t.close();
    }
  },
});
