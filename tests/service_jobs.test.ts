/**
 * Jobs on the shared pool under stress: a worker killed twice from outside during one candidate
 * is the infrastructure's doing, not the candidate's: it is retried, and no candidate fails for
 * it; status requests stay fast while
 * searches compute (the latency is measured and printed); a cancelled search stops within
 * seconds (the time is measured and printed) while the other one goes on.
 */
// deno-lint-ignore-file no-explicit-any
import { assert, assertEquals } from "./support/assert.ts";
import { finished, postJson, startTestService, tinySearch, waitFor } from "./support/service.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilBusy(busy: () => number[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (busy().length === 0) {
    if (Date.now() > deadline) throw new Error("no worker became busy");
    await sleep(2);
  }
}

Deno.test({
  name: "workers killed from outside under a candidate fail no candidate; the search succeeds",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({ workers: 1 });
    try {
      const pool = t.service.pool;
      const body = tinySearch("iris", {
        budget: { population: 4, generations: 2 },
        evaluation: { screen: { steps: 200 }, localSearch: { metaSteps: 5 }, fitnessSteps: 300 },
        final: { steps: 40, seeds: 1 },
      });
      const created = await t.json("/v1/searches", postJson(body));
      assertEquals(created.status, 202);
      // Once candidates are being screened, the request in flight is killed; its retry goes
      // to the replacement worker, which is killed too. Neither loss is the candidate's.
      await waitFor(t, created.body.id, (s) => s.progress.current !== undefined);
      await untilBusy(() => pool.busyWorkers());
      pool.terminateWorker(0);
      await untilBusy(() => pool.busyWorkers());
      pool.terminateWorker(0);
      const done = await waitFor(t, created.body.id, finished);
      assertEquals(done.state, "succeeded", JSON.stringify(done.error));
      assertEquals([pool.counters.restarts, pool.counters.lost], [2, 2]);
      assert(pool.counters.retries >= 2);
      // Candidates may fail by themselves (an error in the worker): never by the kills.
      assertEquals(done.failures.length, done.progress.filters.failed);
      const killed = done.failures.filter((f: any) => /terminated/.test(f.reason));
      assertEquals(killed, [], JSON.stringify(done.failures));
      const result = (await t.json(`/v1/searches/${done.id}/result`)).body;
      assertEquals(result.totals.failed, done.failures.length);
      assert(result.losses.length > 0, "the candidates were ranked");
    } finally {
      await t.close();
    }
  },
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

Deno.test({
  name: "status requests stay fast while searches run; a cancelled search stops within seconds",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({ workers: 2 });
    try {
      // Two searches large enough to keep both workers busy for the whole measurement.
      const body = (seed: number) =>
        tinySearch("boston", {
          budget: { population: 8, generations: 50 },
          evaluation: { screen: { steps: 100 }, localSearch: { metaSteps: 20 }, fitnessSteps: 200 },
          final: { seeds: 0 },
          seed,
        });
      const a = (await t.json("/v1/searches", postJson(body(1)))).body;
      const b = (await t.json("/v1/searches", postJson(body(2)))).body;
      await waitFor(t, a.id, (s) => s.progress.evaluations > 0 || finished(s));
      const pool = t.service.pool;
      const latencies: number[] = [];
      let busySamples = 0;
      for (let i = 0; i < 100; i++) {
        const t0 = performance.now();
        const res = await t.request(`/v1/searches/${i % 2 ? a.id : b.id}`);
        await res.json();
        latencies.push(performance.now() - t0);
        if (pool.busyWorkers().length === pool.parallelism) busySamples++;
      }
      latencies.sort((x, y) => x - y);
      const [p50, p95, max] = [
        percentile(latencies, 0.5),
        percentile(latencies, 0.95),
        latencies.at(-1)!,
      ];
      console.log(
        `status latency under load (100 GETs, 2 searches on 2 workers, all workers busy in ` +
          `${busySamples}/100 samples): p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${
            max.toFixed(1)
          } ms`,
      );
      assert(busySamples >= 50, `the workers were busy in only ${busySamples} samples`);
      assert(p95 < 500, `p95 ${p95} ms`);

      const t0 = performance.now();
      const cancel = await t.request(`/v1/searches/${a.id}:cancel`, { method: "POST" });
      const cancelled = await cancel.json();
      const ms = performance.now() - t0;
      console.log(
        `cancel -> stopped (POST :cancel until the job had stopped): ${ms.toFixed(1)} ms`,
      );
      assertEquals(cancel.status, 200);
      assertEquals(cancelled.state, "cancelled");
      assert(ms < 5000, `cancellation took ${ms} ms`);
      // The other search goes on and now has the pool to itself.
      const other = (await t.json(`/v1/searches/${b.id}`)).body;
      assertEquals(other.state, "running");
      const events = await (await t.request(`/v1/searches/${a.id}/events`)).text();
      assert(events.includes("event: finished"), "the cancelled search's stream ends");
      await t.request(`/v1/searches/${b.id}:cancel`, { method: "POST" }).then((r) =>
        r.body?.cancel()
      );
    } finally {
      await t.close();
    }
  },
});
