/** NumPy .npy features + labels, plain and gzip, and the errors a bad file gets. */
import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
import { decodeNpyPair, loadNpyPair, parseNpy } from "../core/data/npy.ts";
import { DataError } from "../core/data/mod.ts";
import { loadDataset, parseDatasetRef } from "../core/prepare.ts";
import { gzip, npy } from "./support/data_files.ts";
import { pythonHas } from "./support/python.ts";

/** Writes the files into a fresh temp dir, runs `fn` on their paths, then removes the dir. */
async function withFiles<T>(
  files: Record<string, Uint8Array>,
  fn: (path: (name: string) => string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "lossmith-npy-" });
  try {
    for (const [name, bytes] of Object.entries(files)) {
      await Deno.writeFile(`${dir}/${name}`, bytes);
    }
    return await fn((name) => `${dir}/${name}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const pixels = Uint8Array.from({ length: 4 * 2 * 2 }, (_, i) => i * 17);
const images = npy("|u1", [4, 2, 2], pixels);
const labels = npy("<i8", [4], BigInt64Array.from([0n, 1n, 0n, 1n]));

Deno.test("npy: uint8 images + int64 labels from real files, plain and gzip", async () => {
  const files = {
    "x.npy": images,
    "y.npy": labels,
    "x.npy.gz": await gzip(images),
    "y.npy.gz": await gzip(labels),
  };
  await withFiles(files, async (p) => {
    for (const [x, y] of [["x.npy", "y.npy"], ["x.npy.gz", "y.npy.gz"]]) {
      const ds = await loadNpyPair(p(x), p(y));
      assertEquals([ds.name, ds.task, ds.n, ds.d, ds.nClasses], [x, "classification", 4, 4, 2]);
      assertEquals(ds.imageShape, [2, 2, 1]);
      assertEquals(ds.x[1], Math.fround(17 / 255)); // scaled as IDX images are
      assertEquals([...ds.y], [0, 1, 0, 1]);
      assertEquals(ds.classNames, ["0", "1"]);
    }
    // The CLI reference picks the format by extension and loads through loadDataset.
    const ref = parseDatasetRef(p("x.npy.gz"), { labels: p("y.npy.gz") });
    assertEquals(ref.kind, "npy");
    assertEquals((await loadDataset(JSON.parse(JSON.stringify(ref)))).n, 4);
  });
});

Deno.test("npy: f4 and f8 tables, [n, h, w, c] images, all header versions", async () => {
  const table = Float32Array.from({ length: 6 * 3 }, (_, i) => i / 4);
  const y = Float64Array.from({ length: 6 }, (_, i) => i * 1.5);
  for (const version of [1, 2, 3] as const) {
    const ds = await decodeNpyPair(
      npy("<f4", [6, 3], table, { version }),
      npy("<f8", [6], y, { version }),
    );
    assertEquals([ds.task, ds.n, ds.d, ds.imageShape], ["regression", 6, 3, undefined]);
    assertEquals([...ds.x], [...table]);
    assertEquals([...ds.y], [...Float32Array.from(y)]);
  }
  const f8 = Float64Array.from({ length: 4 * 2 * 1 * 3 }, (_, i) => i / 10);
  const rgb = await decodeNpyPair(
    npy("<f8", [4, 2, 1, 3], f8),
    npy("|i1", [4], Int8Array.from([-1, 2, -1, 2])),
  );
  assertEquals([rgb.d, rgb.imageShape, rgb.nClasses], [6, [2, 1, 3], 2]);
  assertEquals(rgb.x[5], Math.fround(0.5)); // float images are kept as given
  assertEquals([[...rgb.y], rgb.classNames], [[0, 1, 0, 1], ["-1", "2"]]);
  // Big-endian data and bool labels; integer labels can be read as regression targets.
  const be = new DataView(new ArrayBuffer(4 * 2 * 4));
  for (let i = 0; i < 8; i++) be.setFloat32(i * 4, i + 0.25, false);
  const big = await decodeNpyPair(
    npy(">f4", [4, 2], be),
    npy("|b1", [4], Uint8Array.from([1, 0, 1, 0])),
  );
  assertEquals([big.x[3], [...big.y]], [3.25, [1, 0, 1, 0]]);
  const reg = await decodeNpyPair(npy(">f4", [4, 2], be), labels, { task: "regression" });
  assertEquals(reg.task, "regression");
});

Deno.test("npy: bad files get a DataError that says what is wrong", async () => {
  const f4 = (n: number) => npy("<f4", [n, 2], new Float32Array(n * 2).fill(1));
  const cases: [Uint8Array, Uint8Array, RegExp][] = [
    [new TextEncoder().encode("<html>not found</html>"), labels, /magic string/],
    [new Uint8Array(0), labels, /an empty file/],
    [images.slice(0, -1), labels, /= 16 bytes of data but holds only 15 \(truncated\?\)/],
    [images.slice(0, 20), labels, /ends inside its header/],
    [images, labels.slice(0, -3), /the labels file declares shape \(4\) of <i8 = 32 bytes/],
    [images, npy("<i8", [3], new BigInt64Array(3)), /4 rows but the labels file 3/],
    [npy("<c8", [4, 2], new Float32Array(16)), labels, /dtype '<c8'; supported are/],
    [npy("<f2", [4, 2], new Uint16Array(8)), labels, /dtype '<f2'/],
    [npy("<U3", [4, 2], new Uint32Array(24)), labels, /dtype '<U3'/],
    [npy("<f4", [4, 2], new Float32Array(8), { fortran: true }), labels, /Fortran/],
    [labels, images, /features file has shape \(4\).*swapped/],
    [images, npy("<i8", [4, 2], new BigInt64Array(8)), /labels file has shape \(4, 2\)/],
    [npy("<f4", [4, 2], Float32Array.from([1, 2, 3, NaN, 5, 6, 7, 8])), labels, /not finite/],
    [npy("<f8", [4, 2], Float64Array.from([1, 2, 3, 4, 1e39, 6, 7, 8])), labels, /not finite/],
    [f4(4), npy("<f8", [4], Float64Array.from([0, 1, 0.5, 1])), /0\.5 at index 2.*not an integer/],
    [f4(4), npy("<f8", [4], Float64Array.from([0, 1, Infinity, 1])), /target value Infinity/],
    [new Uint8Array([0x1f, 0x8b, 1, 2, 3]), labels, /not valid gzip/],
  ];
  for (const [x, y, pattern] of cases) {
    // Float labels are regression targets unless classification is asked for.
    const task = /integer/.test(pattern.source) ? "classification" : undefined;
    const e = await assertRejects(() => decodeNpyPair(x, y, { task }), pattern);
    assert(e instanceof DataError, `${pattern}: ${e}`);
  }
  const version = npy("<f4", [1, 1], new Float32Array(1));
  version[6] = 4;
  const e = await assertRejects(() => decodeNpyPair(version, labels), /version 4\.0/);
  assert(e instanceof DataError);
  assertEquals(parseNpy(labels, "labels").shape, [4]);
  const missing = await loadNpyPair("/nonexistent/x.npy", "/nonexistent/y.npy").catch((e) => e);
  assert(missing instanceof DataError && /file not found/.test(missing.message));
});

Deno.test("npy: a .npy dataset reference needs its labels file", () => {
  assertThrows(() => parseDatasetRef("x.npy"), /a NumPy dataset needs its 'labels' file/);
  assertThrows(
    () => parseDatasetRef("train-images-idx3-ubyte"),
    /an IDX dataset needs its 'labels' file/,
  );
  assertEquals(parseDatasetRef("train-images-idx3-ubyte.gz", { labels: "l.gz" }).kind, "idx");
  assertEquals(parseDatasetRef("mnist").kind, "bundled");
  assertEquals(parseDatasetRef("data.tsv", { target: "y" }), {
    kind: "csv",
    path: "data.tsv",
    target: "y",
  });
});

/** Files written by numpy itself, where /usr/bin/python3 has numpy. */
const hasNumpy = await pythonHas("numpy");

Deno.test({
  name: "npy: round trip through numpy.save (f4, f8, u1 images, i8 labels, gzip, Fortran)",
  ignore: !hasNumpy,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lossmith-numpy-" });
    try {
      const script = `
import gzip, numpy as np, sys
d = sys.argv[1]
rng = np.random.default_rng(0)
np.save(d + "/f4.npy", (np.arange(30, dtype=np.float32) / 7).reshape(10, 3))
np.save(d + "/f8.npy", (np.arange(30, dtype=np.float64) / 3).reshape(10, 3))
np.save(d + "/u1.npy", (np.arange(10 * 4 * 3, dtype=np.int64) % 256).astype(np.uint8).reshape(10, 4, 3))
np.save(d + "/i8.npy", np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 2], dtype=np.int64))
np.save(d + "/reg.npy", np.linspace(-1, 1, 10))
np.save(d + "/fortran.npy", np.asfortranarray(np.ones((10, 3))))
np.save(d + "/be.npy", np.arange(20, dtype=">f8").reshape(10, 2))
with gzip.open(d + "/u1.npy.gz", "wb") as f:
    np.save(f, (np.arange(10 * 4 * 3, dtype=np.int64) % 256).astype(np.uint8).reshape(10, 4, 3))
`;
      const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", script, dir] })
        .output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const p = (f: string) => `${dir}/${f}`;

      const f4 = await loadNpyPair(p("f4.npy"), p("i8.npy"));
      assertEquals([f4.n, f4.d, f4.nClasses, f4.y[2]], [10, 3, 3, 2]);
      assertEquals(f4.x[4], Math.fround(4 / 7));
      const f8 = await loadNpyPair(p("f8.npy"), p("reg.npy"));
      assertEquals([f8.task, f8.x[29], f8.y[0], f8.y[9]], [
        "regression",
        Math.fround(29 / 3),
        -1,
        1,
      ]);
      for (const images of ["u1.npy", "u1.npy.gz"]) {
        const im = await loadNpyPair(p(images), p("i8.npy"));
        assertEquals([im.d, im.imageShape, im.x[5]], [12, [4, 3, 1], Math.fround(5 / 255)]);
      }
      const be = await loadNpyPair(p("be.npy"), p("i8.npy"));
      assertEquals([be.x[0], be.x[19]], [0, 19]);
      await assertRejects(() => loadNpyPair(p("fortran.npy"), p("i8.npy")), /Fortran/);
      await assertRejects(() => loadNpyPair(p("f4.npy"), p("f4.npy")), /labels file has shape/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
