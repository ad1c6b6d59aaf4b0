/**
 * RFC 9457 problem documents. Every error the API returns is one, with media type
 * application/problem+json; `type` links to the section of /docs that explains it.
 */
import type { ErrorKind, FieldError } from "../service/errors.ts";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

/** Problem types, documented on /docs#problems. */
export const PROBLEM_TYPES: Record<string, { status: number; title: string; when: string }> = {
  "malformed": { status: 400, title: "Malformed request", when: "The body is not valid JSON." },
  "unknown-parameter": {
    status: 400,
    title: "Unknown parameter",
    when:
      "A query parameter the operation does not take (every operation but the two HTML pages, / and /docs, refuses them); " +
      "`errors` names each one.",
  },
  "validation": {
    status: 422,
    title: "Invalid request",
    when: "A field, parameter or data cell is wrong; `errors` points at each one.",
  },
  "unauthorized": {
    status: 401,
    title: "Unauthorized",
    when: "No valid `Authorization: Bearer <key>` header, and the service requires one.",
  },
  "forbidden": {
    status: 403,
    title: "Forbidden",
    when: "The request came from a web page of another site, or was addressed to a host name " +
      "this service does not answer to (see docs/service.md, Access).",
  },
  "not-found": {
    status: 404,
    title: "Not found",
    when: "No such resource for this key (another key's resources are not found either).",
  },
  "method-not-allowed": {
    status: 405,
    title: "Method not allowed",
    when: "The path exists, but not with this method; `Allow` lists the methods it takes.",
  },
  "conflict": {
    status: 409,
    title: "Conflict",
    when: "The resource's state forbids the request (a dataset in use, a bundled dataset).",
  },
  "too-large": {
    status: 413,
    title: "Too large",
    when: "A body, upload, download or dataset over the service's limit (named in `detail`).",
  },
  "unsupported-media-type": {
    status: 415,
    title: "Unsupported media type",
    when: "The body's Content-Type is not one the operation accepts.",
  },
  "limit": {
    status: 429,
    title: "Limit reached",
    when: "A per-key limit (queued and running searches, open event streams) is reached; " +
      "`detail` names it and `Retry-After` says when to try again.",
  },
  "unavailable": {
    status: 503,
    title: "Unavailable",
    when: "The service is shutting down, or too many uploads or event streams are open; " +
      "`Retry-After` says when to try again.",
  },
  "internal": { status: 500, title: "Internal error", when: "A bug: please report it." },
};

const KIND_TO_TYPE: Record<ErrorKind, string> = {
  invalid: "validation",
  "not-found": "not-found",
  conflict: "conflict",
  limit: "limit",
  "too-large": "too-large",
  unauthorized: "unauthorized",
  unavailable: "unavailable",
};

export function typeForKind(kind: ErrorKind): string {
  return KIND_TO_TYPE[kind];
}

export function problem(
  type: string,
  detail: string,
  opts: { title?: string; instance?: string; errors?: FieldError[] } = {},
): ProblemBody {
  const t = PROBLEM_TYPES[type] ?? PROBLEM_TYPES.internal;
  return {
    type: `/docs#problem-${type}`,
    title: opts.title ?? t.title,
    status: t.status,
    detail,
    ...(opts.instance ? { instance: opts.instance } : {}),
    ...(opts.errors?.length ? { errors: opts.errors } : {}),
  };
}

export function problemResponse(body: ProblemBody, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}
