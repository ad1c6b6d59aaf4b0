/** IDX images + labels, plain and gzip, and the errors a bad download gets. */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { decodeIdxPair, parseIdx } from "../core/data/idx.ts";
import { DataError } from "../core/data/mod.ts";
import { gzip, idx } from "./support/data_files.ts";

const images = idx(8, [4, 2, 2], Array.from({ length: 16 }, (_, i) => i * 17));
const labels = idx(8, [4], [0, 1, 0, 1]);

Deno.test("an IDX pair becomes a classification dataset with pixels in [0, 1]", async () => {
  for (const [im, lb] of [[images, labels], [await gzip(images), await gzip(labels)]]) {
    const ds = await decodeIdxPair(im, lb, { name: "digits" });
    assertEquals([ds.name, ds.task, ds.n, ds.d, ds.nClasses], [
      "digits",
      "classification",
      4,
      4,
      2,
    ]);
    assertEquals(ds.imageShape, [2, 2, 1]);
    assertEquals(ds.x[1], Math.fround(17 / 255));
    assertEquals([...ds.y], [0, 1, 0, 1]);
  }
});

Deno.test("bad IDX files get errors that say what is wrong", async () => {
  const cases: [Uint8Array, Uint8Array, RegExp][] = [
    [new Uint8Array([7, 7, 8, 1]), labels, /magic number/],
    [idx(0x0d, [4, 2, 2], new Array(64).fill(0)), labels, /type 0x0d/],
    [images.slice(0, -1), labels, /declares dimensions \[4, 2, 2\] = 16 values but holds 15/],
    [labels, images, /dimension\(s\); expected \[n, rows, cols\]/],
    [images, idx(8, [3], [0, 1, 0]), /4 images but the labels file 3/],
    [new Uint8Array([0x1f, 0x8b, 1, 2, 3]), labels, /not valid gzip/],
  ];
  for (const [im, lb, pattern] of cases) {
    const e = await assertRejects(() => decodeIdxPair(im, lb), pattern);
    assert(e instanceof DataError);
  }
  assertEquals(parseIdx(labels, "labels").dims, [4]);
});
