/** The address checks behind dataset URLs: no request leaves for a refused address. */
import { assertEquals, assertRejects } from "./support/assert.ts";
import { checkUrl, specialAddress, UrlRefused } from "../service/url_fetch.ts";

Deno.test("loopback, private, link-local and other special addresses are recognised", () => {
  const cases: [string, string | undefined][] = [
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", undefined],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared (carrier-grade NAT)"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast or reserved"],
    ["8.8.8.8", undefined],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link-local"],
    ["fd00::1", "private (unique local)"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["64:ff9b::10.0.0.1", "private"],
    ["2001:4860:4860::8888", undefined],
  ];
  for (const [address, why] of cases) assertEquals(specialAddress(address), why, address);
});

Deno.test("URLs to refused addresses are refused before any connection", async () => {
  for (
    const url of [
      "http://127.0.0.1/a.csv",
      "http://localhost:8000/a.csv",
      "http://api.localhost/a.csv",
      "http://[::1]/a.csv",
      "http://169.254.169.254/latest/meta-data",
      "http://10.0.0.5/a.csv",
      "file:///etc/passwd",
    ]
  ) {
    await assertRejects(
      () => checkUrl(new URL(url), false),
      /loopback|link-local|private|only http/,
    );
  }
  const e = await assertRejects(() => checkUrl(new URL("http://10.0.0.5/"), false));
  assertEquals(e instanceof UrlRefused, true);
  // Allowed by configuration: no error (and still only http/https).
  await checkUrl(new URL("http://127.0.0.1/a.csv"), true);
  await assertRejects(() => checkUrl(new URL("ftp://127.0.0.1/"), true), /only http/);
});
