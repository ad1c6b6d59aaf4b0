// deno-lint-ignore-file no-explicit-any
/**
 * A job's life through the service, over a real port and a real SQLite file: a queued search
 * cancelled at once; a search whose data cannot be prepared fails; a graceful shutdown leaves a
 * running search `running`, so that it resumes at the next start; a running search cancelled
 * keeps the ranked losses of its finished generations. Each ends with exactly one `finished`
 * event, after which a reconnecting EventSource gets 204 and stops. Revoking a key (the CLI, in
 * another process) cancels its searches.
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

Deno.test({
  name: "after `finished`, a reconnection gets 204 No Content, on which EventSource stops",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const id = (await t.json("/v1/searches", postJson(tinySearch("iris")))).body.id;
      await waitFor(t, id, finished);
      const events = await readEvents(await t.request(`/v1/searches/${id}/events`));
      const last = events[events.length - 1];
      assertEquals(last.event, "finished");
      for (
        const init of [
          { headers: { "last-event-id": String(last.id) } },
          { path: `?after=${last.id}` },
        ]
      ) {
        const res = await t.request(
          `/v1/searches/${id}/events${"path" in init ? init.path : ""}`,
          "headers" in init ? { headers: init.headers } : {},
        );
        assertEquals(res.status, 204);
        assertEquals(await res.text(), "");
      }
      // Before the end, the same request replays what was missed.
      const replay = await t.request(`/v1/searches/${id}/events`, {
        headers: { "last-event-id": String(last.id - 1) },
      });
      assertEquals((await readEvents(replay)).map((e) => e.event), ["finished"]);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "revoking a key with the CLI cancels its queued and running searches",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({ maxRunningJobs: 1 });
    try {
      const { id: keyId, token } = await t.service.storage.keys.create("mallory");
      const other = (await t.service.storage.keys.create("alice")).token;
      const running = (await t.json("/v1/searches", { ...postJson(LONG), key: token })).body;
      const queued = (await t.json("/v1/searches", { ...postJson(LONG), key: token })).body;
      await waitFor(t, running.id, (s) => s.state === "running", 120_000, token);
      const cli = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "main.ts", "keys", "revoke", keyId, "--db", `${t.dir}/lossmith.sqlite`],
        cwd: new URL("..", import.meta.url),
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(cli.success, new TextDecoder().decode(cli.stderr));
      assert(
        /2 queued or running search\(es\) cancelled/.test(new TextDecoder().decode(cli.stdout)),
      );
      const t0 = performance.now();
      // The key is gone: the owner's view is read through the service itself.
      const state = async (id: string) => (await t.service.storage.jobs.getById(id))!.state;
      while (
        (await Promise.all([running.id, queued.id].map(state))).some((s) => s !== "cancelled")
      ) {
        assert(performance.now() - t0 < 20_000, "the searches were not cancelled in time");
        await new Promise((r) => setTimeout(r, 50));
      }
      console.log(`revoke -> searches cancelled: ${(performance.now() - t0).toFixed(0)} ms`);
      assertEquals((await t.request("/v1/searches", { key: token })).status, 401);
      // Another key's work is untouched.
      const others = await t.json("/v1/searches", { key: other });
      assertEquals(others.status, 200);
    } finally {
      await t.close();
    }
  },
});
