/**
 * A route is data: method, OpenAPI path, parameters, body and responses as JSON Schemas, and the
 * handler. The app (api/app.ts) registers each one with Hono and validates its input against
 * those schemas; the document (openapi/document.ts) is built from the same list. Nothing else
 * registers routes, and a test compares Hono's routes with the document's paths.
 */
import type { Context } from "hono";
import type { SchemaObject } from "openapi3-ts/oas31";

export type Method = "get" | "post" | "patch" | "delete";

export interface ResponseSpec {
  description: string;
  /** Media type -> schema. */
  content?: Record<string, SchemaObject>;
  headers?: Record<string, { description: string; schema: SchemaObject }>;
}

export interface Input {
  owner: string;
  path: Record<string, string>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  /** The JSON body, validated; or the parsed form for multipart bodies. */
  body?: unknown;
  form?: FormData;
}

export interface RouteSpec {
  method: Method;
  /** OpenAPI path template, e.g. /v1/searches/{id} or /v1/searches/{id}:cancel. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Public routes (health, metrics, documents) never ask for a key. */
  public?: boolean;
  /**
   * An HTML page for browsers: its query string belongs to links and the page's own script
   * (campaign tags, a search id), so parameters it does not declare are ignored, not refused.
   */
  page?: boolean;
  params?: {
    path?: Record<string, SchemaObject & { description?: string }>;
    query?: Record<string, SchemaObject & { description?: string }>;
    header?: Record<string, SchemaObject & { description?: string }>;
  };
  /** Media type -> schema; JSON bodies are validated, multipart ones field by field. */
  body?: Record<string, SchemaObject>;
  /**
   * Waits for a turn before the body is read (a bounded queue for memory-heavy work); the
   * function it resolves to ends the turn once the handler has answered.
   */
  admit?: () => Promise<() => void>;
  responses: Record<string, ResponseSpec>;
  handler: (c: Context, input: Input) => Response | Promise<Response>;
}

/** `{id}` -> `:id`; `{id}:verb` (a custom method, as in Google's API design) -> a param whose
 * value must end in `:verb`, which the app strips. */
export function honoPath(path: string): string {
  return path.replace(
    /\{(\w+)\}(:\w+)?/g,
    (_, name, verb) => verb ? `:${name}{[^/:]+${verb}}` : `:${name}`,
  );
}

/** The inverse, for the test that compares the app with the document. */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)\{\[\^\/:\]\+(:\w+)\}/g, "{$1}$2").replace(/\/:(\w+)/g, "/{$1}");
}

/** Removes the `:verb` suffix a custom-method path leaves on its last parameter. */
export function stripVerb(path: string, params: Record<string, string>): Record<string, string> {
  const m = /\{(\w+)\}(:\w+)$/.exec(path);
  if (!m) return params;
  const [, name, verb] = m;
  return { ...params, [name]: params[name].slice(0, -verb.length) };
}
