// deno-lint-ignore-file no-explicit-any
/**
 * A real service for tests: a temporary SQLite file and data directory, a real worker pool, the
 * Hono app served by Deno.serve on a free loopback port. Requests go over TCP like any client's.
 */
import { Service } from "../../service/mod.ts";
import { DEFAULT_LIMITS, DEFAULT_MEMORY_LIMIT, type ServiceConfig } from "../../service/config.ts";
import { createApp } from "../../api/app.ts";
import { assert, assertEquals } from "./assert.ts";
import type { SqliteStorage } from "../../store/sqlite/mod.ts";

export interface TestService {
  base: string;
  service: Service;
  dir: string;
  /** fetch relative to the service, with an optional API key. */
  request(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
  json(path: string, init?: RequestInit & { key?: string }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export function testConfig(dir: string, overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    host: "127.0.0.1",
    port: 0,
    db: `${dir}/lossmith.sqlite`,
    dataDir: `${dir}/files`,
    nodeId: `test-${crypto.randomUUID().slice(0, 8)}`,
    leaseMs: 30_000,
    datasetFiles: "database",
    workers: 1,
    backend: "wasm",
    maxRunningJobs: 4,
    limits: { ...DEFAULT_LIMITS },
    url: { timeoutMs: 5000, allowPrivate: false },
    defaultSearch: false,
    memory: { limitBytes: DEFAULT_MEMORY_LIMIT },
    inspections: { concurrent: 2, queue: 8 },
    streams: { perKey: 16, total: 128 },
    http: { publicNames: [], corsOrigins: [] },
    logLevel: "off",
    retentionDays: 0,
    ...overrides,
  };
}

export async function startTestService(
  overrides: Partial<ServiceConfig> = {},
  dir?: string,
): Promise<TestService> {
  dir ??= await Deno.makeTempDir({ prefix: "lossmith-test-" });
  const service = await Service.start(testConfig(dir, overrides));
  const { app } = createApp(service);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const request = (path: string, init: RequestInit & { key?: string } = {}) => {
    const { key, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (key) headers.set("authorization", `Bearer ${key}`);
    return fetch(base + path, { ...rest, headers });
  };
  return {
    base,
    service,
    dir,
    request,
    async json(path, init) {
      const res = await request(path, init);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      service.beginShutdown();
      await server.shutdown();
      await service.close();
    },
  };
}

/** POST a JSON body. */
export function postJson(body: unknown, headers: HeadersInit = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

/** The smallest real search: Iris or Boston, population 4, tiny inner budgets. */
export function tinySearch(dataset = "iris", overrides: Record<string, unknown> = {}) {
  return {
    dataset,
    model: { hidden: [8] },
    budget: { population: 4, generations: 2 },
    evaluation: { screen: { steps: 20 }, localSearch: { metaSteps: 5 }, fitnessSteps: 20 },
    final: { steps: 40, seeds: 2 },
    // A seed whose tiny searches find a usable loss on Iris and Boston alike.
    seed: 1,
    ...overrides,
  };
}

/** Polls a search until it is in one of the states (or the time runs out). */
export async function waitFor(
  t: TestService,
  id: string,
  until: (s: any) => boolean,
  timeoutMs = 120_000,
  key?: string,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const { body } = await t.json(`/v1/searches/${id}`, { key });
    if (until(body)) return body;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const finished = (s: { state: string }) =>
  ["succeeded", "failed", "cancelled"].includes(s.state);

/** Reads a whole SSE stream into events (it ends after `finished`). */
export async function readEvents(
  res: Response,
): Promise<{ id: number; event: string; data: any }[]> {
  const text = await res.text();
  return text.split("\n\n").filter((b) => b.includes("data:")).map((block) => {
    const field = (name: string) =>
      block.split("\n").find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
    return { id: Number(field("id")), event: field("event")!, data: JSON.parse(field("data")!) };
  });
}

/** Row counts of every table (of a SQLite service): a failed request must leave them as they were. */
export function tableCounts(service: Service): Record<string, number> {
  const out: Record<string, number> = {};
  const db = (service.storage as SqliteStorage).db;
  for (const t of ["api_keys", "datasets", "jobs", "checkpoints", "results", "events"]) {
    out[t] = db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`)!.n;
  }
  return out;
}

/** Every file below a folder; folders may stay (each node's `.incoming` workspace), files not. */
export function filesUnder(dir: string): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory ? filesUnder(`${dir}/${e.name}`) : [`${dir}/${e.name}`]
  );
}

/** The problem document of a response, checked to be one (RFC 9457). */
export async function problemOf(res: Response): Promise<any> {
  assertEquals(res.headers.get("content-type"), "application/problem+json", `${res.status}`);
  const p = await res.json();
  assertEquals(p.status, res.status);
  assert(typeof p.type === "string" && typeof p.title === "string" && p.detail, JSON.stringify(p));
  return p;
}

/** A request answered with `status` and a problem naming the field (or row, column) at fault. */
export async function expectProblem(
  t: TestService,
  path: string,
  init: RequestInit & { key?: string },
  status: number,
  where?: { pointer?: string; parameter?: string; row?: number; column?: string },
): Promise<any> {
  const res = await t.request(path, init);
  assertEquals(res.status, status, `${init.method ?? "GET"} ${path}`);
  const p = await problemOf(res);
  if (where) {
    const match = (p.errors ?? []).some((e: any) =>
      Object.entries(where).every(([k, v]) => e[k] === v)
    );
    assert(match, `expected an error at ${JSON.stringify(where)}: ${JSON.stringify(p)}`);
  }
  return p;
}

/** A multipart form POST. */
export function form(fields: Record<string, string | Blob>): RequestInit {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return { method: "POST", body: f };
}
