/**
 * Every dataset format on every entry point, over real HTTP: CSV, JSON, NumPy and IDX files
 * uploaded by role and registered by URL, searches on NumPy and JSON uploads run to the end, and
 * the wrong files refused with problem+json naming the field at fault, in the CLI's words.
 */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import {
  expectProblem,
  filesUnder,
  finished,
  form,
  postJson,
  startTestService,
  tableCounts,
  type TestService,
  tinySearch,
  waitFor,
} from "./support/service.ts";
import { gzip, idxPair, npy } from "./support/data_files.ts";
import { parseDatasetRef } from "../core/prepare.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };

/** One small table, three classes, written out in each format. */
const N = 60;
const CLASSES = ["x", "y", "z"];
const rows = Array.from({ length: N }, (_, i) => {
  const c = i % 3;
  return {
    x: [c + ((i * 7) % 5) / 10, (i % 4) / 3, c / 2 - (i % 6) / 10, ((i * 13) % 11) / 11],
    c,
  };
});
const CSV = ["a,b,c,d,species", ...rows.map((r) => [...r.x, CLASSES[r.c]].join(","))].join("\n");
const JSON_ROWS = JSON.stringify(
  rows.map((r) => ({ a: r.x[0], b: r.x[1], c: r.x[2], d: r.x[3], species: CLASSES[r.c] })),
);
const JSON_XY = JSON.stringify({ x: rows.map((r) => r.x), y: rows.map((r) => r.c) });
const FEATURES = npy("<f4", [N, 4], Float32Array.from(rows.flatMap((r) => r.x)));
const LABELS = npy("<i8", [N], BigInt64Array.from(rows.map((r) => BigInt(r.c))));
const IDX = idxPair(40, 3, 5, 2);

const blob = (b: Uint8Array | string) => new Blob([b as BlobPart]);

/** The files the service stored for a dataset, by name. */
function storedFiles(t: TestService, id: string): string[] {
  return [...Deno.readDirSync(`${t.service.config.dataDir}/${id}`)].map((e) => e.name).sort();
}

