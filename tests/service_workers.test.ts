/**
 * A worker whose runtime really breaks, through the API: a search whose unrolled batches do not
 * fit in the wasm heap (4 GiB) aborts the worker's wasm backend. The worker is replaced, the
 * candidate retried on a different worker, where it aborts again: it is recorded as failed with
 * both reasons. A search running beside it and the next search lose nothing, /healthz and
 * /metrics count the replacements, and the time from the fault to the replacement is printed.
 *
 * The service's memory checks would refuse this search before it ran (its memory share,
 * service/memory.ts, and the model's cap, core/model_size.ts); they are turned off here, as an
 * operator may, to meet the fault itself. Each abort fills one worker's
 * heap first: the process passes about 4.5 GB for a few seconds.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  finished,
  form,
  postJson,
  startTestService,
  tinySearch,
  waitFor,
} from "./support/service.ts";
import { largeIdxPair } from "./support/data_files.ts";
import { DEFAULT_LIMITS } from "../service/config.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };

/** 100 unrolled steps of batches of 17,280 rows of 784 features: 5.4 GB to upload at once. */
function oversized(dataset: string) {
  return {
    dataset,
    model: { kind: "mlp", hidden: [8] },
    budget: { population: 1, generations: 1 },
    evaluation: {
      screen: { enabled: false },
      localSearch: { metaSteps: 2, unrollSteps: 100 },
      batchSize: 65_536,
      fitnessSteps: 5,
    },
    execution: { candidateStack: "off" },
    final: { seeds: 0 },
    seed: 1,
  };
}

Deno.test({
  name: "a worker whose wasm heap aborts is replaced; its candidate fails on two workers; " +
    "the search beside it and the next one lose nothing",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({
      workers: 2,
      memory: { limitBytes: 0 },
      limits: { ...DEFAULT_LIMITS, maxModelBytes: Number.MAX_SAFE_INTEGER },
    });
    try {
      const { images, labels } = largeIdxPair(24_000);
      const upload = await t.json(
        "/v1/datasets",
        form({ images: new Blob([images as BlobPart]), labels: new Blob([labels as BlobPart]) }),
      );
      assertEquals(upload.status, 201, JSON.stringify(upload.body));
      const bystander = (await t.json("/v1/searches", postJson(tinySearch("iris")))).body;
      const big = (await t.json("/v1/searches", postJson(oversized(upload.body.id)))).body;

      const failed = await waitFor(t, big.id, finished, 300_000);
      assertEquals(failed.failures.length, 1, JSON.stringify(failed.failures));
      const reason = failed.failures[0].reason;
      const [, first, then] = /failed twice: first worker (\d): .*abort.*; then worker (\d): /
        .exec(reason) ?? [];
      assert(first !== undefined && then !== undefined, reason);
      console.log(`the oversized search: ${failed.state}; its candidate: ${reason}`);

      const beside = await waitFor(t, bystander.id, finished, 300_000);
      assertEquals([beside.state, beside.failures], ["succeeded", []]);
      const next = await t.json("/v1/searches", postJson(tinySearch("iris", { seed: 4 })));
      const after = await waitFor(t, next.body.id, finished, 300_000);
      assertEquals([after.state, after.failures], ["succeeded", []]);

      // The last replacement may still be starting (`degraded`): the pool comes back whole.
      let health = (await t.json("/healthz")).body;
      const deadline = Date.now() + 120_000;
      while (health.status === "degraded" && health.pool.starting > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        health = (await t.json("/healthz")).body;
      }
      assertEquals(health.status, "ok", JSON.stringify(health));
      assert(health.pool.broken >= 2 && health.pool.replaced >= 2, JSON.stringify(health));
      assertEquals(health.pool.ready, 2);
      console.log(`fault to replacement serving: ${health.pool.lastReplacementMs} ms`);
      const metrics = await (await t.request("/metrics")).text();
      const broken = /lossmith_worker_replacements_total\{reason="broken"\} (\d+)/.exec(metrics);
      assertEquals(Number(broken?.[1]), health.pool.broken);
    } finally {
      await t.close();
    }
  },
});
