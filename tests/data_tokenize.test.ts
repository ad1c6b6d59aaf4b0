import assert from "node:assert/strict";
import { detectDelimiter, tokenize } from "../core/data/tokenize.ts";
import { DataError } from "../core/data/errors.ts";

const fields = (text: string, delim = ",") => tokenize(text, delim).map((r) => r.fields);

Deno.test("tokenize: quoted fields hold delimiters, doubled quotes and line breaks", () => {
  const text = 'a,b,c\n"x,y","say ""hi""","two\nlines"\n';
  assert.deepEqual(fields(text), [["a", "b", "c"], ["x,y", 'say "hi"', "two\nlines"]]);
});

Deno.test("tokenize: line numbers count the line breaks inside quotes", () => {
  const recs = tokenize('h1,h2\n"1\n2\n3",4\n5,6\n', ",");
  assert.deepEqual(recs.map((r) => r.line), [1, 2, 5]);
});

Deno.test("tokenize: CRLF, CR and a missing final newline all end records", () => {
  assert.deepEqual(fields("a,b\r\n1,2\r3,4"), [["a", "b"], ["1", "2"], ["3", "4"]]);
});

Deno.test("tokenize: blank lines are skipped but empty fields are kept", () => {
  assert.deepEqual(fields("a,b\n\n1,\n\n"), [["a", "b"], ["1", ""]]);
  assert.deepEqual(fields('a\n""\n'), [["a"], [""]]);
});

Deno.test("tokenize: an unterminated quote names the line it opened on", () => {
  assert.throws(
    () => tokenize('a,b\n1,2\n3,"oops\n4,5\n', ","),
    (e) => e instanceof DataError && e.row === 3 && /unterminated/.test(e.message),
  );
});

Deno.test("tokenize: text after a closing quote is an error", () => {
  assert.throws(
    () => tokenize('a,b\n"1"x,2\n', ","),
    (e) => e instanceof DataError && e.row === 2 && /after a closing quote/.test(e.message),
  );
});

Deno.test("detectDelimiter: tabs win only when the header has more of them", () => {
  assert.equal(detectDelimiter("a\tb\tc\n1\t2\t3"), "\t");
  assert.equal(detectDelimiter("a,b\tc\n"), ",");
  // Commas inside a quoted tab-separated header do not count.
  assert.equal(detectDelimiter('"x,y,z"\tb\n'), "\t");
});