Deno.test({
  name: "uploads of every format: CSV and JSON as file, NumPy and IDX pairs; searches finish",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({ workers: 2 });
    try {
      const upload = async (fields: Record<string, string | Blob>) => {
        const r = await t.json("/v1/datasets", form(fields));
        assertEquals(r.status, 201, JSON.stringify(r.body));
        return r.body;
      };
      const csv = await upload({ file: blob(CSV), target: "species", format: "csv" });
      const json = await upload({ file: blob(JSON_ROWS), target: "species" });
      const npyDs = await upload({ features: blob(await gzip(FEATURES)), labels: blob(LABELS) });
      const idx = await upload({ images: blob(await gzip(IDX.images)), labels: blob(IDX.labels) });
      for (const [d, format] of [[csv, "csv"], [json, "json"], [npyDs, "npy"]]) {
        assertEquals([d.format, d.task, d.rows, d.features, d.classes], [
          format,
          "classification",
          N,
          4,
          3,
        ]);
      }
      assertEquals([csv.target, json.target, npyDs.target], ["species", "species", undefined]);
      assertEquals([idx.format, idx.rows, idx.imageShape, idx.classes], ["idx", 40, [3, 5, 1], 2]);
      // Stored as <role>.<ext> whatever the upload's own file names were.
      assertEquals(storedFiles(t, csv.id), ["file.csv"]);
      assertEquals(storedFiles(t, json.id), ["file.json"]);
      assertEquals(storedFiles(t, npyDs.id), ["features.npy", "labels.npy"]);
      assertEquals(storedFiles(t, idx.id), ["images.idx", "labels.idx"]);

      // NumPy labels read as regression targets: the pair format takes a task.
      const reg = await upload({
        features: blob(FEATURES),
        labels: blob(LABELS),
        task: "regression",
      });
      assertEquals([reg.task, reg.classes], ["regression", undefined]);

      // Searches read JSON and NumPy data for another task as CSV is; IDX images are classes.
      await expectProblem(
        t,
        "/v1/searches",
        postJson({ dataset: json.id, task: "regression" }),
        422,
        {
          pointer: "/task",
          column: "species",
        },
      );
      await expectProblem(
        t,
        "/v1/searches",
        postJson({ dataset: idx.id, task: "regression" }),
        422,
        {
          pointer: "/task",
        },
      );

      const ids = [];
      for (const d of [npyDs, json]) {
        const res = await t.request("/v1/searches", postJson(tinySearch(d.id)));
        assertEquals(res.status, 202, await res.clone().text());
        ids.push((await res.json()).id);
      }
      for (const id of ids) {
        const s = await waitFor(t, id, finished, 240_000);
        assertEquals(s.state, "succeeded", JSON.stringify(s.error));
        const losses = await t.json(`/v1/searches/${id}/losses`);
        assert(losses.body.losses.length > 0, JSON.stringify(losses.body));
      }
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "registrations of every format: url (CSV or JSON), featuresUrl and imagesUrl pairs",
  ...SERVICE_TEST,
  fn: async () => {
    const served: Record<string, Uint8Array | string> = {
      "/t.csv": CSV,
      "/t.json": JSON_XY,
      "/f.npy.gz": await gzip(FEATURES),
      "/l.npy": LABELS,
      "/i.gz": await gzip(IDX.images),
      "/l.idx": IDX.labels,
    };
    const files = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => {
        const body = served[new URL(req.url).pathname];
        return body === undefined ? new Response("no", { status: 404 }) : new Response(blob(body));
      },
    );
    const at = (path: string) => `http://127.0.0.1:${files.addr.port}${path}`;
    const t = await startTestService({ url: { timeoutMs: 5000, allowPrivate: true } });
    try {
      const register = async (body: Record<string, string>) => {
        const r = await t.json("/v1/datasets", postJson(body));
        assertEquals(r.status, 201, JSON.stringify(r.body));
        assertEquals(r.body.source, "url");
        return r.body;
      };
      const csv = await register({ url: at("/t.csv"), target: "species" });
      const json = await register({ url: at("/t.json"), name: "xy" });
      const npyDs = await register({
        featuresUrl: at("/f.npy.gz"),
        labelsUrl: at("/l.npy"),
        format: "npy",
      });
      const idx = await register({ imagesUrl: at("/i.gz"), labelsUrl: at("/l.idx") });
      assertEquals(
        [csv, json, npyDs, idx].map((d) => [d.format, d.rows, d.features, d.classes]),
        [["csv", N, 4, 3], ["json", N, 4, 3], ["npy", N, 4, 3], ["idx", 40, 15, 2]],
      );
      assertEquals([json.name, json.target], ["xy", undefined]);
      assertEquals(npyDs.url, `${at("/f.npy.gz")} ${at("/l.npy")}`);
      assertEquals(storedFiles(t, npyDs.id), ["features.npy", "labels.npy"]);

      // Refusals that need the bytes: the downloaded files, then the format they contradict.
      const before = tableCounts(t.service);
      const D = "/v1/datasets";
      await expectProblem(t, D, postJson({ url: at("/t.csv") }), 422, { pointer: "/target" });
      const json4csv = await expectProblem(
        t,
        D,
        postJson({ url: at("/t.csv"), target: "species", format: "json" }),
        422,
        { pointer: "/format" },
      );
      assert(json4csv.detail.startsWith("'format' is json, but the file"), json4csv.detail);
      await expectProblem(t, D, postJson({ url: at("/l.npy"), target: "y" }), 422, {
        pointer: "/url",
      });
      await expectProblem(
        t,
        D,
        postJson({ imagesUrl: at("/f.npy.gz"), labelsUrl: at("/l.idx") }),
        422,
        { pointer: "/imagesUrl" }, // gzip hides the format until the loader inflates it
      );
      await expectProblem(
        t,
        D,
        postJson({ featuresUrl: at("/f.npy.gz"), labelsUrl: at("/l.idx") }),
        422,
        { pointer: "/labelsUrl" },
      );
      assertEquals(tableCounts(t.service), before, "no refused registration wrote anything");
    } finally {
      await t.close();
      await files.shutdown();
    }
  },
});

