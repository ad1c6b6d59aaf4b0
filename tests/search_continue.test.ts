// deno-lint-ignore-file no-explicit-any
/**
 * Continuing a finished search, and warm-starting one from another's ranking, over real HTTP on
 * a real SQLite file. A search of 5 generations continued for 3 computes what one search of 8
 * with the same seed computes: the same losses and fitnesses, generation by generation, and the
 * same final comparison; the one continued stays as it was. What is refused is refused with the
 * field at fault, and another key's searches are not found.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  expectProblem,
  finished,
  postJson,
  startTestService,
  type TestService,
  tinySearch,
  waitFor,
} from "./support/service.ts";
import { canonicalKey } from "../core/expr/canonical.ts";
import { toPrefix } from "../core/expr/print.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };

/**
 * Stacking pinned, as for any run that must repeat exactly: "auto" decides by a timing (and a
 * continuation reuses the calibration the search it continues measured).
 */
const search = (generations: number, extra: Record<string, unknown> = {}) =>
  tinySearch("iris", {
    seed: 7,
    budget: { population: 4, generations },
    execution: { candidateStack: "off" },
    ...extra,
  });

/** What a generation computed, without the times it took. */
const computed = (g: any) => {
  const { times: _t, stacking: _s, ...rest } = g;
  return rest;
};

async function submit(t: TestService, path: string, body: unknown, key: string, headers = {}) {
  const res = await t.json(path, { ...postJson(body, headers), key });
  assertEquals(res.status, 202, JSON.stringify(res.body));
  return res.body;
}

Deno.test({
  name: "continuing 5 generations for 3 ends as one search of 8 with the same seed",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({
      limits: { ...(await import("../service/config.ts")).DEFAULT_LIMITS, maxGenerations: 10 },
      // The log's line for the continuation's start is checked below.
      logLevel: "info",
    });
    const said: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => {
      said.push(args.map(String).join(" "));
      log(...args);
    };
    try {
      const alice = (await t.service.storage.keys.create("alice")).token;
      const bob = (await t.service.storage.keys.create("bob")).token;
      const five = await submit(t, "/v1/searches", {
        ...search(5),
        name: "iris",
        labels: { team: "vision" },
      }, alice);
      const eight = await submit(t, "/v1/searches", search(8), alice);
      // While it runs, it cannot be continued.
      await expectProblem(t, `/v1/searches/${five.id}:continue`, {
        ...postJson({ generations: 3 }),
        key: alice,
      }, 409);
      const fiveDone = await waitFor(t, five.id, finished, 300_000, alice);
      assertEquals(fiveDone.state, "succeeded", JSON.stringify(fiveDone.error));
      const fiveResult = (await t.json(`/v1/searches/${five.id}/result`, { key: alice })).body;

      // Another key's search is not found; past the service's limit, the field is named.
      await expectProblem(t, `/v1/searches/${five.id}:continue`, {
        ...postJson({ generations: 3 }),
        key: bob,
      }, 404);
      await expectProblem(
        t,
        `/v1/searches/${five.id}:continue`,
        {
          ...postJson({ generations: 6 }),
          key: alice,
        },
        422,
        { pointer: "/generations" },
      );
      await expectProblem(
        t,
        `/v1/searches/${five.id}:continue`,
        {
          ...postJson({ generations: 0 }),
          key: alice,
        },
        422,
        { pointer: "/generations" },
      );
      await expectProblem(
        t,
        `/v1/searches/${five.id}:continue`,
        {
          ...postJson({ generations: 1, seed: 3 }),
          key: alice,
        },
        422,
        { pointer: "/seed" },
      );

      const idem = { "idempotency-key": "more-1" };
      const more = await submit(
        t,
        `/v1/searches/${five.id}:continue`,
        { generations: 3 },
        alice,
        idem,
      );
      assertEquals(more.continues, { search: five.id, generation: 5 });
      assertEquals([more.name, more.labels], ["iris", { team: "vision" }], "kept");
      assertEquals(more.progress.generations, 8);
      const replay = await t.request(`/v1/searches/${five.id}:continue`, {
        ...postJson({ generations: 3 }, idem),
        key: alice,
      });
      assertEquals(replay.headers.get("idempotent-replayed"), "true");
      assertEquals((await replay.json()).id, more.id);

      const [moreDone, eightDone] = [
        await waitFor(t, more.id, finished, 300_000, alice),
        await waitFor(t, eight.id, finished, 300_000, alice),
      ];
      assertEquals([moreDone.state, eightDone.state], ["succeeded", "succeeded"]);
      assertEquals(moreDone.progress.resumedFrom, 5);
      assertEquals(moreDone.progress.generation, 8);
      // The same settings as one search of 8 asked for from the start.
      assertEquals(moreDone.config, eightDone.config);
      const started = said.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
        .find((l) => l.event === "search" && l.id === more.id && l.state === "running");
      assertEquals(
        [started?.continues, started?.from, started?.generations],
        [five.id, 5, 8],
        said.join("\n"),
      );

      const get = async (id: string, path: string) =>
        (await t.json(`/v1/searches/${id}/${path}`, { key: alice })).body;
      const [a, b] = [await get(more.id, "result"), await get(eight.id, "result")];
      assertEquals(a.generations.length, 8);
      assertEquals(a.generations.map(computed), b.generations.map(computed));
      const counts = (totals: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(totals).filter(([k]) => !k.endsWith("Ms")));
      assertEquals(counts(a.totals), counts(b.totals));
      const ranked = (r: any) =>
        r.losses.map((l: any) => [l.canonical, l.phi, l.fitness, l.simplified.infix]);
      assertEquals(ranked(a), ranked(b));
      assert(a.final && b.final, "both ran the final comparison");
      assertEquals(
        [a.final.learned.values, a.final.standard.values, a.final.verdict.outcome],
        [b.final.learned.values, b.final.standard.values, b.final.verdict.outcome],
      );
      assertEquals(a.outcome, b.outcome);
      const keys = (c: any) => c.items.map((x: any) => [x.key, x.outcome, x.fitness]);
      assertEquals(keys(await get(more.id, "candidates")), keys(await get(eight.id, "candidates")));

      // The search continued is as it was: its 5 generations, its own result.
      assertEquals((await get(five.id, "result")).generations.length, 5);
      assertEquals(await get(five.id, "result"), fiveResult);
      console.log(
        `5 + 3 generations against 8: ${a.generations.length} generations and ` +
          `${a.losses.length} ranked losses identical, final values identical`,
      );
    } finally {
      console.log = log;
      await t.close();
    }
  },
});

