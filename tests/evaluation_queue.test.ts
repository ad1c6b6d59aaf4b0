/**
 * The evaluation queue on pg-boss (store/postgres/evaluations.ts), on a real PostgreSQL server,
 * with two storages as two nodes would open them: a request is answered whoever takes it, values
 * JSON cannot write come back as they were, a request made again meets the first and its answer,
 * a lease that is not renewed expires and goes to the other node while the stale attempt's answer
 * is refused, a request whose every lease lapses is answered as no node's to run (so that the
 * search stops instead of failing a candidate), and a cancel reaches the waiter and the holder. It measures what a lease costs:
 * the round trip of a request whose work takes no time.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { skipReason, testDatabase, testServer } from "./support/postgres.ts";
import { openStorage, type Storage } from "../store/mod.ts";

const request = (key: string, args: unknown[] = []) => ({
  jobId: "srch_q",
  datasetIds: { dataset: "iris" },
  key,
  context: { id: "srch_q" },
  op: "screen",
  args,
});

async function twoNodes(): Promise<{ a: Storage; b: Storage; close(): Promise<void> }> {
  const db = await testDatabase();
  if ("skip" in db) throw new Error(db.skip);
  const open = () => openStorage({ db: "", databaseUrl: db.url, service: true, leaseMs: 10_000 });
  const a = await open();
  const b = await open();
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
      await db.drop();
    },
  };
}

const ignore = skipReason(await testServer());
const OPTIONS = { ignore, sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "a request is answered by whichever node takes it, without loss, once per key",
  ...OPTIONS,
  fn: async () => {
    const { a, b, close } = await twoNodes();
    try {
      const qa = a.evaluations!, qb = b.evaluations!;
      const args = [["square", "sub", "fx", "y"], { x: -0, big: 1e300 }];
      const waiting = qa.request(request("k1", args));
      let tasks = await qb.take(4);
      for (let i = 0; tasks.length === 0 && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 20));
        tasks = await qb.take(4);
      }
      assertEquals(tasks.length, 1);
      assertEquals(tasks[0].args, args);
      assert(Object.is((tasks[0].args[1] as { x: number }).x, -0), "-0 travels as -0");
      const result = { fitness: Infinity, metricBefore: NaN, phi: [1, -Infinity] };
      assert(await qb.answer(tasks[0], { ok: true, result }));
      assertEquals(await waiting, { ok: true, result });
      // Made again (a new owner after a crash): the answer is there, nothing is queued.
      assertEquals(await qb.request(request("k1", args)), { ok: true, result });
      assertEquals(await qa.take(4), []);
      await qa.forget("srch_q");
      const again = qa.request(request("k1", args));
      const [t] = await waitTake(qb);
      await qb.answer(t, { ok: false, error: "boom" });
      assertEquals(await again, { ok: false, error: "boom" }, "forgotten: computed anew");
    } finally {
      await close();
    }
  },
});

async function waitTake(q: NonNullable<Storage["evaluations"]>, withinMs = 10_000) {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const tasks = await q.take(1);
    if (tasks.length) return tasks;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("nothing to take");
}

Deno.test({
  name: "a lease not renewed expires: the other node takes the request, the stale answer is " +
    "refused",
  ...OPTIONS,
  fn: async () => {
    const { a, b, close } = await twoNodes();
    try {
      const qa = a.evaluations!, qb = b.evaluations!;
      const waiting = qa.request(request("k2"));
      waiting.catch(() => {}); // awaited below; kept from going unhandled if the test fails first
      const [held] = await waitTake(qa);
      assert(await qa.renew(held), "renewed while held");
      // a stops renewing (as a killed node does); after the lease, b gets the request.
      const t0 = performance.now();
      const [taken] = await waitTake(qb, 3 * qa.leaseMs);
      const ms = performance.now() - t0;
      console.log(
        `an unrenewed lease of ${qa.leaseMs} ms went to the other node after ${ms.toFixed(0)} ms`,
      );
      assertEquals([taken.id, taken.attempt], [held.id, held.attempt + 1]);
      assert(!await qa.renew(held), "the stale holder's renewal is refused");
      assert(!await qa.answer(held, { ok: true, result: "stale" }), "and so is its answer");
      assert(await qb.answer(taken, { ok: true, result: "fresh" }));
      assertEquals(await waiting, { ok: true, result: "fresh" });
    } finally {
      await close();
    }
  },
});

Deno.test({
  name: "a request whose every lease lapses is answered `unavailable`: the nodes' failure, " +
    "not the request's",
  ...OPTIONS,
  fn: async () => {
    const { a, b, close } = await twoNodes();
    try {
      const qa = a.evaluations!, qb = b.evaluations!;
      const waiting = qa.request(request("k4"));
      waiting.catch(() => {});
      // Each node takes it and lets the lease lapse (as one whose workers are gone does).
      const attempts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const [t] = await waitTake(i % 2 ? qb : qa, 4 * qa.leaseMs);
        attempts.push(t.attempt);
      }
      assertEquals(attempts, [0, 1, 2]);
      const answer = await waiting;
      assert(!answer.ok && answer.unavailable === true, JSON.stringify(answer));
    } finally {
      await close();
    }
  },
});

Deno.test({
  name: "a cancel rejects the waiter, fails the holder's renewal and tells every node",
  ...OPTIONS,
  fn: async () => {
    const { a, b, close } = await twoNodes();
    try {
      const qa = a.evaluations!, qb = b.evaluations!;
      const heard: string[] = [];
      const unlisten = qb.onCancelled((id) => heard.push(id));
      // One of them is taken, the other stays queued; both waiters must learn of the cancel.
      const waiters = Promise.allSettled([qa.request(request("k3")), qa.request(request("k4"))]);
      const [held] = await waitTake(qb);
      await qa.cancel("srch_q");
      for (const w of await waiters) {
        assertEquals(w.status, "rejected");
        assert(/cancelled/.test(String((w as PromiseRejectedResult).reason)));
      }
      assert(!await qb.renew(held));
      assert(!await qb.answer(held, { ok: true, result: 1 }));
      for (let i = 0; i < 100 && heard.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      unlisten();
      assertEquals(heard, ["srch_q"]);
    } finally {
      await close();
    }
  },
});

Deno.test({
  name: "what a lease costs: the round trip of a request whose work takes no time",
  ...OPTIONS,
  fn: async () => {
    const { a, b, close } = await twoNodes();
    try {
      const qa = a.evaluations!, qb = b.evaluations!;
      // b serves as a node's executor would: woken by the queue's notification, then takes.
      let serving = true;
      let wake = () => {};
      const unlisten = qb.onReady(() => wake());
      const server = (async () => {
        while (serving) {
          const tasks = await qb.take(1);
          for (const t of tasks) await qb.answer(t, { ok: true, result: t.args[0] });
          if (tasks.length === 0) {
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 200);
            });
          }
        }
      })();
      const times: number[] = [];
      for (let i = 0; i < 60; i++) {
        const t0 = performance.now();
        const answer = await qa.request(request(`rt${i}`, [i]));
        times.push(performance.now() - t0);
        assertEquals(answer, { ok: true, result: i });
      }
      serving = false;
      wake();
      await server;
      unlisten();
      const ms = times.slice(10).sort((x, y) => x - y);
      console.log(
        `lease overhead (post, notify, take, answer, notify, read; pg-boss): median ` +
          `${ms[ms.length >> 1].toFixed(1)} ms, p90 ${
            ms[Math.floor(ms.length * 0.9)].toFixed(1)
          } ms`,
      );
      assert(ms[ms.length >> 1] < 1000, "notifications, not the 3 s poll, carry it");
    } finally {
      await close();
    }
  },
});
