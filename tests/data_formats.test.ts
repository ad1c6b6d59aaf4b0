/**
 * The registry of dataset formats: which format a set of files is (by role and first bytes), the
 * problems in words with the field at fault, and the same words from the CLI's references and the
 * loaders as from the service.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
import {
  formatOfFiles,
  type FormatProblem,
  formatsOfRoles,
  notText,
  optionsProblem,
  roleNamed,
  ROLES,
  sniff,
  urlField,
} from "../core/data/formats.ts";
import { DataError } from "../core/data/mod.ts";
import { fileRef, loadDataset, parseDatasetRef } from "../core/prepare.ts";
import { gzip, idxPair, npy } from "./support/data_files.ts";

const text = (s: string) => new TextEncoder().encode(s);
const features = npy("<f4", [4, 2], new Float32Array(8));
const labels = npy("<i8", [4], new BigInt64Array(4));
const pair = idxPair(4);

function problem(found: unknown): FormatProblem {
  assert(found && typeof found === "object" && "detail" in found, JSON.stringify(found));
  return found as FormatProblem;
}

Deno.test("formats: the first bytes tell NumPy, IDX, gzip, JSON and text apart", async () => {
  assertEquals(sniff(features), "npy");
  assertEquals(sniff(pair.images), "idx");
  assertEquals(sniff(await gzip(pair.images)), "gzip");
  assertEquals(sniff(text('\ufeff \n [{"a": 1}]')), "json");
  assertEquals(sniff(text("a,b\n1,2")), "text");
  assertEquals(sniff(new Uint8Array(0)), "text");
  assertEquals(ROLES, ["file", "features", "labels", "images"]);
  assertEquals(ROLES.map(urlField), ["url", "featuresUrl", "labelsUrl", "imagesUrl"]);
});

Deno.test("formats: the roles given name the format, or what is missing or extra", () => {
  assertEquals(formatsOfRoles(["file"]), ["csv", "json"]);
  assertEquals(formatsOfRoles(["features", "labels"]), ["npy"]);
  assertEquals(formatsOfRoles(["labels", "images"]), ["idx"]);
  assertEquals(formatsOfRoles(["file"], "json"), ["json"]);
  const cases: [Parameters<typeof formatsOfRoles>, string, RegExp][] = [
    [[[]], "file", /^send a dataset's files: 'file' \(CSV or JSON\), 'features' and 'labels'/],
    [[["features"]], "labels", /^a NumPy dataset needs its 'labels' file: NumPy labels/],
    [[["images"]], "labels", /^an IDX dataset needs its 'labels' file: IDX labels/],
    [[["labels"]], "features", /^'labels' goes with 'features' \(NumPy\) or 'images' \(IDX\)$/],
    [[["file", "images", "labels"]], "file", /one format: .*; got 'file', 'images' and 'labels'/],
    [[["features", "images", "labels"]], "images", /one format/],
    [[["file"], "npy"], "file", /a NumPy dataset is 'features' and 'labels'; got 'file'$/],
    [[["labels"], "idx"], "images", /^an IDX dataset needs its 'images' file/],
  ];
  for (const [args, field, pattern] of cases) {
    const p = problem(formatsOfRoles(...args));
    assertEquals(p.field, field, JSON.stringify(args));
    assert(pattern.test(p.detail), p.detail);
  }
});

Deno.test("formats: bytes in the wrong field are refused with the field and the fix", async () => {
  assertEquals(formatOfFiles({ file: text("a,b\n1,2") }), { format: "csv" });
  assertEquals(formatOfFiles({ file: text('{"x": [], "y": []}') }), { format: "json" });
  assertEquals(formatOfFiles({ features, labels }, "npy"), { format: "npy" });
  assertEquals(formatOfFiles({ images: await gzip(pair.images), labels: pair.labels }), {
    format: "idx",
  });
  const cases: [Parameters<typeof formatOfFiles>, string, RegExp][] = [
    [
      [{ file: features }],
      "file",
      /^the file is a NumPy array \(.npy\), not CSV or JSON text: .* 'features' and 'labels'$/,
    ],
    [[{ file: pair.images }], "file", /^the file is binary \(IDX or gzip\).*'images' and 'labels'/],
    [[{ file: await gzip(text("a,b")) }], "file", /binary \(IDX or gzip\)/],
    [
      [{ images: features, labels }],
      "images",
      /^'images' is a NumPy array \(.npy\): send NumPy data as 'features' and 'labels'$/,
    ],
    [[{ features: pair.images, labels: pair.labels }], "features", /^'features' is an IDX file/],
    [
      [{ images: pair.images, labels }],
      "labels",
      /^'labels' is a NumPy array \(.npy\), but 'images' is not/,
    ],
    [
      [{ file: text("a,b\n1,2") }, "json"],
      "format",
      /^'format' is json, but the file does not start with '\{' or '\['/,
    ],
    [[{ file: text("[]") }, "csv"], "format", /^'format' is csv, but the file starts with/],
    [[{ file: features }, "csv"], "file", /NumPy array/],
  ];
  for (const [args, field, pattern] of cases) {
    const p = problem(formatOfFiles(...args));
    assertEquals(p.field, field, pattern.source);
    assert(pattern.test(p.detail), p.detail);
  }
  assertEquals(notText(text("a,b")), undefined);
});

Deno.test("formats: target and task rules, and the role a loader's message names", () => {
  assertEquals(optionsProblem("csv", { target: "y" }), undefined);
  assertEquals(optionsProblem("json", {}), undefined);
  assertEquals(optionsProblem("npy", { task: "regression" }), undefined);
  assertEquals(optionsProblem("csv", {}), {
    detail: "a CSV dataset needs the name of its target column",
    field: "target",
  });
  assertEquals(optionsProblem("npy", { target: "y" })?.field, "target");
  assertEquals(optionsProblem("idx", { task: "classification" }), {
    detail: "an IDX dataset holds class labels: it takes no task",
    field: "task",
  });
  assertEquals(roleNamed("csv", 'line 5, column "b": non-numeric'), "file");
  assertEquals(
    roleNamed("npy", "the features file holds 4 rows but the labels file 3"),
    "features",
  );
  assertEquals(roleNamed("idx", "the labels file is not valid gzip data"), "labels");
  assertEquals(roleNamed("idx", "class 3 has one row"), undefined);
});

Deno.test("formats: CLI references get the registry's words for the same mistakes", () => {
  const words = (p: unknown) => problem(p).detail;
  assertEquals(
    assertThrows(() => parseDatasetRef("x.npy")).message,
    words(formatsOfRoles(["features"])),
  );
  assertEquals(
    assertThrows(() => parseDatasetRef("x.csv")).message,
    words(optionsProblem("csv", {})),
  );
  assertEquals(
    assertThrows(() => parseDatasetRef("x.npy", { labels: "y.npy", target: "c" })).message,
    words(optionsProblem("npy", { target: "c" })),
  );
  assertEquals(
    assertThrows(() =>
      parseDatasetRef("t10k-images-idx3-ubyte", { labels: "l", task: "regression" })
    )
      .message,
    words(optionsProblem("idx", { task: "regression" })),
  );
  // A mistyped bundled name is told so, with the CSV rule in the same words.
  const typo = assertThrows(() => parseDatasetRef("mnsit")).message;
  assert(typo.startsWith("'mnsit' is not a bundled dataset (mnist, boston, iris, spam)"), typo);
  assert(typo.includes(words(optionsProblem("csv", {}))), typo);
  assertEquals(parseDatasetRef("d.json"), { kind: "json", path: "d.json" });
  assertEquals(fileRef("npy", { features: "f", labels: "l" }, { task: "regression", name: "n" }), {
    kind: "npy",
    features: "f",
    labels: "l",
    task: "regression",
    name: "n",
  });
});

Deno.test("formats: a binary file read as CSV or JSON gets the service's words", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lossmith-formats-" });
  try {
    await Deno.writeFile(`${dir}/x.csv`, features);
    await Deno.writeFile(`${dir}/x.json`, await gzip(text("[]")));
    for (const [path, file] of [["x.csv", features], ["x.json", await gzip(text("[]"))]] as const) {
      const e = await assertRejects(() =>
        loadDataset(parseDatasetRef(`${dir}/${path}`, { target: "y" }))
      );
      assert(e instanceof DataError, String(e));
      assertEquals(e.message, notText(file));
    }
    const missing = await assertRejects(() =>
      loadDataset({ kind: "json", path: `${dir}/no.json` })
    );
    assert(missing instanceof DataError && /file not found/.test(missing.message), missing.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
