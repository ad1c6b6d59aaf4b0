// deno-lint-ignore-file no-explicit-any
/**
 * A job's life through the service, over a real port and a real SQLite file: a queued search
 * cancelled at once; a search whose data cannot be prepared fails; a graceful shutdown leaves a
 * running search `running`, so that it resumes at the next start; a running search cancelled
 * keeps the ranked losses of its finished generations. Each ends with exactly one `finished`
 * event.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  finished,
  form,
  postJson,
  readEvents,
  startTestService,
  tinySearch,
  waitFor,
} from "./support/service.ts";
import { openStorage } from "../store/mod.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };

/** Long enough to still be running whenever the test looks. */
const LONG = tinySearch("boston", {
  budget: { population: 8, generations: 200 },
  evaluation: { screen: { steps: 100 }, localSearch: { metaSteps: 20 }, fitnessSteps: 200 },
  final: { seeds: 0 },
});

const CSV = ["a,b,y", ...Array.from({ length: 40 }, (_, i) => `${i % 7},${i % 3},${i % 2}`)]
  .join("\n");

async function finishedEvents(t: Awaited<ReturnType<typeof startTestService>>, id: string) {
  const events = await readEvents(await t.request(`/v1/searches/${id}/events`));
  return events.filter((e) => e.event === "finished");
}

Deno.test({
  name: "a queued search is cancelled at once; one whose data cannot be prepared fails",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({ maxRunningJobs: 1 });
    try {
      const upload = await t.json("/v1/datasets", form({ file: new Blob([CSV]), target: "y" }));
      assertEquals(upload.status, 201);

      // One search holds the only running slot; the two after it wait.
      const running = (await t.json("/v1/searches", postJson(LONG))).body;
      const broken = (await t.json("/v1/searches", postJson(tinySearch(upload.body.id)))).body;
      const queued = (await t.json("/v1/searches", postJson(tinySearch("iris")))).body;
      await waitFor(t, running.id, (s) => s.state === "running");
      assertEquals((await t.json(`/v1/searches/${queued.id}`)).body.state, "queued");

      const cancel = await t.json(`/v1/searches/${queued.id}:cancel`, { method: "POST" });
      assertEquals(cancel.status, 200);
      assertEquals(cancel.body.state, "cancelled");
      assertEquals(cancel.body.cancelRequested, true);
      assertEquals(cancel.body.progress.phase, "done");
      assertEquals(cancel.body.startedAt, null, "it never ran");
      assertEquals((await finishedEvents(t, queued.id)).map((e) => e.data.state), ["cancelled"]);
      // Cancelling again changes nothing.
      const again = await t.json(`/v1/searches/${queued.id}:cancel`, { method: "POST" });
      assertEquals([again.status, again.body.finishedAt], [200, cancel.body.finishedAt]);

      // A queued search holds its dataset: deleting it through the API is refused.
      const del = await t.request(`/v1/datasets/${upload.body.id}`, { method: "DELETE" });
      assertEquals(del.status, 409);
      await del.body?.cancel();
      // The upload's file is lost on disk while its search waits: the search cannot prepare it.
      await Deno.remove(`${t.dir}/files/${upload.body.id}`, { recursive: true });
      await t.request(`/v1/searches/${running.id}:cancel`, { method: "POST" }).then((r) =>
        r.body?.cancel()
      );
      const failed = await waitFor(t, broken.id, finished);
      assertEquals(failed.state, "failed");
      assert(/could not prepare/.test(failed.error.detail), JSON.stringify(failed.error));
      assertEquals(failed.progress.phase, "done");
      const ends = await finishedEvents(t, broken.id);
      assertEquals(ends.map((e) => e.data.state), ["failed"]);
      assertEquals(ends[0].data.error, failed.error);
      assertEquals((await t.json(`/v1/searches/${running.id}`)).body.state, "cancelled");
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a shutdown leaves a running search running; it resumes at the next start, and a " +
    "cancel keeps its ranked losses",
  ...SERVICE_TEST,
  fn: async () => {
    let t = await startTestService();
    const dir = t.dir;
    let id: string;
    let before: any;
    try {
      id = (await t.json("/v1/searches", postJson(LONG))).body.id;
      // Until a checkpoint holds a ranked loss (while running, the last checkpoint's ranking).
      const deadline = Date.now() + 120_000;
      while ((await t.json(`/v1/searches/${id}/losses`)).body.losses.length === 0) {
        assert(Date.now() < deadline, "no ranked loss was checkpointed in time");
        await new Promise((r) => setTimeout(r, 20));
      }
      before = (await t.json(`/v1/searches/${id}`)).body;
      assertEquals(before.state, "running");
    } finally {
      await t.close();
    }
    // What the database says between the two runs of the service.
    const store = await openStorage({ db: `${dir}/lossmith.sqlite` });
    try {
      const job = (await store.jobs.getById(id))!;
      assertEquals([job.state, job.cancelRequested, job.finishedAt], ["running", false, null]);
      assert(await store.checkpoints.count(id) >= before.progress.generation);
      const events = await store.events.after(id, 0);
      assertEquals(events.filter((e) => e.type === "finished"), []);
    } finally {
      await store.close();
    }

    t = await startTestService({}, dir);
    try {
      const resumed = await waitFor(t, id, (s) => s.progress.resumedFrom !== undefined);
      assertEquals(resumed.state, "running");
      assert(resumed.progress.resumedFrom >= before.progress.generation);
      assert(resumed.progress.generation >= resumed.progress.resumedFrom);

      const cancel = await t.json(`/v1/searches/${id}:cancel`, { method: "POST" });
      assertEquals(cancel.status, 200);
      assertEquals(cancel.body.state, "cancelled");
      const losses = (await t.json(`/v1/searches/${id}/losses`)).body;
      assertEquals(losses.stopped, "cancelled");
      assert(losses.losses.length > 0, "the finished generations' losses are kept");
      const result = (await t.json(`/v1/searches/${id}/result`)).body;
      assert(result.generations.length >= resumed.progress.resumedFrom);
      const ends = await finishedEvents(t, id);
      assertEquals(ends.map((e) => [e.data.state, e.data.stopped]), [["cancelled", "cancelled"]]);
    } finally {
      await t.close();
    }
  },
});
