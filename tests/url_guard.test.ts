/**
 * The address checks behind dataset URLs: every special-purpose address refused, no request for
 * a refused one, no credentials, and the connection made to the address that was checked (one
 * lookup per hop, for http and https), so a second DNS answer cannot redirect it.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import {
  checkUrl,
  fetchLimited,
  type FetchLimits,
  specialAddress,
  UrlRefused,
} from "../service/url_fetch.ts";

Deno.test("every special-purpose address is recognised; global unicast passes", () => {
  const refused = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "192.0.2.1", // documentation
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1", // benchmarking
    "240.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fd00::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "64:ff9b::10.0.0.1",
    // What got through the hand-written tables (issue 13's probe):
    "::127.0.0.1", // IPv4-compatible
    "::7f00:1",
    "::ffff:0:127.0.0.1", // IPv4-translated
    "2002:7f00:1::", // 6to4
    "64:ff9b:1::1", // local-use NAT64
    "fec0::1", // site-local
    "100::1", // discard
    "2001:db8::1", // documentation
    "3fff::1",
    "2001::1", // Teredo
    "4000::1", // outside global unicast
    "not-an-address",
  ];
  for (const address of refused) {
    assert(specialAddress(address) !== undefined, `${address} should be refused`);
  }
  assertEquals(specialAddress("fe80::1"), "link-local");
  assertEquals(specialAddress("2002:7f00:1::"), "6to4");
  for (const address of ["8.8.8.8", "172.32.0.1", "2001:4860:4860::8888", "2a00:1450::1"]) {
    assertEquals(specialAddress(address), undefined, address);
  }
});

Deno.test("URLs to refused addresses, with credentials or another scheme are refused", async () => {
  let lookups = 0;
  const resolve = (host: string) => {
    lookups++;
    return Promise.resolve(host === "rebind.example" ? ["10.0.0.7"] : ["93.184.215.14"]);
  };
  for (
    const url of [
      "http://127.0.0.1/a.csv",
      "http://localhost:8000/a.csv",
      "http://api.localhost/a.csv",
      "http://[::1]/a.csv",
      "http://[::7f00:1]/a.csv",
      "http://[2002:7f00:1::]/a.csv",
      "http://[64:ff9b:1::a00:1]/a.csv",
      "http://169.254.169.254/latest/meta-data",
      "http://0177.0.0.1/a.csv", // the URL parser reads octal: 127.0.0.1
      "http://rebind.example/a.csv",
      "file:///etc/passwd",
    ]
  ) {
    const e = await assertRejects(() => checkUrl(new URL(url), false, resolve));
    assert(e instanceof UrlRefused, `${url}: ${e}`);
  }
  assertEquals(lookups, 1, "names are resolved; literal addresses are not");
  const creds = await assertRejects(() =>
    checkUrl(new URL("https://user:secret@data.example/a.csv"), false, resolve)
  );
  assert(creds instanceof UrlRefused && /credentials/.test(creds.message), String(creds));
  assert(!creds.message.includes("secret"), "the refusal does not repeat the password");
  // Allowed by configuration: the addresses come back (and still only http/https, no creds).
  assertEquals(await checkUrl(new URL("http://127.0.0.1/a.csv"), true), ["127.0.0.1"]);
  await assertRejects(() => checkUrl(new URL("ftp://127.0.0.1/"), true), /only http/);
  await assertRejects(() => checkUrl(new URL("http://u:p@127.0.0.1/"), true), /credentials/);
});

const CERT = Deno.readTextFileSync(new URL("./support/tls_cert.pem", import.meta.url));
const KEY = Deno.readTextFileSync(new URL("./support/tls_key.pem", import.meta.url));

Deno.test({
  name: "the download connects to the checked address, once resolved, over http and https",
  sanitizeResources: false,
  fn: async () => {
    // `data.example` exists in no DNS: a request reaches these servers only through the address
    // the check resolved it to. The certificate is for data.example, so TLS verifies the name.
    const seen: string[] = [];
    const handler = (req: Request) => {
      seen.push(req.headers.get("host")!);
      const path = new URL(req.url).pathname;
      if (path === "/hop") return Response.redirect(`${new URL(req.url).origin}/x.csv`, 302);
      if (path === "/away") return Response.redirect("ftp://data.example/x.csv", 302);
      return new Response("a,b\n1,2\n");
    };
    const plain = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
    const tls = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY, onListen() {} },
      handler,
    );
    let lookups = 0;
    const limits: FetchLimits = {
      timeoutMs: 5000,
      maxBytes: 1000,
      allowPrivate: true,
      caCerts: [CERT],
      resolve: () => {
        lookups++;
        // Were the name looked up again for the connection, this answer would fail it.
        return Promise.resolve(["127.0.0.1"]);
      },
    };
    try {
      const text = (b: Uint8Array) => new TextDecoder().decode(b);
      const viaHttp = await fetchLimited(`http://data.example:${plain.addr.port}/x.csv`, limits);
      assertEquals(text(viaHttp), "a,b\n1,2\n");
      assertEquals(lookups, 1);
      lookups = 0;
      const viaHttps = await fetchLimited(`https://data.example:${tls.addr.port}/x.csv`, limits);
      assertEquals(text(viaHttps), "a,b\n1,2\n");
      assertEquals(lookups, 1);
      assertEquals(seen.slice(0, 2), [
        `data.example:${plain.addr.port}`,
        `data.example:${tls.addr.port}`,
      ]);
      // A redirect is a new hop: resolved and checked again (once each).
      lookups = 0;
      const hops = await fetchLimited(`http://data.example:${plain.addr.port}/hop`, limits);
      assertEquals([text(hops), lookups], ["a,b\n1,2\n", 2]);
      await assertRejects(
        () => fetchLimited(`http://data.example:${plain.addr.port}/away`, limits),
        /only http/,
      );
      // Without the right certificate authority, TLS refuses: the name is verified.
      await assertRejects(
        () =>
          fetchLimited(`https://data.example:${tls.addr.port}/x.csv`, {
            ...limits,
            caCerts: undefined,
          }),
        /certificate/,
      );
    } finally {
      await plain.shutdown();
      await tls.shutdown();
    }
  },
});
