/**
 * The OpenAPI 3.1 document of the API, built with openapi3-ts from the route definitions the app
 * registers (api/routes) and the schemas it validates with (api/schemas): one source of truth,
 * so the document cannot describe a request the app would refuse, or the other way round.
 */
import {
  OpenApiBuilder,
  type OpenAPIObject,
  type OperationObject,
  type ParameterObject,
  type SchemaObject,
} from "openapi3-ts/oas31";
import type { RouteSpec } from "../api/route.ts";
import { problems } from "../api/routes/common.ts";
import { Health, Problem } from "../api/schemas/common.ts";
import { Dataset } from "../api/schemas/dataset.ts";
import { Losses, Progress, RankedLoss, Search, SearchConfig } from "../api/schemas/search.ts";
import {
  Candidate,
  ComparisonRow,
  EVENT_SCHEMAS,
  FinalComparison,
  GenerationStats,
  LossDocument,
  MetricSummary,
  PairedTest,
  SearchEvent,
  SearchResult,
  SplitRows,
  StoppedBy,
  Totals,
  Verdict,
} from "../api/schemas/result.ts";
import { LOSSMITH_VERSION } from "../core/result.ts";
import type { ServiceConfig } from "../service/config.ts";
import { LAYER_SCHEMAS } from "../core/layers.ts";

export function componentSchemas(): Record<string, SchemaObject> {
  return {
    Problem,
    Health,
    Dataset,
    Search,
    SearchConfig: SearchConfig(),
    Progress,
    RankedLoss,
    Losses,
    FinalComparison,
    ComparisonRow,
    PairedTest,
    Verdict,
    SplitRows,
    MetricSummary,
    Totals,
    GenerationStats,
    StoppedBy,
    SearchResult,
    Candidate,
    LossDocument,
    SearchEvent,
    ...EVENT_SCHEMAS,
    ...(LAYER_SCHEMAS as Record<string, SchemaObject>),
  };
}

const DESCRIPTION = `Lossmith learns interpretable loss functions with EvoMAL: genetic programming
over symbolic expressions, each tuned by unrolled differentiation. Submit a dataset and a budget,
follow the search, download the ranked losses as formulas or as PyTorch / TensorFlow.js code.

Long-running operations answer \`202 Accepted\` with a \`Location\`; errors are RFC 9457
\`application/problem+json\` documents whose \`errors\` give the JSON pointer of each invalid
field; lists are paginated with \`limit\` and \`cursor\` (and a \`Link: rel="next"\` header).
Send the API key as \`Authorization: Bearer <key>\` (not needed when the service runs locally
without keys).`;

function parameters(route: RouteSpec): ParameterObject[] {
  const out: ParameterObject[] = [];
  for (const where of ["path", "query", "header"] as const) {
    for (const [name, schema] of Object.entries(route.params?.[where] ?? {})) {
      const { description, ...rest } = schema;
      out.push({
        name,
        in: where,
        required: where === "path",
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
  }
  return out;
}

function operation(route: RouteSpec): OperationObject {
  // Every operation but a page refuses query parameters it does not declare (api/app.ts).
  const responses = { ...(route.page ? {} : problems(400)), ...route.responses };
  const op: OperationObject = {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    responses: Object.fromEntries(
      Object.entries(responses).map(([status, r]) => [status, {
        description: r.description,
        ...(r.headers ? { headers: r.headers } : {}),
        ...(r.content
          ? {
            content: Object.fromEntries(
              Object.entries(r.content).map(([type, schema]) => [type, { schema }]),
            ),
          }
          : {}),
      }]),
    ),
  };
  if (route.description) op.description = route.description;
  const params = parameters(route);
  if (params.length) op.parameters = params;
  if (route.body) {
    op.requestBody = {
      required: true,
      content: Object.fromEntries(
        Object.entries(route.body).map(([type, schema]) => [type, { schema }]),
      ),
    };
  }
  if (route.public) op.security = [];
  return op;
}

export function buildDocument(routes: RouteSpec[], config: ServiceConfig): OpenAPIObject {
  const builder = OpenApiBuilder.create()
    .addOpenApiVersion("3.1.0")
    .addInfo({
      title: "Lossmith",
      version: LOSSMITH_VERSION,
      description: DESCRIPTION,
    })
    // Relative to where the document is served: the service describes itself, wherever it runs.
    .addServer({ url: "/", description: "This service (the origin serving this document)." })
    .addSecurityScheme("apiKey", {
      type: "http",
      scheme: "bearer",
      description: "An API key from `deno task keys create NAME`.",
    })
    .addTag({ name: "searches", description: "Search jobs: submit, follow, cancel." })
    .addTag({ name: "results", description: "Ranked losses and their exports." })
    .addTag({ name: "datasets", description: "Bundled datasets, uploads and URLs." })
    .addTag({ name: "service", description: "Health, metrics and this document." })
    .addTag({ name: "dashboard", description: "The web dashboard and its files." });
  for (const [name, schema] of Object.entries(componentSchemas())) {
    builder.addSchema(name, schema);
  }
  const paths: Record<string, Record<string, OperationObject>> = {};
  for (const route of routes) {
    (paths[route.path] ??= {})[route.method] = operation(route);
  }
  for (const [path, item] of Object.entries(paths)) builder.addPath(path, item);
  const doc = builder.getSpec();
  doc.security = [{ apiKey: [] }];
  doc["x-limits"] = config.limits;
  return doc;
}