Deno.test({
  name: "a continuation's budget: used-up limits named, raised with it; nothing to continue",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({ maxRunningJobs: 1 });
    try {
      const key = (await t.service.storage.keys.create("alice")).token;
      // Stops on its evaluation budget after its first generation.
      const capped = await submit(
        t,
        "/v1/searches",
        search(5, { budget: { population: 4, generations: 5, maxEvaluations: 2 } }),
        key,
      );
      const done = await waitFor(t, capped.id, finished, 120_000, key);
      const losses = (await t.json(`/v1/searches/${capped.id}/losses`, { key })).body;
      assertEquals(losses.stopped, "max-evaluations");
      const p = await expectProblem(
        t,
        `/v1/searches/${capped.id}:continue`,
        {
          ...postJson({ generations: 2 }),
          key,
        },
        422,
        { pointer: "/maxEvaluations" },
      );
      assert(p.detail.includes("raise it"), p.detail);
      const raised = await submit(t, `/v1/searches/${capped.id}:continue`, {
        generations: 1,
        maxEvaluations: 1000,
      }, key);
      assertEquals(raised.config.budget.maxEvaluations, 1000);
      const more = await waitFor(t, raised.id, finished, 120_000, key);
      assertEquals(more.state, "succeeded", JSON.stringify(more.error));
      assertEquals(more.progress.generation, done.progress.generation + 1);

      // A search cancelled before it ran has no generation to continue from.
      const long = await submit(t, "/v1/searches", search(500), key);
      const queued = await submit(t, "/v1/searches", search(2), key);
      await t.request(`/v1/searches/${queued.id}:cancel`, { method: "POST", key }).then((r) =>
        r.body?.cancel()
      );
      const none = await expectProblem(t, `/v1/searches/${queued.id}:continue`, {
        ...postJson({ generations: 1 }),
        key,
      }, 409);
      assert(none.detail.includes("before it finished a generation"), none.detail);
      await t.request(`/v1/searches/${long.id}:cancel`, { method: "POST", key }).then((r) =>
        r.body?.cancel()
      );
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a warm start seeds the first population with another search's best losses",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const alice = (await t.service.storage.keys.create("alice")).token;
      const bob = (await t.service.storage.keys.create("bob")).token;
      const source = await submit(t, "/v1/searches", search(3, { final: { seeds: 0 } }), alice);
      await waitFor(t, source.id, finished, 120_000, alice);
      const ranking = (await t.json(`/v1/searches/${source.id}/losses`, { key: alice })).body;
      assert(ranking.losses.length >= 2, JSON.stringify(ranking.losses.length));

      // Another key's search, or none: refused at the field.
      const warm = (id: string, losses?: number) =>
        search(1, {
          seed: 11,
          final: { seeds: 0 },
          warmStart: { search: id, ...(losses ? { losses } : {}) },
        });
      await expectProblem(t, "/v1/searches", { ...postJson(warm(source.id)), key: bob }, 422, {
        pointer: "/warmStart/search",
      });
      await expectProblem(t, "/v1/searches", { ...postJson(warm("srch_none")), key: alice }, 422, {
        pointer: "/warmStart/search",
      });
      await expectProblem(
        t,
        "/v1/searches",
        {
          ...postJson({ ...warm(source.id), warmStart: { search: source.id, losses: 0 } }),
          key: alice,
        },
        422,
        { pointer: "/warmStart/losses" },
      );

      const seeded = await submit(t, "/v1/searches", warm(source.id, 2), alice);
      const taken = seeded.config.warmStart;
      assertEquals(taken.search, source.id);
      // Its best two, as structures, in their order.
      assertEquals(
        taken.losses.map(toPrefix),
        ranking.losses.slice(0, 2).map((l: any) => l.canonical),
      );
      const done = await waitFor(t, seeded.id, finished, 120_000, alice);
      assertEquals(done.state, "succeeded", JSON.stringify(done.error));
      // They were in its first generation: the archive met them then.
      const candidates = (await t.json(`/v1/searches/${seeded.id}/candidates`, { key: alice }))
        .body.items;
      const first = new Set(
        candidates.filter((c: any) => c.generation === 1).map((c: any) => c.key),
      );
      for (const tree of taken.losses) assert(first.has(canonicalKey(tree)), toPrefix(tree));
      // By default half the population (4): two losses.
      const byDefault = await submit(t, "/v1/searches", warm(source.id), alice);
      assertEquals(byDefault.config.warmStart.losses.length, 2);
      await waitFor(t, byDefault.id, finished, 120_000, alice);
      // The source deleted, what was taken stays with the searches that took it.
      const del = await t.request(`/v1/searches/${source.id}`, { method: "DELETE", key: alice });
      assertEquals(del.status, 204);
      assertEquals(
        (await t.json(`/v1/searches/${seeded.id}`, { key: alice })).body.config.warmStart,
        taken,
      );
    } finally {
      await t.close();
    }
  },
});
