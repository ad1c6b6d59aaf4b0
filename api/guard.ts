/**
 * What keeps web pages from driving the service through the user's browser:
 * - Host: in local mode (no key needed), a request must be addressed to a loopback name, the
 *   address the service listens on, or a configured public name. A page on a DNS name rebound
 *   to 127.0.0.1 sends its own name as Host, and is refused: DNS rebinding reaches nothing.
 *   With API keys the same holds once public names are configured (behind a proxy the names
 *   are the operator's to list).
 * - Origin: a request a page on another origin sends (`Origin` not this host, or
 *   `Sec-Fetch-Site: cross-site` / `same-site`) is refused, whatever the mode, unless that origin
 *   is configured for CORS; then it is answered with the CORS headers, preflights included. A
 *   form post, which needs no preflight, is refused like the rest.
 * Requests without those headers (curl, scripts, a URL typed in the address bar) pass.
 */
import type { ServiceConfig } from "../service/config.ts";
import { problem, problemResponse } from "./problem.ts";

const CORS_HEADERS = "authorization, content-type, idempotency-key, last-event-id";
const EXPOSED = "location, link, retry-after, idempotent-replayed, deduplicated";
const CORS_METHODS = "GET, POST, PATCH, DELETE";

/** The host part of a Host header or origin, lower case, brackets kept for IPv6. */
function hostOf(authority: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(:\d+)?$/.exec(authority.trim().toLowerCase());
  return m ? m[1] : authority.toLowerCase();
}

function isLoopbackName(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" ||
    /^127(\.\d{1,3}){3}$/.test(host);
}

export interface Guard {
  /** A refusal, or undefined to go on. */
  check(req: Request, localMode: boolean): Response | undefined;
  /** The CORS headers for an allowed cross-origin request's answer. */
  corsHeaders(req: Request): Record<string, string>;
}

export function guard(config: ServiceConfig): Guard {
  const names = new Set(config.http.publicNames.map(hostOf));
  if (!["0.0.0.0", "::", "[::]"].includes(config.host)) names.add(hostOf(config.host));
  const cors = new Set(config.http.corsOrigins);
  const refuse = (req: Request, detail: string) =>
    problemResponse(problem("forbidden", detail, { instance: new URL(req.url).pathname }));
  const crossOrigin = (req: Request): string | undefined => {
    const origin = req.headers.get("origin");
    const site = req.headers.get("sec-fetch-site");
    if (origin && origin !== "null") {
      const host = req.headers.get("host") ?? "";
      let from: URL | undefined;
      try {
        from = new URL(origin);
      } catch {
        return origin;
      }
      if (from.host.toLowerCase() !== host.toLowerCase()) return origin;
    } else if (origin === "null") return origin;
    if (site === "cross-site" || site === "same-site") return origin ?? `a ${site} page`;
    return undefined;
  };
  return {
    check(req, localMode) {
      const host = hostOf(req.headers.get("host") ?? "");
      const checkHost = localMode || config.http.publicNames.length > 0;
      if (checkHost && !isLoopbackName(host) && !names.has(host)) {
        return refuse(
          req,
          `requests to this service must be addressed to ${
            ["localhost", "127.0.0.1", ...names].join(", ")
          }, not '${host}' (a DNS name pointed at this machine is not enough: ` +
            `the operator lists public names with LOSSMITH_PUBLIC_NAME)`,
        );
      }
      const from = crossOrigin(req);
      if (from !== undefined && !cors.has(from)) {
        return refuse(
          req,
          `cross-site requests are refused (from ${from}); the operator can allow an origin ` +
            `with LOSSMITH_CORS_ORIGINS`,
        );
      }
      if (req.method === "OPTIONS" && from !== undefined) {
        // A preflight from an allowed origin.
        return new Response(null, {
          status: 204,
          headers: {
            ...this.corsHeaders(req),
            "access-control-allow-methods": CORS_METHODS,
            "access-control-allow-headers": CORS_HEADERS,
            "access-control-max-age": "600",
          },
        });
      }
      return undefined;
    },
    corsHeaders(req): Record<string, string> {
      const origin = req.headers.get("origin");
      if (!origin || !cors.has(origin)) return {};
      return {
        "access-control-allow-origin": origin,
        "access-control-expose-headers": EXPOSED,
        vary: "Origin",
      };
    },
  };
}
