/**
 * Users in control, over real HTTP: a search on uploaded training, validation and test sets
 * (their sizes and sources in the responses, their ids in the configuration), the refusals of
 * sets that do not fit, and a search whose every candidate is rejected ending "No usable loss".
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  expectProblem,
  finished,
  form,
  postJson,
  startTestService,
  type TestService,
  tinySearch,
  waitFor,
} from "./support/service.ts";
import { irisParts } from "./support/iris_parts.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };

async function upload(t: TestService, text: string, name: string): Promise<string> {
  const res = await t.json(
    "/v1/datasets",
    form({ file: new Blob([text]), target: "species", name }),
  );
  assertEquals(res.status, 201, JSON.stringify(res.body));
  return res.body.id;
}

Deno.test({
  name: "a search on its own validation and test sets, and the sets refused",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const parts = await irisParts();
      const train = await upload(t, parts.train, "train");
      const validation = await upload(t, parts.validation, "validation");
      const test = await upload(t, parts.test, "test");
      const narrow = await upload(
        t,
        parts.test.split("\n").map((l) => l.split(",").slice(1).join(",")).join("\n"),
        "narrow",
      );

      const S = "/v1/searches";
      await expectProblem(t, S, postJson(tinySearch(train, { validation: narrow })), 422, {
        pointer: "/validation",
      });
      await expectProblem(t, S, postJson(tinySearch(train, { test: train })), 422, {
        pointer: "/test",
      });
      await expectProblem(t, S, postJson(tinySearch(train, { test: "ds_nosuch" })), 422, {
        pointer: "/test",
      });
      // A bundled dataset of another kind: regression against classification.
      const p = await expectProblem(
        t,
        S,
        postJson(tinySearch(train, { validation: "boston" })),
        422,
        { pointer: "/validation" },
      );
      assert(/regression/.test(p.detail), p.detail);

      const created = await t.json(S, postJson(tinySearch(train, { validation, test })));
      assertEquals(created.status, 202, JSON.stringify(created.body));
      const id = created.body.id;
      // In use as a validation set: it may not be deleted until the search ends.
      const del = await t.request(`/v1/datasets/${validation}`, { method: "DELETE" });
      assertEquals(del.status, 409);
      await del.body?.cancel();
      const done = await waitFor(t, id, finished);
      assertEquals(done.state, "succeeded", JSON.stringify(done.error));
      assertEquals([done.config.validation, done.config.test], [validation, test]);
      assertEquals(done.progress.rows, parts.rows);

      const losses = await t.json(`${S}/${id}/losses`);
      assertEquals(losses.body.rows, parts.rows);
      assertEquals(losses.body.sources, { validation: "validation", test: "test" });
      // Compared with the standard loss: a verdict, not "no usable loss".
      assert(
        ["better", "no-significant-difference", "worse", "undetermined"].includes(
          losses.body.outcome,
        ),
        losses.body.outcome,
      );
      const result = await t.json(`${S}/${id}/result`);
      assertEquals(result.body.dataset.rows, parts.rows);
      assertEquals([result.body.config.validation, result.body.config.test], [validation, test]);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a search in which every candidate is rejected ends 'No usable loss', with its counts",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const tiny = tinySearch();
      // A screen that cannot move the predictions rejects every loss.
      const body = {
        ...tiny,
        evaluation: { ...tiny.evaluation, screen: { steps: 5, lr: 0 } },
      };
      const created = await t.json("/v1/searches", postJson(body));
      assertEquals(created.status, 202, JSON.stringify(created.body));
      const done = await waitFor(t, created.body.id, finished);
      assertEquals(done.state, "failed");
      assertEquals(done.error.title, "No usable loss");
      assert(/rejected by the screen.*Keep the standard loss/.test(done.error.detail), done.error);
      const losses = await t.json(`/v1/searches/${created.body.id}/losses`);
      assertEquals([losses.body.outcome, losses.body.losses], ["no-usable-loss", []]);
      assertEquals(losses.body.conclusion, done.error.detail);
      const result = await t.json(`/v1/searches/${created.body.id}/result`);
      assertEquals(result.status, 200);
      assert(result.body.totals.rejected > 0 && result.body.final === undefined);
    } finally {
      await t.close();
    }
  },
});
