/** Every malformed-file error must say where: the file line (1-based, header = 1) and column. */

import assert from "node:assert/strict";
import { loadCsvFile, type ParseOptions } from "../core/data/csv.ts";
import { DataError } from "../core/data/errors.ts";

/** Header "a,b,label" then 12 good rows (lines 2..13); `edit` may replace lines by number. */
function table(edit: Record<number, string> = {}): string {
  const lines = ["a,b,label"];
  for (let i = 0; i < 12; i++) lines.push(`${i},${i / 2},${i % 2 ? "odd" : "even"}`);
  for (const [line, text] of Object.entries(edit)) lines[Number(line) - 1] = text;
  return lines.join("\n") + "\n";
}

/** Writes `text` to a real temp file, loads it and returns the DataError it must raise. */
async function loadError(
  text: string,
  opts: ParseOptions = { target: "label" },
): Promise<DataError> {
  const path = await Deno.makeTempFile({ suffix: ".csv" });
  try {
    await Deno.writeTextFile(path, text);
    await loadCsvFile(path, opts);
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  } finally {
    await Deno.remove(path);
  }
  throw new Error("expected a DataError, the file loaded");
}

Deno.test("csv error: empty or whitespace-only file", async () => {
  assert.match((await loadError("")).message, /empty/);
  assert.match((await loadError(" \n\r\n")).message, /empty/);
});

Deno.test("csv error: a first line of numbers is a missing header", async () => {
  const err = await loadError("1,2,3\n4,5,6\n");
  assert.match(err.message, /missing header/);
  assert.equal(err.row, 1);
});

Deno.test("csv error: unknown target lists the available columns", async () => {
  const err = await loadError(table(), { target: "Label" });
  assert.equal(err.column, "Label");
  assert.match(err.message, /not found; available columns: a, b, label/);
});

Deno.test("csv error: duplicate header names", async () => {
  const err = await loadError(table({ 1: "a,a,label" }));
  assert.equal(err.column, "a");
  assert.match(err.message, /duplicate/);
});

Deno.test("csv error: ragged row names its line and both field counts", async () => {
  const err = await loadError(table({ 5: "3,1.5" }));
  assert.equal(err.row, 5);
  assert.match(err.message, /line 5 has 2 fields, the header has 3/);
});

Deno.test("csv error: non-numeric feature names line, column and value", async () => {
  const err = await loadError(table({ 7: "5,abc,odd" }));
  assert.equal(err.row, 7);
  assert.equal(err.column, "b");
  assert.match(err.message, /non-numeric feature value "abc"/);
});

Deno.test("csv error: empty feature cell", async () => {
  const err = await loadError(table({ 3: ",0.5,odd" }));
  assert.equal(err.row, 3);
  assert.equal(err.column, "a");
  assert.match(err.message, /empty feature cell/);
});

Deno.test("csv error: NaN, infinity and float32 overflow are not finite", async () => {
  for (const bad of ["NaN", "-inf", "Infinity", "1e39"]) {
    const err = await loadError(table({ 9: `${bad},4,even` }));
    assert.equal(err.row, 9, bad);
    assert.equal(err.column, "a", bad);
    assert.match(err.message, /is not a finite number/, bad);
  }
});

Deno.test("csv error: line numbers count line breaks inside quoted fields", async () => {
  // Line 2 holds a label spanning lines 2-3, so the bad row starting on line 5 is line 5.
  const lines = table({ 2: '0,0,"two\nline"' }).split("\n");
  lines[4] = "x,1,odd"; // the 4th data record, which starts on file line 5
  const err = await loadError(lines.join("\n"));
  assert.equal(err.row, 5);
  assert.equal(err.column, "a");
});

Deno.test("csv error: too few rows", async () => {
  const err = await loadError("a,b,label\n1,2,x\n2,3,y\n");
  assert.match(err.message, /too few rows: 2 data rows, at least 10 needed/);
  assert.match((await loadError("a,b,label\n")).message, /too few rows: 0/);
});

Deno.test("csv error: text target under regression names line and target column", async () => {
  const err = await loadError(table(), { target: "label", task: "regression" });
  assert.equal(err.row, 2);
  assert.equal(err.column, "label");
});

Deno.test("csv error: empty target cell", async () => {
  const err = await loadError(table({ 4: "2,1," }));
  assert.equal(err.row, 4);
  assert.equal(err.column, "label");
  assert.match(err.message, /empty target cell/);
});

Deno.test("csv error: a class with a single row is named", async () => {
  const err = await loadError(table({ 6: "4,2,rare" }));
  assert.match(err.message, /class "rare" has 1 rows; at least 2 are needed/);
});

Deno.test("csv error: missing file", async () => {
  const missing = await loadCsvFile("/nonexistent/x.csv", { target: "y" }).catch((e) => e);
  assert.ok(missing instanceof DataError);
  assert.match(missing.message, /file not found/);
});
