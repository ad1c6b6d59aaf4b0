/**
 * Memory bounded before it is spent, through the API: a gzip file inflates to at most the upload
 * limit, counted while it inflates (a bomb, and a million-image IDX scaled down to a small
 * limit, are refused, nothing stored).
 */
import { assert, assertEquals } from "./support/assert.ts";
import { expectProblem, form, startTestService, tableCounts } from "./support/service.ts";
import { DEFAULT_LIMITS } from "../service/config.ts";
import { gzip, idx, largeIdxPair } from "./support/data_files.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };
const MiB = 2 ** 20;

const blob = (b: Uint8Array) => new Blob([b as BlobPart]);

/** IDX images of `n` zero images of 28 x 28: a few KB of gzip. */
function zeroImages(n: number): Uint8Array {
  const out = new Uint8Array(16 + n * 784);
  const view = new DataView(out.buffer);
  out.set([0, 0, 8, 3]);
  [n, 28, 28].forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return out;
}

Deno.test({
  name: "gzip data inflates to at most the upload limit, refused while inflating",
  ...SERVICE_TEST,
  fn: async () => {
    const limits = { ...DEFAULT_LIMITS, maxUploadBytes: 2 * MiB };
    const t = await startTestService({ limits });
    try {
      const before = tableCounts(t.service);
      // A bomb: 64 MiB of images in about 64 KB, well under the 2 MiB body limit.
      const bomb = await gzip(zeroImages(85_000));
      assert(bomb.length < 200_000, `${bomb.length}`);
      // The million-image IDX, scaled to the limit: 10,000 images (7.8 MB) in a few KB.
      const many = await gzip(zeroImages(10_000));
      for (const images of [bomb, many]) {
        const labels = idx(8, [1], [0]);
        const p = await expectProblem(
          t,
          "/v1/datasets",
          form({ images: blob(images), labels: blob(labels) }),
          413,
          { parameter: "images" },
        );
        assert(/inflates to more than 2097152 bytes/.test(p.detail), p.detail);
      }
      assertEquals(tableCounts(t.service), before);
      // Within the limit, gzip is read as before.
      const small = largeIdxPair(600);
      const ok = await t.json(
        "/v1/datasets",
        form({ images: blob(await gzip(small.images)), labels: blob(small.labels) }),
      );
      assertEquals([ok.status, ok.body.rows], [201, 600]);
    } finally {
      await t.close();
    }
  },
});
