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
      responses: { "200": json(ref("Health"), "The service is up and its workers are ready.") },
      handler: async () =>
        jsonResponse({
          status: "ok",
          version: service.version,
          workers: service.pool.parallelism,
          backend: service.pool.backend,
          auth: await service.authRequired() ? "api-keys" : "local",
          ...await service.health(),
        }),
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
            service.pool.stats(),
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
      responses: {
        "200": { description: "HTML.", content: { "text/html": { type: "string" } } },
      },
      handler: (c) => docsPage(c),
    },
  ];
}
