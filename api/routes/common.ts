/** Pieces every route definition uses. */
import type { SchemaObject } from "openapi3-ts/oas31";
import type { ResponseSpec } from "../route.ts";
import { PROBLEM_TYPES } from "../problem.ts";
import { ref } from "../schemas/common.ts";

export const PROBLEM_JSON = "application/problem+json";

/** The problem responses an operation may give, by status. */
export function problems(...statuses: number[]): Record<string, ResponseSpec> {
  const out: Record<string, ResponseSpec> = {};
  for (const status of statuses) {
    const kinds = Object.entries(PROBLEM_TYPES).filter(([, t]) => t.status === status);
    out[String(status)] = {
      description: kinds.map(([, t]) => t.when).join(" ") || "Problem.",
      content: { [PROBLEM_JSON]: ref("Problem") },
      ...(status === 401 ? { headers: { "WWW-Authenticate": HEADERS.wwwAuthenticate } } : {}),
    };
  }
  return out;
}

const text: SchemaObject = { type: "string" };

/** The response headers the API sends, declared where they are sent. */
export const HEADERS = {
  location: (what: string) => ({ description: `The ${what}'s URL.`, schema: text }),
  link: {
    description: 'The next page, `<path?cursor=...>; rel="next"` (RFC 8288); absent on the ' +
      "last page.",
    schema: text,
  },
  idempotentReplayed: {
    description: "`true` when an `Idempotency-Key` named an earlier, identical request: the " +
      "search returned is that request's.",
    schema: { type: "string", enum: ["true"] } as SchemaObject,
  },
  deduplicated: {
    description: "`true`: the files were this key's dataset's already (the same content " +
      "hash); the dataset returned is that one.",
    schema: { type: "string", enum: ["true"] } as SchemaObject,
  },
  contentDisposition: { description: "`attachment` with the file's name.", schema: text },
  wwwAuthenticate: { description: 'The scheme to use: `Bearer realm="lossmith"`.', schema: text },
};

export function json(schema: SchemaObject, description: string): ResponseSpec {
  return { description, content: { "application/json": schema } };
}

export const idParam = (what: string): SchemaObject & { description: string } => ({
  type: "string",
  minLength: 1,
  maxLength: 100,
  description: `The ${what}'s id.`,
});

/** JSON with the given status and headers. */
export function jsonResponse(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** A Link header for the next page, keeping the other query parameters. */
export function nextLink(url: string, cursor: string | undefined): HeadersInit {
  if (!cursor) return {};
  const next = new URL(url);
  next.searchParams.set("cursor", cursor);
  return { link: `<${next.pathname}${next.search}>; rel="next"` };
}

/** One page of a list as the API answers it: the items' views, the cursor and its Link. */
export function pageResponse<T>(
  url: string,
  page: { items: T[]; nextCursor?: string },
  view: (item: T) => unknown,
): Response {
  return jsonResponse(
    { items: page.items.map(view), nextCursor: page.nextCursor },
    200,
    nextLink(url, page.nextCursor),
  );
}
