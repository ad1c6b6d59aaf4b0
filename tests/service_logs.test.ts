// deno-lint-ignore-file no-explicit-any
/**
 * The service's log, read from a real process's stdout: one JSON line per request (method, the
 * route's template, status, milliseconds, the key's id, never its token) and one per transition
 * of a search; the level is a setting, and below it nothing is written.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tinySearch } from "./support/service.ts";
import { startNode, stopNode, untilFinished } from "./support/nodes.ts";
import { openStorage } from "../store/mod.ts";

const PROCESS_TEST = { sanitizeOps: false, sanitizeResources: false };

function jsonLines(text: string): any[] {
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

Deno.test({
  name: "one structured line per request and per search transition, never a token",
  ...PROCESS_TEST,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "lossmith-logs-" });
    const db = `${dir}/lossmith.sqlite`;
    const store = await openStorage({ db });
    const { id: keyId, token } = await store.keys.create("alice");
    await store.close();
    const args = ["--db", db, "--workers", "1", "--backend", "wasm"];
    const service = await startNode([...args, "--log-level", "info"]);
    try {
      const auth = { authorization: `Bearer ${token}` };
      const created = await fetch(`${service.base}/v1/searches`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(tinySearch("iris")),
      });
      assertEquals(created.status, 202);
      const search = await untilFinished(service.base, (await created.json()).id, auth);
      assertEquals(search.state, "succeeded");
      const missing = await fetch(`${service.base}/v1/searches/srch_none`, { headers: auth });
      assertEquals(missing.status, 404);
      await missing.body?.cancel();
      const anonymous = await fetch(`${service.base}/v1/datasets`);
      assertEquals(anonymous.status, 401);
      await anonymous.body?.cancel();
    } finally {
      const { code, stderr } = await stopNode(service);
      assertEquals(code, 0, stderr);
    }
    const out = service.stdout();
    assert(!out.includes(token), "the token never reaches the log");
    const lines = jsonLines(out);
    for (const l of lines) assert(typeof l.time === "string" && typeof l.level === "string");
    const requests = lines.filter((l) => l.event === "request");
    const posted = requests.find((l) => l.method === "POST");
    assertEquals(
      [posted.route, posted.status, posted.key],
      ["/v1/searches", 202, keyId],
    );
    assert(typeof posted.ms === "number");
    const polls = requests.filter((l) => l.route === "/v1/searches/{id}");
    assert(polls.length >= 2, "each poll is a line, under the route's template");
    assert(polls.some((l) => l.status === 404));
    const refused = requests.find((l) => l.route === "/v1/datasets");
    assertEquals([refused.status, refused.key], [401, undefined]);
    const transitions = lines.filter((l) => l.event === "search").map((l) => l.state);
    assertEquals(transitions, ["queued", "running", "succeeded"]);

    // Above the requests' level, they are not written.
    const quiet = await startNode([...args, "--log-level", "warn"]);
    try {
      await (await fetch(`${quiet.base}/healthz`)).body?.cancel();
    } finally {
      await stopNode(quiet);
    }
    assertEquals(jsonLines(quiet.stdout()).filter((l) => l.level === "info"), []);
    await Deno.remove(dir, { recursive: true });
  },
});
