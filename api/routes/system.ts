/** Health, metrics, and the API's own description (OpenAPI document and reference page). */
import type { OpenAPIObject } from "openapi3-ts/oas31";
import type { Service } from "../../service/mod.ts";
import { JOB_STATES } from "../../service/types.ts";
import type { RouteSpec } from "../route.ts";
import { ref } from "../schemas/common.ts";
import { json, jsonResponse } from "./common.ts";
import { docsPage } from "../docs_page.ts";

export function systemRoutes(service: Service, document: () => OpenAPIObject): RouteSpec[] {
  return [
    {
      method: "get",
      path: "/healthz",
      operationId: "health",
      summary: "Liveness and readiness",
      tag: "service",
      public: true,
      responses: {
        "200": json(
          ref("Health"),
          "The service is up, with at least one worker serving or starting.",
        ),
        "503": json(ref("Health"), "No worker of this node serves and none is starting."),
      },
      handler: async () => {
        const { status, ...node } = await service.health();
        const pool = service.pool.health();
        const counters = service.pool.counters;
        const down = status === "down";
        return jsonResponse(
          {
            status,
            version: service.version,
            workers: service.pool.parallelism,
            pool: {
              ready: pool.ready,
              starting: pool.starting,
              dead: pool.dead,
              replaced: counters.restarts,
              broken: counters.broken,
              lost: counters.lost,
              ...(pool.lastReplacementMs === undefined
                ? {}
                : { lastReplacementMs: pool.lastReplacementMs }),
            },
            backend: service.pool.backend,
            ...(service.pool.nativeMatMul ? { blas: service.pool.nativeMatMul } : {}),
            auth: await service.authRequired() ? "api-keys" : "local",
            ...node,
          },
          down ? 503 : 200,
          down ? { "retry-after": "30" } : {},
        );
      },
    },
    {
      method: "get",
      path: "/metrics",
      operationId: "metrics",
      summary: "Prometheus metrics",
      description: "Jobs by state, evaluations and their latency, worker utilisation, HTTP " +
        "requests, this node's identity, leases and the queue depth, in the Prometheus text " +
        "format.",
      tag: "service",
      public: true,
      responses: {
        "200": {
          description: "Prometheus text exposition format 0.0.4.",
          content: { "text/plain": { type: "string" } },
        },
      },
      handler: async () =>
        new Response(
          service.metrics.render(
            await service.jobs.countByState(),
            JOB_STATES,
            {
              ...service.pool.stats(),
              health: service.pool.health(),
              counters: service.pool.counters,
            },
            await service.health(),
          ),
          { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } },
        ),
    },
    {
      method: "get",
      path: "/openapi.json",
      operationId: "openapi",
      summary: "This API's OpenAPI 3.1 document",
      tag: "service",
      public: true,
      responses: {
        "200": json(
          { type: "object", additionalProperties: true, description: "OpenAPI 3.1." },
          "The OpenAPI document.",
        ),
      },
      handler: () => jsonResponse(document()),
    },
    {
      method: "get",
      path: "/docs",
      operationId: "docs",
      summary: "An interactive reference of this API (try-it-out, code samples, search)",
      tag: "service",
      public: true,
      page: true,
      responses: {
        "200": { description: "HTML.", content: { "text/html": { type: "string" } } },
      },
      handler: (c) => docsPage(c),
    },
  ];
}
