/**
 * The OpenAPI document as tools meet it. Redocly's linter (its recommended rules, from npm) finds
 * nothing but the findings openapi/lint-ignore.yaml names on purpose. And openapi-typescript
 * generates types from the served document under which a program reading what users read (the
 * final comparison, the totals, the events by name, the exports, the headers) type-checks with
 * `deno check`, every field a real type, not `never` or `unknown`; the same program with a field
 * that does not exist fails, so the check can fail.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./support/assert.ts";
import { startTestService } from "./support/service.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };
const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function run(args: string[], cwd: string): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return { ok: r.success, out };
}

/** The served document, written into a fresh folder. */
async function servedDocument(): Promise<string> {
  const t = await startTestService();
  try {
    const dir = await Deno.makeTempDir({ prefix: "lossmith-openapi-" });
    await Deno.writeTextFile(
      `${dir}/openapi.json`,
      await (await t.request("/openapi.json")).text(),
    );
    return dir;
  } finally {
    await t.close();
  }
}

Deno.test({
  name: "Redocly's recommended rules find nothing in the document beyond the named exceptions",
  ...SERVICE_TEST,
  fn: async () => {
    const dir = await servedDocument();
    await Deno.copyFile(`${ROOT}/openapi/lint-ignore.yaml`, `${dir}/.redocly.lint-ignore.yaml`);
    const lint = await run(
      [
        "run",
        "-A",
        "--config",
        `${ROOT}/deno.json`,
        "npm:@redocly/cli@2.77.0",
        "lint",
        "--format=json",
        "openapi.json",
      ],
      dir,
    );
    const json = lint.out.slice(lint.out.indexOf("{"));
    const report = JSON.parse(json.slice(0, json.lastIndexOf("}") + 1));
    assertEquals(report.problems, [], lint.out);
    assertEquals(report.totals.errors, 0);
    assertEquals(report.totals.warnings, 0);
    // Each exception still exists: a stale entry would hide nothing and show here.
    const named = (await Deno.readTextFile(`${ROOT}/openapi/lint-ignore.yaml`))
      .split("\n").filter((l) => l.trim().startsWith('- "#'));
    assertEquals(report.totals.ignored, named.length, lint.out);
    assert(lint.ok, lint.out);
  },
});

/** What a user of a generated client reads; each `Known` fails to compile on never/unknown/any. */
const PROGRAM = (extra: string) => `
import type { components, paths } from "./api.ts";

type Known<T> = 0 extends (1 & T) ? false : [unknown] extends [T] ? false : [T] extends [never] ? false : true;
const known = <T>(_: T, ok: Known<T>) => ok;
type S = components["schemas"];

type LossesBody = paths["/v1/searches/{id}/losses"]["get"]["responses"]["200"]["content"]["application/json"];
export function read(l: LossesBody, search: S["Search"], result: S["SearchResult"], event: S["SearchEvent"], doc: S["LossDocument"], c: S["Candidate"]) {
  const final = l.final!;
  known(final.difference, true);
  known(final.learned.mean, true);
  known(final.standard.values[0], true);
  known(final.learned.curve, true);
  known(final.metric, true);
  known(l.totals!.rejected, true);
  known(l.losses[0].simplified.infix, true);
  known(l.losses[0].structure.latex, true);
  known(search.config.budget.population, true);
  known(search.config.dataset, true);
  known(search.progress.filters.cacheHits, true);
  known(search.progress.final?.done, true);
  known(search.links.report, true);
  known(search.model?.parameters, true);
  known(search.model?.estimatedBytes.total, true);
  known(search.config.gp.primitives[0], true);
  const layer = search.config.model.layers[0];
  switch (layer.type) {
    case "Conv2D":
      known(layer.filters, true);
      known(layer.kernelSize, true);
      break;
    case "Dense":
      known(layer.units, true);
      break;
  }
  known(result.generations[0].times.wallMs, true);
  known(result.final?.seeds, true);
  known(result.stopped, true);
  known(doc.semantics.primitives, true);
  known(c.times.fitnessMs, true);
  switch (event.event) {
    case "generation":
      known(event.data.rejected, true);
      break;
    case "progress":
      known(event.data.etaMs, true);
      break;
    case "best":
      known(event.data.latex, true);
      break;
    case "finished":
      known(event.data.stopped, true);
      break;
    case "state":
      known(event.data.state, true);
      break;
  }
  type Created = paths["/v1/searches"]["post"]["responses"]["202"]["headers"];
  known<Created["Location"]>("", true);
  known<Created["Idempotent-Replayed"]>("true", true);
  type Listed = paths["/v1/searches"]["get"]["responses"]["200"]["headers"];
  known<Listed["Link"]>("", true);
  // The lifecycle: names, labels and their filters, continuations, warm starts, deduplication.
  known(search.name, true);
  known(search.labels["team"], true);
  known(search.continues?.generation, true);
  known(search.config.warmStart?.losses[0], true);
  known(search.links.continue, true);
  type Filters = NonNullable<paths["/v1/searches"]["get"]["parameters"]["query"]>;
  known<Filters["label"]>(["team:vision"], true);
  known<Filters["name"]>("x", true);
  type Continued = paths["/v1/searches/{id}:continue"]["post"];
  known<Continued["requestBody"]["content"]["application/json"]["generations"]>(3, true);
  known<Continued["responses"]["202"]["headers"]["Location"]>("", true);
  type Patch = paths["/v1/searches/{id}"]["patch"]["requestBody"];
  known<Patch["content"]["application/merge-patch+json"]["labels"]>({ team: null }, true);
  type Uploaded = paths["/v1/datasets"]["post"]["responses"];
  known<Uploaded["200"]["headers"]["Deduplicated"]>("true", true);
  known<Uploaded["201"]["content"]["application/json"]["contentHash"]>("", true);
  ${extra}
}
`;

Deno.test({
  name:
    "openapi-typescript's types of the document type-check a program reading every field users read",
  ...SERVICE_TEST,
  fn: async () => {
    const dir = await servedDocument();
    const gen = await run(
      [
        "run",
        "-A",
        "--config",
        `${ROOT}/deno.json`,
        "npm:openapi-typescript@7.13.0",
        "openapi.json",
        "-o",
        "api.ts",
      ],
      dir,
    );
    assert(gen.ok, gen.out);
    const types = await Deno.readTextFile(`${dir}/api.ts`);
    assert(types.includes("difference: number | null"), "final.difference is a number or null");
    await Deno.writeTextFile(`${dir}/deno.json`, "{}");
    await Deno.writeTextFile(`${dir}/reads.ts`, PROGRAM(""));
    const good = await run(["check", "reads.ts"], dir);
    assert(good.ok, good.out);
    // The same with a field no schema has: the checker must refuse it.
    await Deno.writeTextFile(`${dir}/wrong.ts`, PROGRAM("known(l.final!.noSuchField, true);"));
    const wrong = await run(["check", "wrong.ts"], dir);
    assert(!wrong.ok && wrong.out.includes("noSuchField"), wrong.out);
  },
});
