/** JSON datasets (row objects with a target key, or {x, y}) and errors naming row and key. */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { loadJsonFile, parseJsonDataset } from "../core/data/json.ts";
import { DataError } from "../core/data/mod.ts";
import { loadDataset, parseDatasetRef } from "../core/prepare.ts";

/** 12 rows of {a, b, label}, as the bundled Boston JSON lays rows out. */
function records(): Record<string, unknown>[] {
  return Array.from({ length: 12 }, (_, i) => ({ a: i, b: i / 2, label: i % 2 ? "odd" : "even" }));
}

function xy(): { x: unknown[]; y: unknown[] } {
  return {
    x: Array.from({ length: 12 }, (_, i) => [i, i * 2, -i]),
    y: Array.from({ length: 12 }, (_, i) => i * 0.25),
  };
}

/** Writes `value` as JSON to a real temp file and loads it through a CLI dataset reference. */
async function viaFile(value: unknown, target?: string, text = JSON.stringify(value)) {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, text);
    const ref = parseDatasetRef(path, { target });
    assertEquals(ref.kind, "json");
    return await loadDataset(ref);
  } finally {
    await Deno.remove(path);
  }
}

/** The DataError parsing must raise. */
function parseError(value: unknown, target?: string, task?: "regression"): DataError {
  try {
    parseJsonDataset(JSON.stringify(value), { target, task, name: "t" });
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  }
  throw new Error("expected a DataError, the JSON parsed");
}

Deno.test("json: row objects with a text target key, from a real file", async () => {
  const ds = await viaFile(records(), "label");
  assertEquals([ds.task, ds.n, ds.d, ds.nClasses], ["classification", 12, 2, 2]);
  assertEquals(ds.featureNames, ["a", "b"]);
  assertEquals(ds.classNames, ["even", "odd"]);
  assertEquals([ds.x[2], ds.x[3], ds.y[0], ds.y[1]], [1, 0.5, 0, 1]);
  assert(ds.name.endsWith(".json"));
});

Deno.test("json: {x, y} regression, and a numeric target key read as classes", async () => {
  const ds = await viaFile(xy());
  assertEquals([ds.task, ds.n, ds.d, ds.featureNames], ["regression", 12, 3, undefined]);
  assertEquals([ds.x[3], ds.x[4], ds.x[5], ds.y[11]], [1, 2, -1, 2.75]);
  const rows = records().map((r, i) => ({ ...r, label: i % 3 }));
  const cls = parseJsonDataset(JSON.stringify(rows), { target: "label", name: "n" });
  assertEquals([cls.task, cls.nClasses, cls.classNames], ["classification", 3, ["0", "1", "2"]]);
  const reg = parseJsonDataset(JSON.stringify(rows), {
    target: "label",
    task: "regression",
    name: "n",
  });
  assertEquals(reg.task, "regression");
});

Deno.test("json error: a non-numeric feature names row and key", () => {
  const rows = records();
  rows[4].b = "abc";
  const e = parseError(rows, "label");
  assertEquals([e.row, e.column], [5, "b"]);
  assert(/row 5 \(index 4\), key "b": non-numeric feature value "abc"/.test(e.message), e.message);
  rows[4].b = null;
  assert(/non-numeric feature value null/.test(parseError(rows, "label").message));
});

Deno.test("json error: a missing key, an extra key and a missing target", () => {
  const rows = records();
  delete rows[6].a;
  let e = parseError(rows, "label");
  assertEquals([e.row, e.column], [7, "a"]);
  assert(/row 7 \(index 6\), key "a": the key is missing/.test(e.message), e.message);

  const extra = records();
  extra[2].c = 1;
  e = parseError(extra, "label");
  assertEquals([e.row, e.column], [3, "c"]);
  assert(/key "c": the key is not in row 1/.test(e.message), e.message);

  const noTarget = records();
  delete noTarget[9].label;
  e = parseError(noTarget, "label");
  assertEquals([e.row, e.column], [10, "label"]);
  assert(/the target key is missing/.test(e.message), e.message);
});

Deno.test("json error: unknown or absent target key lists the keys", () => {
  let e = parseError(records(), "Label");
  assertEquals(e.column, "Label");
  assert(/target key "Label" not found .* its keys: a, b, label/.test(e.message), e.message);
  e = parseError(records());
  assert(/needs a target key; the first row has keys a, b, label/.test(e.message), e.message);
});

Deno.test("json error: ragged x rows, mismatched y and bad values in {x, y}", () => {
  const ragged = xy();
  ragged.x[3] = [1, 2];
  let e = parseError(ragged);
  assertEquals([e.row, e.column], [4, "x"]);
  assert(/row 4 \(index 3\), key "x": 2 values, row 1 has 3 \(ragged rows\)/.test(e.message));

  const text = xy();
  text.x[8] = [1, "2", 3];
  e = parseError(text);
  assertEquals([e.row, e.column], [9, "x"]);
  assert(/row 9 \(index 8\), key "x", position 1: non-numeric feature value "2"/.test(e.message));

  const short = xy();
  short.y.pop();
  assert(/"x" holds 12 rows but "y" 11 targets/.test(parseError(short).message));

  const badY = xy();
  badY.y[5] = "high";
  e = parseError(badY, undefined, "regression");
  assertEquals([e.row, e.column], [6, "y"]);
  assert(/target "high" is not a finite number/.test(e.message), e.message);

  const huge = xy();
  huge.x[2] = [1e39, 0, 0];
  assert(/feature value 1e\+39 is not a finite float32 number/.test(parseError(huge).message));
});

Deno.test("json error: not JSON, the wrong shape, too few rows, non-object rows", async () => {
  const bad = await assertRejects(() => viaFile(null, "label", "[{"), /not valid JSON/);
  assert(bad instanceof DataError);
  assert(/expected an array of row objects or an object/.test(parseError({ rows: [] }).message));
  assert(/too few rows: 3 rows, at least 10 needed/.test(
    parseError(records().slice(0, 3), "label").message,
  ));
  const rows: unknown[] = records();
  rows[1] = [1, 2, "odd"];
  const e = parseError(rows, "label");
  assertEquals(e.row, 2);
  assert(/row 2 \(index 1\) is an array, not an object/.test(e.message), e.message);
  const missing = await loadJsonFile("/nonexistent/x.json").catch((e) => e);
  assert(missing instanceof DataError && /file not found/.test(missing.message));
});
