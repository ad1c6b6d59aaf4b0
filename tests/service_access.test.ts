// deno-lint-ignore-file no-explicit-any
/**
 * Local mode closed to the web, over a real port: a request addressed to another host name (DNS
 * rebinding) is refused; a request a page of another site sends (by Origin, or by
 * Sec-Fetch-Site) is refused and changes nothing, cancel included; CORS answers only the origins
 * configured for it, preflights included; with API keys, cross-site requests are refused too.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  form,
  postJson,
  problemOf,
  startTestService,
  tableCounts,
  tinySearch,
} from "./support/service.ts";

const SERVICE_TEST = { sanitizeOps: false, sanitizeResources: false };
const CSV = ["a,b,y", ...Array.from({ length: 40 }, (_, i) => `${i % 7},${i % 3},${i % 2}`)]
  .join("\n");

/** A client that may set Host, as a browser on a rebound DNS name does. */
const client = Deno.createHttpClient({ allowHost: true });

Deno.test({
  name: "local mode answers only loopback names and its public names (DNS rebinding)",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService({
      http: { publicNames: ["lossmith.example"], corsOrigins: [] },
    });
    try {
      const port = new URL(t.base).port;
      const get = (host: string) =>
        fetch(`${t.base}/v1/datasets`, { headers: { host }, client } as RequestInit);
      for (const host of ["attacker.example", `attacker.example:${port}`, "10.0.0.1"]) {
        const res = await get(host);
        assertEquals(res.status, 403, host);
        const p = await problemOf(res);
        assert(/addressed to/.test(p.detail), p.detail);
      }
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
        const res = await get(host);
        assertEquals(res.status, 200, host);
        await res.body?.cancel();
      }
      const named = await get(`lossmith.example:${port}`);
      assertEquals(named.status, 200);
      await named.body?.cancel();
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "cross-site requests are refused by Origin and Sec-Fetch-Site, and change nothing",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const before = tableCounts(t.service);
      const attacker = { origin: "http://attacker.example" };
      const upload = form({ file: new Blob([CSV]), target: "y" });
      for (
        const init of [
          { ...upload, headers: attacker },
          { ...upload, headers: { "sec-fetch-site": "cross-site" } },
          { ...postJson(tinySearch("iris"), attacker) },
          { ...postJson(tinySearch("iris"), { origin: "http://localhost:3000" }) },
        ]
      ) {
        const path = init.body instanceof FormData ? "/v1/datasets" : "/v1/searches";
        const res = await t.request(path, init);
        assertEquals(res.status, 403, JSON.stringify(init.headers));
        assert(/cross-site/.test((await problemOf(res)).detail));
      }
      assertEquals(tableCounts(t.service), before, "nothing was stored");
      // :cancel takes no body, so a page could send it as a simple request: refused too.
      const search = (await t.json("/v1/searches", postJson(tinySearch("iris")))).body;
      const cancel = await t.request(`/v1/searches/${search.id}:cancel`, {
        method: "POST",
        headers: attacker,
      });
      assertEquals(cancel.status, 403);
      await cancel.body?.cancel();
      assert((await t.json(`/v1/searches/${search.id}`)).body.cancelRequested === false);
      // The service's own pages (same origin) and tools without those headers pass.
      const same = await t.request("/v1/datasets", {
        headers: { origin: t.base, "sec-fetch-site": "same-origin" },
      });
      assertEquals(same.status, 200);
      await same.body?.cancel();
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "CORS answers the configured origins, preflights included, and only them",
  ...SERVICE_TEST,
  fn: async () => {
    const app = "http://app.example";
    const t = await startTestService({ http: { publicNames: [], corsOrigins: [app] } });
    try {
      const preflight = await t.request("/v1/datasets", {
        method: "OPTIONS",
        headers: {
          origin: app,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      assertEquals(preflight.status, 204);
      assertEquals(preflight.headers.get("access-control-allow-origin"), app);
      assert(preflight.headers.get("access-control-allow-methods")!.includes("POST"));
      const res = await t.request(
        "/v1/datasets",
        { ...form({ file: new Blob([CSV]), target: "y" }), headers: { origin: app } },
      );
      assertEquals(res.status, 201);
      assertEquals(res.headers.get("access-control-allow-origin"), app);
      assert(res.headers.get("access-control-expose-headers")!.includes("location"));
      await res.body?.cancel();
      const other = await t.request("/v1/datasets", {
        method: "OPTIONS",
        headers: { origin: "http://attacker.example", "access-control-request-method": "POST" },
      });
      assertEquals(other.status, 403);
      assertEquals(other.headers.get("access-control-allow-origin"), null);
      await other.body?.cancel();
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "with API keys, cross-site requests are refused as well",
  ...SERVICE_TEST,
  fn: async () => {
    const t = await startTestService();
    try {
      const { token } = await t.service.storage.keys.create("alice");
      const ok = await t.request("/v1/datasets", { key: token });
      assertEquals(ok.status, 200);
      await ok.body?.cancel();
      const res = await t.request("/v1/datasets", {
        key: token,
        headers: { origin: "http://attacker.example" },
      });
      assertEquals(res.status, 403);
      const p: any = await problemOf(res);
      assertEquals(p.type, "/docs#problem-forbidden");
    } finally {
      await t.close();
    }
  },
});