Deno.test({
  name: "wrong files are refused on uploads and registrations with the field at fault",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const before = tableCounts(t.service);
      const D = "/v1/datasets";
      const up = (fields: Record<string, string | Blob>, where: Record<string, string>) =>
        expectProblem(t, D, form(fields), 422, where);

      const npyAsFile = await up({ file: blob(FEATURES) }, { parameter: "file" });
      assertEquals(
        npyAsFile.detail,
        "the file is a NumPy array (.npy), not CSV or JSON text: a NumPy dataset is two files, " +
          "'features' and 'labels'",
      );
      assert(!npyAsFile.detail.includes("NUMPY"), "no raw bytes in the message");
      const idxAsFile = await up({ file: blob(IDX.images), target: "x" }, { parameter: "file" });
      assert(
        /binary \(IDX or gzip\).*'images' and 'labels'/.test(idxAsFile.detail),
        idxAsFile.detail,
      );
      const npyAsImages = await up(
        { images: blob(FEATURES), labels: blob(LABELS) },
        { parameter: "images" },
      );
      assert(/^'images' is a NumPy array/.test(npyAsImages.detail), npyAsImages.detail);
      // The same mistakes get the CLI's words.
      const noLabels = await up({ features: blob(FEATURES) }, { parameter: "labels" });
      assertEquals(noLabels.detail, assertThrows(() => parseDatasetRef("x.npy")).message);
      const npyTarget = await up(
        { features: blob(FEATURES), labels: blob(LABELS), target: "c" },
        { parameter: "target" },
      );
      assertEquals(
        npyTarget.detail,
        assertThrows(() => parseDatasetRef("x.npy", { labels: "y.npy", target: "c" })).message,
      );
      await up({ images: blob(IDX.images), labels: blob(IDX.labels), task: "regression" }, {
        parameter: "task",
      });
      await up({ labels: blob(LABELS) }, { parameter: "features" });
      await up({ file: blob(CSV), images: blob(IDX.images), labels: blob(IDX.labels) }, {
        parameter: "file",
      });
      const contradicts = await up({ file: blob(CSV), target: "species", format: "json" }, {
        parameter: "format",
      });
      assert(contradicts.detail.includes("it is not JSON"), contradicts.detail);
      await up({ file: blob(CSV), target: "species", format: "npy" }, { parameter: "file" });
      await up({ file: blob(CSV), format: "xml" }, { parameter: "format" });
      await up({ file: blob(JSON_XY), task: "sorting" }, { parameter: "task" });
      // A data error names the file at fault.
      const short = npy("<i8", [N - 1], new BigInt64Array(N - 1));
      const rowsDiffer = await up(
        { features: blob(FEATURES), labels: blob(short) },
        { parameter: "features" },
      );
      assert(rowsDiffer.detail.includes(`but the labels file ${N - 1}`), rowsDiffer.detail);
      await up({ features: blob(FEATURES), labels: blob(FEATURES) }, { parameter: "labels" });
      await up({ file: blob(JSON_ROWS) }, { parameter: "file" }); // rows need a target key

      // Registrations refused before anything is downloaded (these hosts do not resolve).
      const reg = (body: Record<string, string>, pointer: string) =>
        expectProblem(t, D, postJson(body), 422, { pointer });
      const urlNoLabels = await reg({ featuresUrl: "https://example.invalid/f.npy" }, "/labelsUrl");
      assertEquals(urlNoLabels.detail, noLabels.detail);
      await reg({ labelsUrl: "https://example.invalid/l" }, "/featuresUrl");
      await reg({
        featuresUrl: "https://example.invalid/f",
        labelsUrl: "https://example.invalid/l",
        target: "c",
      }, "/target");
      await reg({
        imagesUrl: "https://example.invalid/i",
        labelsUrl: "https://example.invalid/l",
        task: "classification",
      }, "/task");
      await reg(
        { url: "https://example.invalid/t", imagesUrl: "https://example.invalid/i" },
        "/imagesUrl",
      );
      await reg({ url: "https://example.invalid/t", format: "idx" }, "/url");
      await reg({ url: "https://example.invalid/t", format: "tsv" }, "/format");
      await reg({ name: "nothing" }, "/url");

      assertEquals(tableCounts(t.service), before, "no refused request wrote anything");
      assertEquals(filesUnder(t.service.config.dataDir), [], "no file was left behind");
    } finally {
      await t.close();
    }
  },
});
