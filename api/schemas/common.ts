/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses them) shared by several routes. The same objects
 * validate requests (api/validate.ts) and go into the OpenAPI document (openapi/document.ts).
 */
import type { SchemaObject } from "openapi3-ts/oas31";

export const ref = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` });

export const Problem: SchemaObject = {
  type: "object",
  description: "An RFC 9457 problem document (media type application/problem+json).",
  required: ["type", "title", "status", "detail"],
  properties: {
    type: { type: "string", description: "A URI naming the kind of problem." },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string", description: "What went wrong and what to change." },
    instance: { type: "string", description: "The request path." },
    errors: {
      type: "array",
      description: "Each invalid field: a JSON pointer into the body, or a parameter name; " +
        "for data files, the row (1-based line, header = 1) and column.",
      items: {
        type: "object",
        required: ["detail"],
        properties: {
          detail: { type: "string" },
          pointer: { type: "string" },
          parameter: { type: "string" },
          row: { type: "integer" },
          column: { type: "string" },
        },
      },
    },
  },
};

export const pageOf = (item: string): SchemaObject => ({
  type: "object",
  required: ["items"],
  properties: {
    items: { type: "array", items: ref(item) },
    nextCursor: {
      type: "string",
      description: "Pass as `cursor` for the next page; absent on the last page.",
    },
  },
});

export const limitParam: SchemaObject = {
  type: "integer",
  minimum: 1,
  maximum: 100,
  default: 20,
  description: "Items per page.",
};

export const cursorParam: SchemaObject = {
  type: "string",
  description: "The `nextCursor` of the previous page.",
};

export const Health: SchemaObject = {
  type: "object",
  required: ["status"],
  properties: {
    status: {
      type: "string",
      enum: ["ok", "degraded", "down"],
      description: "This node's workers. `ok`: every worker serves; `degraded`: some are " +
        "being replaced or could not be; `down` (answered 503): none serves or is starting.",
    },
    version: { type: "string" },
    workers: { type: "integer", description: "Evaluation workers configured." },
    pool: {
      type: "object",
      description: "The workers now, and what was replaced since the service started.",
      properties: {
        ready: { type: "integer", description: "Serving (idle or busy)." },
        starting: { type: "integer", description: "Replacements on their way." },
        dead: { type: "integer", description: "Slots whose replacement failed to start." },
        replaced: { type: "integer", description: "Workers replaced, for any reason." },
        broken: {
          type: "integer",
          description: "Workers whose runtime broke (wasm abort, exhausted heap), replaced.",
        },
        lost: { type: "integer", description: "Workers that crashed or were terminated." },
        lastReplacementMs: {
          type: "number",
          description: "From the last worker fault seen to its replacement serving.",
        },
      },
    },
    backend: { type: "string" },
    blas: {
      type: "string",
      description: "The OpenBLAS library the wasm workers' matrix products use, if any.",
    },
    auth: { type: "string", enum: ["api-keys", "local"] },
    node: { type: "string", description: "This node's name among the nodes of its database." },
    storage: { type: "string", enum: ["sqlite", "postgres"] },
    leases: {
      type: "object",
      description: "Leases this node holds: searches it runs, evaluations its workers compute.",
      properties: { searches: { type: "integer" }, evaluations: { type: "integer" } },
    },
    queue: {
      type: "object",
      description: "Work waiting for a node: queued searches, and queued evaluations " +
        "(PostgreSQL; refreshed every 10 s).",
      properties: { searches: { type: "integer" }, evaluations: { type: "integer" } },
    },
    nodes: { type: "integer", description: "Nodes with a recent heartbeat, this one included." },
    cluster: {
      type: "array",
      description: "Each of those nodes with the state of its workers (`status` above): this " +
        "one's now, the others' at their last heartbeat (every third of the lease).",
      items: {
        type: "object",
        required: ["node", "status"],
        properties: {
          node: { type: "string" },
          status: { type: "string", enum: ["ok", "degraded", "down"] },
          url: { type: "string" },
        },
      },
    },
  },
};
