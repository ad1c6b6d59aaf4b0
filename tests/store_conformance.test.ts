/**
 * One conformance suite for every storage engine (store/storage.ts states the contracts): SQLite
 * on a real file, and PostgreSQL on a real server (tests/support/postgres.ts), each on an empty
 * database. `peer` is a second process's view of the same storage: on PostgreSQL another
 * connection set, as another node has; SQLite serves one process, so there it is the same one.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { skipReason, testDatabase, testServer } from "./support/postgres.ts";
import {
  DuplicateKeyError,
  type JobRecord,
  openStorage,
  type Storage,
  TooManyLabels,
} from "../store/mod.ts";
import { decodeCursor } from "../store/cursor.ts";
import { nowIso } from "../store/ids.ts";
import { searchConfig, type SearchState } from "../core/search.ts";
import { initialProgress } from "../core/progress.ts";

interface Engine {
  name: string;
  ignore: boolean;
  open(): Promise<{ storage: Storage; peer: Storage; close(): Promise<void> }>;
}

const ENGINES: Engine[] = [
  {
    name: "sqlite",
    ignore: false,
    async open() {
      const dir = await Deno.makeTempDir({ prefix: "lossmith-store-" });
      const storage = await openStorage({ db: `${dir}/lossmith.sqlite`, service: true });
      return {
        storage,
        peer: storage,
        async close() {
          await storage.close();
          await Deno.remove(dir, { recursive: true });
        },
      };
    },
  },
  {
    name: "postgres",
    ignore: skipReason(await testServer()),
    async open() {
      const db = await testDatabase();
      if ("skip" in db) throw new Error(db.skip);
      const storage = await openStorage({ db: "", databaseUrl: db.url });
      const peer = await openStorage({ db: "", databaseUrl: db.url });
      return {
        storage,
        peer,
        async close() {
          await peer.close();
          await storage.close();
          await db.drop();
        },
      };
    },
  },
];

let counter = 0;
function job(overrides: Partial<JobRecord> = {}): JobRecord {
  const config = searchConfig({ kind: "bundled", name: "iris" });
  counter++;
  return {
    id: `srch_${counter}_${crypto.randomUUID().slice(0, 8)}`,
    owner: "alice",
    name: null,
    labels: {},
    continues: null,
    state: "queued",
    datasetId: "iris",
    dataInfo: { name: "iris", task: "classification", rows: 150, features: 4, classes: 3 },
    request: { dataset: "iris" },
    config,
    requestHash: "h",
    idempotencyKey: null,
    progress: initialProgress(config.budget.generations),
    error: null,
    cancelRequested: false,
    // Distinct, increasing creation times: the queue's order.
    createdAt: new Date(Date.UTC(2026, 0, 1) + counter * 1000).toISOString(),
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

function state(generation: number): SearchState {
  return {
    generation,
    population: [["square", "sub", "fx", "y"]],
    fitness: [0.5 / generation],
    rng: [1, 2, 3, 4],
    archive: {},
    signatures: {},
    hallOfFame: { capacity: 10, entries: [] },
    history: [],
    evaluations: generation,
    elapsedMs: 10 * generation,
  };
}

const ev = (type: string, data: unknown = {}) => ({ type, data });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Case = (s: Storage, peer: Storage) => Promise<void>;

const CASES: Record<string, Case> = {
  "keys: created, verified, counted, listed, revoked; only the hash is kept": async (s) => {
    const { id, token } = await s.keys.create("alice");
    assertEquals(await s.keys.verify(token), id);
    assertEquals(await s.keys.verify(token + "x"), undefined);
    assertEquals(await s.keys.activeCount(), 1);
    assertEquals((await s.keys.list()).map((k) => [k.id, k.name, k.revokedAt]), [
      [id, "alice", null],
    ]);
    assert(await s.keys.revoke(id));
    assert(!await s.keys.revoke(id), "revoking twice");
    assertEquals(await s.keys.verify(token), undefined);
    assertEquals(await s.keys.activeCount(), 0);
  },

  "datasets: per owner, listed oldest first with a cursor, files kept where promised": async (
    s,
    peer,
  ) => {
    const record = (n: number, owner = "alice") => ({
      id: `ds_${n}`,
      owner,
      name: `d${n}`,
      source: "upload" as const,
      format: "csv" as const,
      ref: { kind: "csv" as const, path: `/x/ds_${n}/file.csv`, target: "y" },
      info: { name: `d${n}`, task: "regression" as const, rows: 3, features: 1 },
      bytes: 9,
      createdAt: new Date(Date.UTC(2026, 1, n)).toISOString(),
    });
    const bytes = new TextEncoder().encode("a,y\n1,2\n");
    for (const n of [3, 1, 2]) await s.datasets.insert(record(n), { "file.csv": bytes });
    await s.datasets.insert(record(4, "bob"));
    assertEquals((await s.datasets.get("alice", "ds_1"))?.ref, record(1).ref);
    assertEquals(await s.datasets.get("bob", "ds_1"), undefined);
    assertEquals((await peer.datasets.getById("ds_4"))?.owner, "bob");
    const first = await s.datasets.list("alice", 2);
    assertEquals(first.items.map((d) => d.id), ["ds_1", "ds_2"]);
    const rest = await s.datasets.list("alice", 2, decodeCursor(first.nextCursor!));
    assertEquals([rest.items.map((d) => d.id), rest.nextCursor], [["ds_3"], undefined]);
    const files = await peer.datasets.files("ds_2");
    if (s.datasets.keepsFiles) assertEquals(files, { "file.csv": bytes });
    else assertEquals(files, {});
    assert(!await s.datasets.delete("bob", "ds_2"), "another owner's dataset");
    assert(await s.datasets.delete("alice", "ds_2"));
    assertEquals(await s.datasets.getById("ds_2"), undefined);
    assertEquals(await s.datasets.files("ds_2"), {});
  },

  "jobs: inserted with their first event, per owner, idempotency keys unique": async (s, peer) => {
    const a = job({ idempotencyKey: "k1" });
    await s.jobs.insert(a, ev("state", { state: "queued" }));
    assertEquals(await peer.jobs.get("alice", a.id), a);
    assertEquals(await s.jobs.get("bob", a.id), undefined);
    assertEquals((await s.jobs.byIdempotencyKey("alice", "k1"))?.id, a.id);
    await assertRejects(
      () => s.jobs.insert(job({ idempotencyKey: "k1" }), ev("state")),
      /idempotency/,
    ).then((e) => assert(e instanceof DuplicateKeyError, String(e)));
    await s.jobs.insert(job({ owner: "bob", idempotencyKey: "k1" }), ev("state"));
    const events = await s.events.after(a.id, 0);
    assertEquals(events.map((e) => [e.type, e.data]), [["state", { state: "queued" }]]);
    const b = job({ datasetId: "ds_x" });
    await s.jobs.insert(b, ev("state"));
    const page = await s.jobs.list("alice", 1);
    assertEquals(page.items.map((j) => j.id), [b.id], "newest first");
    const next = await s.jobs.list("alice", 1, undefined, decodeCursor(page.nextCursor!));
    assertEquals(next.items.map((j) => j.id), [a.id]);
    assertEquals((await s.jobs.list("alice", 10, { state: "running" })).items, []);
    assertEquals(await s.jobs.countActive("alice"), 2);
    assertEquals(await s.jobs.countByState(), { queued: 3 });
    assertEquals(await s.jobs.activeUsing("ds_x"), 1);
  },

  "names and labels: stored, filtered with the pages still whole, changed": async (s, peer) => {
    const named = (name: string | null, labels: Record<string, string>) => job({ name, labels });
    const jobs = [
      named("resnet", { team: "vision", tier: "gold" }),
      named("resnet", { team: "audio" }),
      named(null, { team: "vision" }),
      named("resnet", { team: "vision" }),
      named("bert", {}),
      { ...named("resnet", { team: "vision" }), owner: "bob" },
    ];
    for (const j of jobs) await s.jobs.insert(j, ev("state"));
    assertEquals(await peer.jobs.get("alice", jobs[0].id), jobs[0], "stored as given");
    /** Every page of a filtered list, `size` at a time. */
    const all = async (filter: Parameters<Storage["jobs"]["list"]>[2], size: number) => {
      const ids: string[] = [];
      let after;
      do {
        const page: Awaited<ReturnType<Storage["jobs"]["list"]>> = await peer.jobs.list(
          "alice",
          size,
          filter,
          after,
        );
        ids.push(...page.items.map((j) => j.id));
        after = page.nextCursor ? decodeCursor(page.nextCursor) : undefined;
      } while (after);
      return ids;
    };
    const ids = (...i: number[]) => i.map((n) => jobs[n].id);
    for (const size of [1, 2, 10]) {
      assertEquals(await all({ labels: [["team", "vision"]] }, size), ids(3, 2, 0), `${size}`);
      assertEquals(await all({ name: "resnet" }, size), ids(3, 1, 0));
      assertEquals(
        await all({ name: "resnet", labels: [["team", "vision"], ["tier"]] }, size),
        ids(0),
      );
    }
    assertEquals(await all({ labels: [["team"]] }, 2), ids(3, 2, 1, 0));
    assertEquals(await all({ labels: [["team", "vis"]] }, 2), [], "values match exactly");
    assertEquals(await all({ labels: [['x"]', "y"]] }, 2), [], "any key is data, not a path");
    assertEquals(await all({ state: "running", name: "resnet" }, 2), []);

    const changed = await s.jobs.relabel("alice", jobs[1].id, {
      name: "resnet-50",
      labels: { team: null, owner: "ana" },
    });
    assertEquals([changed?.name, changed?.labels], ["resnet-50", { owner: "ana" }]);
    assertEquals((await peer.jobs.get("alice", jobs[1].id))?.labels, { owner: "ana" });
    assertEquals(await s.jobs.relabel("bob", jobs[1].id, { name: "x" }), undefined, "not bob's");
    const many = await assertRejects(
      () => s.jobs.relabel("alice", jobs[1].id, { labels: { a: "1", b: "2" } }, 2),
      /3 labels; at most 2/,
    );
    assert(many instanceof TooManyLabels, String(many));
    assertEquals((await peer.jobs.get("alice", jobs[1].id))?.labels, { owner: "ana" }, "as it was");
    const unnamed = await s.jobs.relabel("alice", jobs[1].id, { name: null });
    assertEquals([unnamed?.name, unnamed?.labels], [null, { owner: "ana" }]);
  },

  "delete: a job goes with everything stored of it; its owner writes nothing after": async (
    s,
    peer,
  ) => {
    const j = job();
    const kept = job();
    await s.jobs.insert(j, ev("state"));
    await s.jobs.insert(kept, ev("state"));
    const lease = (await s.jobs.claim("n", 60_000))!.lease;
    assertEquals(lease.jobId, j.id);
    assert(await s.jobs.markRunning(lease, j.progress, ev("state", { state: "running" })));
    assert(await s.checkpoints.save(lease, state(1), {}, j.progress, [ev("generation")]));
    const heard: string[] = [];
    const unlisten = s.listen("cancel", (id) => heard.push(id));
    const woken = s.events.wait(j.id, 10_000);
    assert(!await peer.jobs.delete("bob", j.id), "another owner's job");
    assert(await peer.jobs.delete("alice", j.id));
    assert(!await peer.jobs.delete("alice", j.id), "twice");
    await woken; // an event stream of the job wakes (and finds it gone)
    assertEquals(await s.jobs.getById(j.id), undefined);
    assertEquals(await s.events.after(j.id, 0), []);
    assertEquals(await s.checkpoints.count(j.id), 0);
    // The node that ran it: every write is refused, and nothing comes back.
    assert(!await s.checkpoints.save(lease, state(2), {}, j.progress, [ev("generation")]));
    assert(!await s.events.append(lease, [ev("progress")], j.progress));
    assert(!await s.jobs.finish(lease, "cancelled", j.progress, null, { r: 1 }, ev("finished")));
    assert(!await s.jobs.requestCancel("alice", j.id));
    await s.jobs.release(lease);
    assertEquals(await s.jobs.renew("n", 60_000), []);
    assertEquals(await s.jobs.getById(j.id), undefined);
    assertEquals(await s.events.after(j.id, 0), []);
    assertEquals(await s.jobs.result(j.id), undefined);
    assertEquals(await s.checkpoints.latest(j.id), undefined);
    assertEquals((await s.jobs.getById(kept.id))?.id, kept.id, "the others stay");
    assertEquals((await s.events.after(kept.id, 0)).length, 1);
    const deadline = Date.now() + 5000;
    while (!heard.includes(j.id) && Date.now() < deadline) await sleep(10);
    unlisten();
    assert(heard.includes(j.id), "the owner is told");
  },

  "retention: finished jobs that ended before a time go, oldest first; unfinished ones stay":
    async (s, peer) => {
      const ended = async (end: "succeeded" | "failed" | "cancelled") => {
        const j = job();
        await s.jobs.insert(j, ev("state"));
        const lease = (await s.jobs.claim("n", 60_000))!.lease;
        assert(await s.checkpoints.save(lease, state(1), {}, j.progress, []));
        assert(await s.jobs.finish(lease, end, j.progress, null, { r: 1 }, ev("finished")));
        return j;
      };
      const old = await ended("succeeded");
      const older = await ended("failed");
      const recent = await ended("cancelled");
      const running = job();
      await s.jobs.insert(running, ev("state"));
      assertEquals((await s.jobs.claim("n", 60_000))?.job.id, running.id);
      const queued = job();
      await s.jobs.insert(queued, ev("state"));
      // Their end times, as a test may set them: the order is older, old, recent.
      const times = [[older, "2026-01-01"], [old, "2026-01-02"], [recent, "2026-03-01"]] as const;
      for (const [j, day] of times) {
        const at = `${day}T00:00:00.000Z`;
        if (s.engine === "sqlite") {
          (s as unknown as { db: { run(q: string, p: object): void } }).db.run(
            "UPDATE jobs SET finished_at = :at WHERE id = :id",
            { at, id: j.id },
          );
        } else {
          await (s as unknown as { db: { query(q: string, p: unknown[]): Promise<unknown> } }).db
            .query("UPDATE jobs SET finished_at = $1 WHERE id = $2", [at, j.id]);
        }
      }
      const before = "2026-02-01T00:00:00.000Z";
      assertEquals(await peer.jobs.deleteFinishedBefore(before, 1), [older.id], "oldest first");
      assertEquals(await s.jobs.deleteFinishedBefore(before, 10), [old.id]);
      assertEquals(await s.jobs.deleteFinishedBefore(before, 10), []);
      assertEquals(await s.checkpoints.count(old.id), 0);
      assertEquals(await s.jobs.result(old.id), undefined);
      assertEquals(
        await s.jobs.deleteFinishedBefore("2100-01-01T00:00:00.000Z", 10),
        [recent.id],
      );
      assertEquals(
        [(await s.jobs.getById(queued.id))?.state, (await s.jobs.getById(running.id))?.state],
        ["queued", "running"],
        "never an unfinished job",
      );
    },

  "a continuation is inserted with the checkpoint it starts from": async (s, peer) => {
    const from = state(5);
    const j = job({ continues: { search: "srch_parent", generation: 5 } });
    await s.jobs.insert(j, ev("state"), { state: from, stats: { generation: 5 } });
    assertEquals(await peer.jobs.get("alice", j.id), j);
    assertEquals(await peer.checkpoints.latest(j.id), from);
    assertEquals(await peer.checkpoints.count(j.id), 1);
    // Refused whole: neither the job nor its checkpoint when the key was used.
    const again = job({ idempotencyKey: "k", continues: j.continues });
    await s.jobs.insert(again, ev("state"), { state: from, stats: {} });
    const twin = job({ idempotencyKey: "k" });
    await assertRejects(() => s.jobs.insert(twin, ev("state"), { state: from, stats: {} }));
    assertEquals(await peer.checkpoints.count(twin.id), 0);
  },

  "datasets: one per owner and content, found by its hash": async (s, peer) => {
    const record = (id: string, owner: string, contentHash?: string) => ({
      id,
      owner,
      name: id,
      source: "upload" as const,
      format: "csv" as const,
      ref: { kind: "csv" as const, path: `/x/${id}/file.csv`, target: "y" },
      info: { name: id, task: "regression" as const, rows: 3, features: 1 },
      bytes: 9,
      createdAt: nowIso(),
      ...(contentHash ? { contentHash } : {}),
    });
    await s.datasets.insert(record("ds_a", "alice", "h1"));
    assertEquals((await peer.datasets.byContentHash("alice", "h1"))?.id, "ds_a");
    assertEquals((await peer.datasets.get("alice", "ds_a"))?.contentHash, "h1");
    assertEquals(await peer.datasets.byContentHash("bob", "h1"), undefined);
    await assertRejects(() => peer.datasets.insert(record("ds_b", "alice", "h1")))
      .then((e) => assert(e instanceof DuplicateKeyError, String(e)));
    assertEquals(await s.datasets.getById("ds_b"), undefined);
    await s.datasets.insert(record("ds_c", "bob", "h1"));
    // Records without a hash (made before hashes were kept) never collide.
    await s.datasets.insert(record("ds_d", "alice"));
    await s.datasets.insert(record("ds_e", "alice"));
    assertEquals((await s.datasets.get("alice", "ds_e"))?.contentHash, undefined);
    assert(await s.datasets.delete("alice", "ds_a"));
    assertEquals(await s.datasets.byContentHash("alice", "h1"), undefined);
    await s.datasets.insert(record("ds_f", "alice", "h1"));
  },

  "claims: interrupted jobs first, then the queue in order; never one job twice": async (
    s,
    peer,
  ) => {
    const jobs = [job(), job(), job(), job()];
    for (const j of jobs) await s.jobs.insert(j, ev("state"));
    const first = await s.jobs.claim("n1", 60_000);
    assertEquals(first?.job.id, jobs[0].id);
    assertEquals([first?.job.state, first?.lease], ["running", {
      jobId: jobs[0].id,
      node: "n1",
      run: 1,
    }]);
    // Released (as at shutdown): it comes back before the queued ones, with the next run.
    await s.jobs.release(first!.lease);
    const again = await peer.jobs.claim("n2", 60_000);
    assertEquals(again?.lease, { jobId: jobs[0].id, node: "n2", run: 2 });
    // Concurrent claims from two processes: each job once.
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? s : peer).jobs.claim(`c${i}`, 60_000)),
    );
    const got = claims.filter((c) => c).map((c) => c!.job.id).sort();
    assertEquals(got, jobs.slice(1).map((j) => j.id).sort());
    assertEquals(await s.jobs.claim("late", 60_000), undefined);
    assertEquals(await s.jobs.held("n2"), 1);
  },

  "leases: a lost lease writes nothing, the new owner writes, renewals tell who holds": async (
    s,
    peer,
  ) => {
    const j = job();
    await s.jobs.insert(j, ev("state"));
    const a = (await s.jobs.claim("a", 150))!.lease;
    assert(await s.jobs.markRunning(a, j.progress, ev("state", { state: "running" })));
    assertEquals((await s.jobs.renew("a", 150)).map((h) => h.jobId), [j.id]);
    await sleep(300); // a stalls past its lease
    const b = (await peer.jobs.claim("b", 60_000))!.lease;
    assertEquals(b.run, a.run + 1);
    assertEquals(await s.jobs.renew("a", 150), [], "a no longer holds it");
    assertEquals(await peer.jobs.renew("b", 60_000), [
      { jobId: j.id, run: b.run, cancelRequested: false },
    ]);
    const before = (await s.events.after(j.id, 0)).length;
    assert(!await s.jobs.markRunning(a, j.progress, ev("state")), "markRunning");
    assert(!await s.checkpoints.save(a, state(1), {}, j.progress, [ev("generation")]), "save");
    assert(!await s.events.append(a, [ev("progress")], j.progress), "append");
    assert(!await s.jobs.finish(a, "succeeded", j.progress, null, { r: 1 }, ev("finished")));
    assertEquals((await s.events.after(j.id, 0)).length, before, "no event from the stale run");
    assertEquals(await s.checkpoints.count(j.id), 0);
    await s.jobs.release(a); // a stale release changes nothing either
    assertEquals(await s.jobs.claim("c", 60_000), undefined);
    assert(await peer.checkpoints.save(b, state(1), {}, j.progress, [ev("generation")]));
    assertEquals((await s.checkpoints.latest(j.id))?.generation, 1);
  },

  "a run: checkpoints and events in order, then its end with its result, last checkpoint kept":
    async (s, peer) => {
      const j = job();
      await s.jobs.insert(j, ev("state", { state: "queued" }));
      const lease = (await s.jobs.claim("n", 60_000))!.lease;
      assert(await s.jobs.markRunning(lease, j.progress, ev("state", { state: "running" })));
      assert((await s.jobs.getById(j.id))!.startedAt !== null);
      const progress = { ...j.progress, generation: 2 };
      for (const g of [1, 2, 3]) {
        assert(
          await s.checkpoints.save(lease, state(g), { g }, progress, [ev("generation", { g })]),
        );
      }
      assert(
        await s.events.append(lease, [ev("progress", { p: 1 }), ev("progress", { p: 2 })], {
          ...progress,
          generation: 3,
        }),
      );
      assertEquals((await peer.jobs.getById(j.id))!.progress.generation, 3, "stored progress");
      assertEquals(await peer.checkpoints.latest(j.id), state(3));
      assertEquals(await s.checkpoints.count(j.id), 3);
      assert(
        await s.jobs.finish(lease, "succeeded", progress, null, { best: Infinity }, ev("finished")),
      );
      const done = (await peer.jobs.getById(j.id))!;
      assertEquals([done.state, done.finishedAt !== null], ["succeeded", true]);
      assertEquals(await peer.jobs.result(j.id), { best: null }, "results are JSON");
      assertEquals(await s.checkpoints.count(j.id), 1);
      assertEquals((await s.checkpoints.latest(j.id))?.generation, 3);
      const events = await peer.events.after(j.id, 0);
      assertEquals(events.map((e) => e.type), [
        "state",
        "state",
        "generation",
        "generation",
        "generation",
        "progress",
        "progress",
        "finished",
      ]);
      assert(events.every((e, i) => i === 0 || e.id > events[i - 1].id), "ids grow");
      assertEquals((await s.events.after(j.id, events[5].id, 1)).map((e) => e.type), ["progress"]);
      assertEquals(await s.jobs.renew("n", 60_000), [], "a finished job is nobody's");
      assertEquals(await s.jobs.claim("m", 60_000), undefined);
    },

  "cancel: recorded for queued and running jobs, a queued one ends at once, signalled": async (
    s,
    peer,
  ) => {
    const queued = job();
    const running = job();
    await s.jobs.insert(queued, ev("state"));
    await s.jobs.insert(running, ev("state"));
    const lease = (await s.jobs.claim("n", 60_000))!.lease;
    assertEquals(lease.jobId, queued.id);
    const other = job();
    await s.jobs.insert(other, ev("state"));
    const heard: string[] = [];
    const unlisten = s.listen("cancel", (id) => heard.push(id));
    assert(await peer.jobs.requestCancel("alice", queued.id));
    assert(!await peer.jobs.requestCancel("bob", running.id), "another owner's job");
    assertEquals(await s.jobs.renew("n", 60_000), [
      { jobId: queued.id, run: lease.run, cancelRequested: true },
    ]);
    assert(!await s.jobs.cancelQueued(queued.id, queued.progress, ev("finished")), "running");
    assert(await peer.jobs.cancelQueued(running.id, running.progress, ev("finished")));
    assert(!await peer.jobs.cancelQueued(running.id, running.progress, ev("finished")), "twice");
    const cancelled = (await s.jobs.getById(running.id))!;
    assertEquals([cancelled.state, cancelled.cancelRequested], ["cancelled", true]);
    assertEquals((await s.events.after(running.id, 0)).map((e) => e.type), ["state", "finished"]);
    assert(!await s.jobs.requestCancel("alice", running.id), "a finished job");
    assertEquals((await s.jobs.claim("m", 60_000))?.job.id, other.id, "cancelled: not claimed");
    const deadline = Date.now() + 5000;
    while (!heard.includes(queued.id) && Date.now() < deadline) await sleep(10);
    unlisten();
    assertEquals(heard, [queued.id]);
  },

  "cancel all of an owner: its queued and running jobs, signalled, nobody else's": async (
    s,
    peer,
  ) => {
    const running = job({ owner: "mallory" });
    const queued = job({ owner: "mallory" });
    const others = job({ owner: "alice" });
    const done = job({ owner: "mallory" });
    for (const j of [running, queued, others, done]) await s.jobs.insert(j, ev("state"));
    const lease = (await s.jobs.claim("n", 60_000))!.lease;
    assertEquals(lease.jobId, running.id);
    assert(await s.jobs.cancelQueued(done.id, done.progress, ev("finished")));
    const heard: string[] = [];
    const unlisten = s.listen("cancel", (id) => heard.push(id));
    // Another process (the keys command, another node) asks; the owner of the lease is told.
    const asked = await peer.jobs.requestCancelAll("mallory");
    assertEquals([...asked].sort(), [running.id, queued.id].sort());
    assertEquals(await s.jobs.renew("n", 60_000), [
      { jobId: running.id, run: lease.run, cancelRequested: true },
    ]);
    assertEquals((await s.jobs.getById(queued.id))!.cancelRequested, true);
    assertEquals((await s.jobs.getById(others.id))!.cancelRequested, false);
    assertEquals((await s.jobs.getById(done.id))!.state, "cancelled");
    // Asked again, the same two: a request stands until the job ends.
    assertEquals((await peer.jobs.requestCancelAll("mallory")).sort(), [...asked].sort());
    const deadline = Date.now() + 5000;
    while (heard.length < 2 && Date.now() < deadline) await sleep(10);
    unlisten();
    assertEquals([...new Set(heard)].sort(), [running.id, queued.id].sort());
    assertEquals(await peer.jobs.requestCancelAll("nobody"), []);
  },

  "events: a wait wakes when another process stores one, and ids follow commit order": async (
    s,
    peer,
  ) => {
    const j = job();
    await s.jobs.insert(j, ev("state"));
    const lease = (await s.jobs.claim("n", 60_000))!.lease;
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const waiting = peer.events.wait(j.id, 5000);
      await sleep(5);
      const t0 = performance.now();
      assert(await s.events.append(lease, [ev("progress", { i })]));
      await waiting;
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `${s.engine}: a stored event woke a waiting reader in ${latencies[10].toFixed(2)} ms ` +
        `(median of 20; max ${latencies[19].toFixed(2)} ms)`,
    );
    assert(latencies[10] < 1000, "woken by the signal, not by the timeout");
    // Appends racing each other, and a reader following along: nothing is skipped.
    let last = (await peer.events.after(j.id, 0)).at(-1)!.id;
    const seen: number[] = [];
    const deadline = Date.now() + 10_000;
    const reader = (async () => {
      while (seen.length < 40 && Date.now() < deadline) {
        for (const e of await peer.events.after(j.id, last)) {
          seen.push(e.data as number);
          last = e.id;
        }
        await sleep(1);
      }
    })();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => s.events.append(lease, [ev("progress", i)])),
    );
    await reader;
    assertEquals([...seen].sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i));
  },

  "nodes: a heartbeat carries the state of the node's workers, the last one stands": async (
    s,
    peer,
  ) => {
    const node = { id: "n1", host: "h", pid: 1, startedAt: nowIso() };
    await s.nodes.beat({ ...node, workers: "ok" });
    await s.nodes.beat({ ...node, workers: "degraded" });
    assertEquals(await peer.nodes.live(60_000), [{ ...node, workers: "degraded" }]);
  },

  "nodes: heartbeats tell which nodes live": async (s, peer) => {
    const node = (id: string) => ({ id, host: "h", pid: 1, startedAt: nowIso() });
    await s.nodes.beat(node("n1"));
    await peer.nodes.beat(node("n2"));
    assertEquals((await s.nodes.live(60_000)).map((n) => n.id), ["n1", "n2"]);
    await sleep(250);
    await s.nodes.beat(node("n1"));
    assertEquals((await peer.nodes.live(200)).map((n) => n.id), ["n1"]);
    await s.nodes.remove("n1");
    assertEquals((await s.nodes.live(60_000)).map((n) => n.id), ["n2"]);
  },
};

for (const engine of ENGINES) {
  for (const [name, fn] of Object.entries(CASES)) {
    Deno.test({
      name: `${engine.name}: ${name}`,
      ignore: engine.ignore,
      sanitizeResources: false,
      sanitizeOps: false,
      fn: async () => {
        const { storage, peer, close } = await engine.open();
        try {
          await fn(storage, peer);
        } finally {
          await close();
        }
      },
    });
  }
}
