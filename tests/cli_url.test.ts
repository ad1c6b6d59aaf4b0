/**
 * Dataset URLs on the command line: downloaded under the service's rules. A loopback URL is
 * refused before any request is made; allowed explicitly, it is downloaded from a real local
 * server and read like a local file.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { CLI_FETCH_LIMITS, localizeRef } from "../cli/fetch_dataset.ts";
import { loadDataset, parseDatasetRef } from "../core/prepare.ts";

const CSV = "a,b,label\n" +
  Array.from({ length: 12 }, (_, i) => `${i},${i % 3},${i % 2 ? "yes" : "no"}`).join("\n") + "\n";

Deno.test("a loopback dataset URL is refused unless allowed, then downloaded and read", async () => {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    requests++;
    return new Response(CSV, { headers: { "content-type": "text/csv" } });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/files/small.csv`;
    const ref = parseDatasetRef(url, { target: "label" });
    await assertRejects(() => localizeRef(ref, CLI_FETCH_LIMITS), /loopback/);
    assertEquals(requests, 0);
    const local = await localizeRef(ref, { ...CLI_FETCH_LIMITS, allowPrivate: true });
    assertEquals(requests, 1);
    assert(
      local.kind === "csv" && !local.path.startsWith("http") && local.path.endsWith("small.csv"),
    );
    const ds = await loadDataset(local);
    assertEquals([ds.n, ds.d, ds.nClasses], [12, 2, 2]);
    await assertRejects(
      () => localizeRef(ref, { ...CLI_FETCH_LIMITS, allowPrivate: true, maxBytes: 10 }),
      /limit is 10 bytes|larger than 10 bytes/,
    );
  } finally {
    await server.shutdown();
  }
});
