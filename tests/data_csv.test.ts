import assert from "node:assert/strict";
import { inferTask, loadCsvFile, parseDelimited } from "../core/data/csv.ts";

/** A header "a,b,label" and n rows "i,2i,label" with labels cycling through `labels`. */
function table(n: number, labels: (string | number)[], delim = ","): string {
  const lines = [["a", "b", "label"].join(delim)];
  for (let i = 0; i < n; i++) lines.push([i, 2 * i, labels[i % labels.length]].join(delim));
  return lines.join("\n") + "\n";
}

Deno.test("csv: string labels map to indices in sorted class-name order", () => {
  const ds = parseDelimited(table(12, ["zebra", "ant", "moth"]), { target: "label" });
  assert.equal(ds.task, "classification");
  assert.deepEqual(ds.classNames, ["ant", "moth", "zebra"]);
  assert.equal(ds.nClasses, 3);
  assert.deepEqual([...ds.y.slice(0, 3)], [2, 0, 1]);
  assert.deepEqual(ds.featureNames, ["a", "b"]);
  assert.deepEqual([...ds.x.slice(0, 4)], [0, 0, 1, 2]);
  assert.equal(ds.n, 12);
  assert.equal(ds.d, 2);
});

Deno.test("csv: integer labels are classes ordered by value, even if not 0..K-1", () => {
  const ds = parseDelimited(table(12, [10, 2, 7]), { target: "label" });
  assert.equal(ds.task, "classification");
  assert.deepEqual(ds.classNames, ["2", "7", "10"]);
  assert.deepEqual([...ds.y.slice(0, 3)], [2, 0, 1]);
});

Deno.test("csv: the target may be any column", () => {
  const ds = parseDelimited(table(12, [0.5, 1.5]), { target: "a" });
  assert.equal(ds.task, "regression");
  assert.deepEqual(ds.featureNames, ["b", "label"]);
  assert.deepEqual([...ds.y.slice(0, 3)], [0, 1, 2]);
  assert.deepEqual([...ds.x.slice(0, 4)], [0, 0.5, 2, 1.5]);
});

Deno.test("csv: tab-separated text is detected", () => {
  const ds = parseDelimited(table(12, ["x", "y"], "\t"), { target: "label" });
  assert.equal(ds.d, 2);
  assert.deepEqual(ds.classNames, ["x", "y"]);
});

Deno.test("csv: an explicit delimiter (semicolon) is honoured", () => {
  const ds = parseDelimited(table(12, ["x", "y"], ";"), { target: "label", delimiter: ";" });
  assert.equal(ds.d, 2);
});

Deno.test("csv: quoted labels, quoted numbers, CRLF, BOM and padded cells parse", () => {
  const rows = ['\uFEFF"a", b ,label'];
  for (let i = 0; i < 10; i++) rows.push(`"${i}", ${i} ,"class ""${i % 2}"", ok"`);
  const ds = parseDelimited(rows.join("\r\n"), { target: "label" });
  assert.deepEqual(ds.featureNames, ["a", "b"]);
  assert.deepEqual(ds.classNames, ['class "0", ok', 'class "1", ok']);
  assert.equal(ds.x[2], 1);
});

Deno.test("csv: the task can be forced against the inference", () => {
  const ds = parseDelimited(table(12, [0, 1]), { target: "label", task: "regression" });
  assert.equal(ds.task, "regression");
  assert.deepEqual([...ds.y.slice(0, 2)], [0, 1]);
});

Deno.test("inferTask: text or few repeated integers are classes, the rest regression", () => {
  assert.equal(inferTask(undefined), "classification");
  assert.equal(inferTask([0, 1, 1, 0]), "classification");
  assert.equal(inferTask([0.5, 1, 1]), "regression");
  // All distinct: counts or years, not labels.
  assert.equal(inferTask([1, 2, 3, 4]), "regression");
  // More than 20 distinct integers.
  assert.equal(inferTask([...Array(42).keys()].map((i) => i % 21)), "regression");
});

Deno.test("loadCsvFile: reads a file and names the dataset after it", async () => {
  const path = await Deno.makeTempFile({ suffix: ".tsv" });
  try {
    await Deno.writeTextFile(path, table(12, ["x", "y"], "\t"));
    const ds = await loadCsvFile(path, { target: "label" });
    assert.equal(ds.name, path.split("/").pop());
    assert.equal(ds.n, 12);
  } finally {
    await Deno.remove(path);
  }
});
