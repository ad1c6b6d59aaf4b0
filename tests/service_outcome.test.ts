/**
 * What a search came to, through the API: a search in which no candidate survives ends with an
 * outcome that says so (not a bare "succeeded" with nothing in it), in its losses, its result and
 * its finished event, with the split sizes and the warnings about a validation split too small.
 */
// deno-lint-ignore-file no-explicit-any
import { assert, assertEquals } from "./support/assert.ts";
import {
  finished,
  postJson,
  readEvents,
  startTestService,
  tinySearch,
  waitFor,
} from "./support/service.ts";

Deno.test({
  name: "a search with no usable loss ends with an outcome that says so",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestService({ workers: 1 });
    try {
      // A screen whose Adam steps are of length 0 leaves every prediction where it was: no
      // loss improves the metric, so every candidate is rejected.
      const body = tinySearch("iris", {
        evaluation: {
          screen: { steps: 5, lr: 0 },
          localSearch: { metaSteps: 5 },
          fitnessSteps: 20,
        },
      });
      const created = await t.json("/v1/searches", postJson(body));
      const done = await waitFor(t, created.body.id, finished);
      const losses: any = (await t.json(`/v1/searches/${done.id}/losses`)).body;
      assertEquals([losses.losses.length, losses.outcome, losses.final], [
        0,
        "no-usable-loss",
        undefined,
      ]);
      assert(losses.conclusion.startsWith("No usable loss"), losses.conclusion);
      assert(losses.conclusion.includes("Keep the standard loss, cross-entropy."));
      assertEquals(losses.rows, { train: 108, validation: 12, test: 30 });
      assert(losses.warnings.some((w: string) => /validation split has 12 rows/.test(w)));
      const result: any = (await t.json(`/v1/searches/${done.id}/result`)).body;
      assertEquals([result.outcome, result.totals.rejected > 0], ["no-usable-loss", true]);
      const events = await readEvents(await t.request(`/v1/searches/${done.id}/events`));
      const end = events.find((e) => e.event === "finished");
      assertEquals(end?.data.outcome, "no-usable-loss");
    } finally {
      await t.close();
    }
  },
});
