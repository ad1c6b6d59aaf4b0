/**
 * Downloads a dataset a user registered by URL, as a server-side request made on a user's behalf
 * must be made: http(s) only, a time limit, a size limit enforced while reading, and never to
 * loopback, private, link-local or other special addresses (the service's own network) unless the
 * operator allows them. Every redirect is checked like the first URL.
 *
 * Known limit: the address is checked when it is resolved here and fetch() resolves the name
 * again, so a DNS server that answers differently the second time (rebinding) could slip
 * through. Operators who register untrusted URLs should also filter egress at the network level.
 */
import { readAllLimited } from "../core/data/bytes.ts";

export class UrlRefused extends Error {
  override name = "UrlRefused";
}

export class UrlFetchFailed extends Error {
  override name = "UrlFetchFailed";
}

export class UrlTooLarge extends Error {
  override name = "UrlTooLarge";
}

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  allowPrivate: boolean;
}

const MAX_REDIRECTS = 5;

function v4Octets(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  return o.every((x) => x <= 255) ? o : undefined;
}

/** Why an IPv4 address is not a public one, or undefined if it is. */
function specialV4([a, b]: number[]): string | undefined {
  if (a === 127) return "loopback";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 169 && b === 254) return "link-local";
  if (a === 100 && b >= 64 && b <= 127) return "shared (carrier-grade NAT)";
  if (a === 0) return "unspecified";
  if (a >= 224) return "multicast or reserved";
  if (a === 198 && (b === 18 || b === 19)) return "benchmarking";
  if (a === 192 && b === 0) return "reserved";
  return undefined;
}

/** Expands an IPv6 address to eight 16-bit groups (undefined if it is not one). */
function v6Groups(text: string): number[] | undefined {
  let t = text.replace(/^\[|\]$/g, "").split("%")[0].toLowerCase();
  if (!t.includes(":")) return undefined;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (quad) {
    const o = v4Octets(quad[1]);
    if (!o) return undefined;
    t = t.slice(0, -quad[1].length) +
      `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const halves = t.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string) => s === "" ? [] : s.split(":").map((g) => parseInt(g, 16));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...head, ...new Array(fill).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function specialV6(g: number[]): string | undefined {
  if (g.every((x) => x === 0)) return "unspecified";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback";
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (mapped || nat64) return specialV4([g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255]);
  if ((g[0] & 0xfe00) === 0xfc00) return "private (unique local)";
  if ((g[0] & 0xffc0) === 0xfe80) return "link-local";
  if ((g[0] & 0xff00) === 0xff00) return "multicast";
  return undefined;
}

/** Why an address may not be fetched, or undefined for a public address. */
export function specialAddress(address: string): string | undefined {
  const v4 = v4Octets(address);
  if (v4) return specialV4(v4);
  const v6 = v6Groups(address);
  if (v6) return specialV6(v6);
  return undefined;
}

/** Resolves the URL's host and refuses it if any address is special. */
export async function checkUrl(url: URL, allowPrivate: boolean): Promise<void> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UrlRefused(`only http and https URLs can be registered, not ${url.protocol}`);
  }
  if (allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const hint = "; an operator can allow such addresses with LOSSMITH_ALLOW_PRIVATE_URLS=true";
  if (host === "localhost" || host.endsWith(".localhost")) {
    throw new UrlRefused(`${host} is a loopback name${hint}`);
  }
  let addresses: string[];
  if (v4Octets(host) || v6Groups(host)) {
    addresses = [host];
  } else {
    const found = await Promise.all(
      (["A", "AAAA"] as const).map((type) => Deno.resolveDns(host, type).catch(() => [])),
    );
    addresses = found.flat();
    if (addresses.length === 0) throw new UrlFetchFailed(`could not resolve host ${host}`);
  }
  for (const a of addresses) {
    const why = specialAddress(a);
    if (why) throw new UrlRefused(`${host} resolves to ${a}, a ${why} address${hint}`);
  }
}

/** Reads a body stream, failing as soon as it passes maxBytes. */
function readLimited(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  return readAllLimited(
    body,
    maxBytes,
    () => new UrlTooLarge(`the download is larger than ${maxBytes} bytes, the limit`),
  );
}

/** Downloads the URL within the limits; redirects are followed by hand and checked. */
export async function fetchLimited(urlText: string, limits: FetchLimits): Promise<Uint8Array> {
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new UrlRefused(`not a valid URL: ${urlText}`);
  }
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      await checkUrl(url, limits.allowPrivate);
      const res = await fetch(url, { redirect: "manual", signal });
      if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
        await res.body?.cancel();
        url = new URL(res.headers.get("location")!, url);
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new UrlFetchFailed(`${url} answered HTTP ${res.status}`);
      }
      const length = Number(res.headers.get("content-length") ?? NaN);
      if (length > limits.maxBytes) {
        await res.body?.cancel();
        throw new UrlTooLarge(
          `the download is ${length} bytes; the limit is ${limits.maxBytes} bytes`,
        );
      }
      return res.body ? await readLimited(res.body, limits.maxBytes) : new Uint8Array();
    }
    throw new UrlFetchFailed(`more than ${MAX_REDIRECTS} redirects`);
  } catch (e) {
    if (e instanceof UrlRefused || e instanceof UrlFetchFailed || e instanceof UrlTooLarge) throw e;
    if (signal.aborted) {
      throw new UrlFetchFailed(`the download took longer than ${limits.timeoutMs} ms, the limit`);
    }
    throw new UrlFetchFailed(`the download failed: ${(e as Error).message}`);
  }
}
