/**
 * End to end over a real port: searches on bundled Iris and Boston with tiny budgets, followed
 * through Server-Sent Events to the end; ranked losses, exports and the result document; listing
 * with pagination; idempotent submission.
 */
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
  name: "searches on Iris and Boston run to the end, followed by events, with losses and exports",
  // Deno.serve and the worker pool keep ops between awaits; close() stops them all.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestService({ workers: 2 });
    try {
      for (const [dataset, task] of [["iris", "classification"], ["boston", "regression"]]) {
        const res = await t.request("/v1/searches", postJson(tinySearch(dataset)));
        assertEquals(res.status, 202);
        const created = await res.json();
        assertEquals(res.headers.get("location"), `/v1/searches/${created.id}`);
        assertEquals(created.task, task);
        assert(["queued", "running"].includes(created.state));

        const stream = await t.request(`/v1/searches/${created.id}/events`);
        assertEquals(stream.headers.get("content-type"), "text/event-stream");
        const events = await readEvents(stream);
        const types = events.map((e) => e.event);
        assertEquals(types[0], "state");
        assertEquals(types.at(-1), "finished");
        assertEquals(events.at(-1)!.data.state, "succeeded");
        assertEquals(types.filter((e) => e === "generation").length, 2);
        assert(types.includes("progress") && types.includes("best"), types.join(","));
        // A progress event carries the search's Progress, as GET does: `generation` counts the
        // generations finished before it, and the one in progress is `current.generation`.
        let generationsSeen = 0;
        for (const e of events) {
          if (e.event === "generation") generationsSeen++;
          if (e.event !== "progress") continue;
          assertEquals(e.data.generation, generationsSeen, JSON.stringify(e.data));
          if (e.data.phase === "search") {
            assertEquals(e.data.current.generation, generationsSeen + 1);
          } else assertEquals([e.data.phase, e.data.current], ["final", undefined]);
        }
        // The final phase counts its training runs (both losses, and the learning-rate trials of
        // the tuned comparison) one by one up to their total, and announces runs as they are
        // planned: the first ones before any has finished, the tuned row's once the trials chose.
        const finalRuns = events.filter((e) => e.event === "progress" && e.data.phase === "final");
        const done = finalRuns.map((e) => e.data.final.done);
        const total = finalRuns.map((e) => e.data.final.total);
        assert(done.length >= 2, JSON.stringify(done));
        assertEquals(done[0], 0, JSON.stringify(done));
        done.forEach((d, i) => {
          if (i === 0) return;
          const step = d - done[i - 1];
          assert(step === 1 || (step === 0 && total[i] > total[i - 1]), JSON.stringify(finalRuns));
        });
        assertEquals(done.at(-1), total.at(-1));
        const ids = events.map((e) => e.id);
        assertEquals(ids, [...ids].sort((a, b) => a - b), "event ids increase");

        // Resuming after the third event replays exactly the rest.
        const resumed = await readEvents(
          await t.request(`/v1/searches/${created.id}/events`, {
            headers: { "last-event-id": String(ids[2]) },
          }),
        );
        assertEquals(resumed.map((e) => e.id), ids.slice(3));

        const status = await t.json(`/v1/searches/${created.id}`);
        assertEquals(status.body.state, "succeeded");
        assertEquals(status.body.progress.generation, 2);
        const final = status.body.progress.final;
        assert(final.total >= 2 * 2, JSON.stringify(final)); // two seeds, both losses at least
        assertEquals(final.done, final.total);
        assertEquals(status.body.config.dataset, dataset, "no server paths in the config");

        const losses = await t.json(`/v1/searches/${created.id}/losses`);
        assertEquals(losses.status, 200);
        assert(losses.body.losses.length > 0, "a ranked loss");
        const best = losses.body.losses[0];
        assertEquals(best.rank, 1);
        assert(typeof best.infix === "string" && typeof best.latex === "string");
        assertEquals(best.phi.length, best.tree.length);
        assertEquals(losses.body.final.seeds.length, 2);

        const py = await t.request(`/v1/searches/${created.id}/losses/1/pytorch`);
        assertEquals(py.headers.get("content-type"), "text/x-python; charset=utf-8");
        const pyText = await py.text();
        assert(pyText.includes("def learned_loss(input, target, reduction="), "the function");
        assert(pyText.includes("class LearnedLoss(torch.nn.Module):"), "and its module");
        const js = await t.request(`/v1/searches/${created.id}/losses/1/tfjs`);
        assert((await js.text()).includes("learnedLoss"));
        const doc = await t.json(`/v1/searches/${created.id}/losses/1/json`);
        assertEquals(doc.status, 200);
        assertEquals(doc.body.tree, best.tree);

        const result = await t.json(`/v1/searches/${created.id}/result`);
        assertEquals(result.body.kind, "lossmith.search-result");
        assertEquals(result.body.losses, losses.body.losses);
        assertEquals(result.body.generations.length, 2);
      }

      // Both searches are listed, newest first, one per page.
      const page1 = await t.request("/v1/searches?limit=1");
      const first = await page1.json();
      assertEquals(first.items.length, 1);
      assertEquals(first.items[0].dataset, "boston");
      assert(page1.headers.get("link")?.includes('rel="next"'));
      const second = await t.json(`/v1/searches?limit=1&cursor=${first.nextCursor}`);
      assertEquals(second.body.items[0].dataset, "iris");
      assertEquals(second.body.nextCursor, undefined);
      const failed = await t.json("/v1/searches?state=failed");
      assertEquals(failed.body.items, []);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "an Idempotency-Key returns the same search for the same body and refuses another body",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestService();
    try {
      const body = tinySearch("iris", {
        budget: { population: 4, generations: 1 },
        final: { seeds: 0 },
      });
      const key = { "idempotency-key": "order-42" };
      const a = await t.request("/v1/searches", postJson(body, key));
      const b = await t.request("/v1/searches", postJson(body, key));
      const [ja, jb] = [await a.json(), await b.json()];
      assertEquals([a.status, b.status], [202, 202]);
      assertEquals(jb.id, ja.id);
      assertEquals(b.headers.get("idempotent-replayed"), "true");
      const other = await t.request("/v1/searches", postJson({ ...body, seed: 9 }, key));
      assertEquals(other.status, 422);
      assertEquals(other.headers.get("content-type"), "application/problem+json");
      const p = await other.json();
      assert(p.detail.includes(ja.id), p.detail);
      assertEquals((await t.json("/v1/searches")).body.items.length, 1);
      await waitFor(t, ja.id, finished);
    } finally {
      await t.close();
    }
  },
});
