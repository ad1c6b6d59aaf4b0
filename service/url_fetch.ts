/**
 * Downloads a dataset a user registered by URL, as a server-side request made on a user's behalf
 * must be made: http(s) only, no credentials in the URL, a time limit, a size limit enforced while
 * reading, and never to a special-purpose address (loopback, private, link-local, documentation,
 * translation and tunnelling prefixes, ...: anything but global unicast) unless the operator
 * allows them. Every redirect is checked like the first URL.
 *
 * The name is resolved once, here, and the connection goes to the address that was checked:
 * node:http(s)'s `lookup` hook answers with the checked addresses instead of asking DNS again, so
 * a DNS server that answers differently the second time (rebinding) cannot redirect the request.
 * TLS still verifies the certificate against the URL's host name, which also goes out as SNI and
 * in the Host header. (fetch() cannot be pinned so for https: its TCP transport speaks plain
 * HTTP.)
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { readAllLimited } from "../core/data/bytes.ts";
import { LOSSMITH_VERSION } from "../core/result.ts";

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
  /** Root certificates (PEM) instead of the system's: for tests with their own TLS server. */
  caCerts?: string[];
  /** How names are resolved (default Deno.resolveDns, A and AAAA). */
  resolve?: (host: string) => Promise<string[]>;
}

const MAX_REDIRECTS = 5;
/** IANA allocates global unicast IPv6 from this block only; the rest is reserved by the IETF. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

/**
 * Why an address may not be fetched (the name of its special-purpose range, as ipaddr.js keeps the
 * IANA registries), or undefined for a global unicast address.
 */
export function specialAddress(address: string): string | undefined {
  const text = address.replace(/^\[|\]$/g, "").split("%")[0];
  if (!ipaddr.isValid(text)) return "malformed";
  const parsed = ipaddr.parse(text);
  const range = parsed.range();
  // ipaddr.js names ranges in camel case ("linkLocal"): words read better in a refusal.
  if (range !== "unicast") return range.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (parsed.kind() === "ipv6" && !parsed.match(GLOBAL_UNICAST_V6)) return "reserved";
  return undefined;
}

const HINT = "; an operator can allow such addresses with LOSSMITH_ALLOW_PRIVATE_URLS=true";

async function resolveDns(host: string): Promise<string[]> {
  const found = await Promise.all(
    (["A", "AAAA"] as const).map((type) => Deno.resolveDns(host, type).catch(() => [])),
  );
  return found.flat();
}

/** Refuses what no URL dataset may be, whatever the addresses: schemes other than http(s), creds. */
function checkShape(url: URL): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UrlRefused(`only http and https URLs can be registered, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    // They would be stored and returned with the dataset, and sent to every redirect target.
    throw new UrlRefused(
      "a URL with credentials (user:password@) is not accepted: the URL is stored and shown " +
        "with the dataset; publish the file at a URL that needs none, or upload it",
    );
  }
}

/**
 * The addresses the URL's host resolves to, once; refused if any is special (unless allowed).
 * The download connects to these and no others.
 */
export async function checkUrl(
  url: URL,
  allowPrivate: boolean,
  resolve: (host: string) => Promise<string[]> = resolveDns,
): Promise<string[]> {
  checkShape(url);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!allowPrivate && (host === "localhost" || host.endsWith(".localhost"))) {
    throw new UrlRefused(`${host} is a loopback name${HINT}`);
  }
  const addresses = ipaddr.isValid(host) ? [host] : await resolve(host);
  if (addresses.length === 0) throw new UrlFetchFailed(`could not resolve host ${host}`);
  if (allowPrivate) return addresses;
  for (const a of addresses) {
    const why = specialAddress(a);
    if (why) {
      throw new UrlRefused(`${host} resolves to ${a}, a special-purpose (${why}) address${HINT}`);
    }
  }
  return addresses;
}

/** A `lookup` for node:net that answers with the checked addresses only. */
function pinnedLookup(addresses: string[]): LookupFunction {
  const entries = addresses.map((address) => ({
    address,
    family: ipaddr.parse(address).kind() === "ipv6" ? 6 : 4,
  }));
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, entries);
    else callback(null, entries[0].address, entries[0].family);
  }) as unknown as LookupFunction;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

function get(url: URL, addresses: string[], limits: FetchLimits, signal: AbortSignal) {
  const module = url.protocol === "https:" ? https : http;
  return new Promise<Answer>((resolve, reject) => {
    const request = module.get(url, {
      lookup: pinnedLookup(addresses),
      // No pooled connection: each request connects to the addresses checked for it.
      agent: false,
      signal,
      headers: { "accept-encoding": "identity", "user-agent": `lossmith/${LOSSMITH_VERSION}` },
      ...(limits.caCerts ? { ca: limits.caCerts } : {}),
    }, (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
    request.on("error", reject);
  });
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
      const addresses = await checkUrl(url, limits.allowPrivate, limits.resolve);
      const res = await get(url, addresses, limits, signal);
      const location = res.headers.location;
      if (res.status >= 300 && res.status < 400 && location) {
        res.body.destroy();
        url = new URL(location, url);
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        res.body.destroy();
        throw new UrlFetchFailed(`${url} answered HTTP ${res.status}`);
      }
      const encoding = res.headers["content-encoding"];
      if (encoding && encoding !== "identity") {
        res.body.destroy();
        throw new UrlFetchFailed(
          `${url} answered with content-encoding ${encoding} although asked for none`,
        );
      }
      const length = Number(res.headers["content-length"] ?? NaN);
      if (length > limits.maxBytes) {
        res.body.destroy();
        throw new UrlTooLarge(
          `the download is ${length} bytes; the limit is ${limits.maxBytes} bytes`,
        );
      }
      return await readAllLimited(
        res.body as AsyncIterable<Uint8Array>,
        limits.maxBytes,
        () => new UrlTooLarge(`the download is larger than ${limits.maxBytes} bytes, the limit`),
      );
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
