/**
 * The Hono app: every route of api/routes registered from its definition, with the same steps in
 * front of each handler: API key, body size limit, media type, JSON parsing, and validation of
 * path, query, header and body against the route's schemas. Every failure becomes a problem
 * document. The app only coordinates: tensor work happens in the service's workers.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { OpenAPIObject, SchemaObject } from "openapi3-ts/oas31";
import type { Service } from "../service/mod.ts";
import { type FieldError, ServiceError } from "../service/errors.ts";
import { problem, type ProblemBody, problemResponse, typeForKind } from "./problem.ts";
import { coerceParams, compileValidator, queryProblems, type Validator } from "./validate.ts";
import { honoPath, type Input, type RouteSpec, stripVerb } from "./route.ts";
import { buildDocument, componentSchemas } from "../openapi/document.ts";
import { systemRoutes } from "./routes/system.ts";
import { datasetRoutes } from "./routes/datasets.ts";
import { searchRoutes } from "./routes/searches.ts";
import { resultRoutes } from "./routes/results.ts";
import { eventRoutes } from "./routes/events.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { readAllLimited } from "../core/data/bytes.ts";
import { guard } from "./guard.ts";

/** Thrown inside the request pipeline; turned into its problem response. */
class ProblemError extends Error {
  constructor(readonly body: ProblemBody, readonly headers: HeadersInit = {}) {
    super(body.detail);
  }
}

export function allRoutes(service: Service, document: () => OpenAPIObject): RouteSpec[] {
  return [
    ...systemRoutes(service, document),
    ...datasetRoutes(service),
    ...searchRoutes(service),
    ...eventRoutes(service),
    ...resultRoutes(service),
    ...dashboardRoutes(),
  ];
}

/** JSON media types: application/json and its `+json` kinds (a merge patch's). */
const isJson = (type: string) =>
  type === "application/json" || /^application\/[\w.-]+\+json$/.test(type);

/** Budget fields whose maximum is an operator's limit, named as such in errors. */
const LIMIT_POINTERS = /^\/(budget|final)\//;

interface Compiled {
  path?: Validator;
  query?: Validator;
  header?: Validator;
  /** By media type. */
  body: Record<string, Validator>;
}

function paramsValidator(schemas: Record<string, SchemaObject> | undefined, required: boolean) {
  if (!schemas) return undefined;
  return compileValidator({
    type: "object",
    properties: schemas,
    ...(required ? { required: Object.keys(schemas) } : {}),
  }, { location: "parameter" });
}

function compile(route: RouteSpec, components: Record<string, SchemaObject>): Compiled {
  const body: Record<string, Validator> = {};
  for (const [type, schema] of Object.entries(route.body ?? {})) {
    body[type] = compileValidator(schema, {
      location: isJson(type) ? "body" : "parameter",
      components,
      limitPointers: LIMIT_POINTERS,
    });
  }
  return {
    path: paramsValidator(route.params?.path, true),
    query: paramsValidator(route.params?.query, false),
    header: paramsValidator(route.params?.header, false),
    body,
  };
}

function invalidInput(errors: FieldError[], instance: string): ProblemError {
  const detail = errors.length === 1
    ? errors[0].detail
    : `${errors.length} problems: ${errors.map((e) => e.detail).join("; ")}`;
  return new ProblemError(problem("validation", detail, { instance, errors }));
}

function unknownParameters(errors: FieldError[], instance: string): ProblemError {
  return new ProblemError(
    problem("unknown-parameter", errors.map((e) => e.detail).join("; "), { instance, errors }),
  );
}

/** Reads at most `max` bytes of the body, failing as soon as it is larger. */
async function readBody(c: Context, max: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new ProblemError(
      problem("too-large", `the request body is larger than ${max} bytes, this service's limit`, {
        instance: c.req.path,
      }),
    );
  const declared = Number(c.req.header("content-length") ?? NaN);
  if (declared > max) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return new Uint8Array();
  return await readAllLimited(body, max, tooLarge);
}

/** A route's OpenAPI path as a pattern over request paths: `{id}` is one segment. */
function pathPattern(path: string): RegExp {
  const source = path.split(/(\{\w+\})/).map((part) =>
    /^\{\w+\}$/.test(part) ? "[^/:]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${source}$`);
}

export function createApp(service: Service): { app: Hono; routes: RouteSpec[] } {
  // The document is built from the routes, and one route serves it: resolved lazily.
  const holder: { document?: OpenAPIObject } = {};
  const routes = allRoutes(service, () => holder.document!);
  holder.document = buildDocument(routes, service.config);
  const components = componentSchemas();
  const app = new Hono();

  const gate = guard(service.config);
  /** The route template and the key a request was answered for, for its log line. */
  const served = new WeakMap<Request, { route: string; owner?: string }>();
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    const refused = gate.check(c.req.raw, !service.authRequired());
    if (refused) c.res = refused;
    else await next();
    for (const [k, v] of Object.entries(gate.corsHeaders(c.req.raw))) c.res.headers.set(k, v);
    c.res.headers.set("x-content-type-options", "nosniff");
    service.metrics.httpRequest(c.req.method, c.res.status);
    const seen = served.get(c.req.raw);
    // The route's template, not the path: ids stay out of the route field, which stays
    // low-cardinality; the key's id, never its token.
    service.log.info("request", {
      method: c.req.method,
      route: seen?.route ?? "-",
      status: c.res.status,
      ms: Math.round((performance.now() - t0) * 10) / 10,
      key: seen?.owner || undefined,
    });
  });

  const authenticate = async (c: Context): Promise<string> => {
    if (!await service.authRequired()) return "local";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    const owner = m && await service.keys.verify(m[1]);
    if (owner) return owner;
    throw new ProblemError(
      problem(
        "unauthorized",
        m
          ? "the API key is not valid or was revoked"
          : "send an API key as 'Authorization: Bearer <key>' (create one with 'deno task keys create NAME')",
        { instance: c.req.path },
      ),
      { "www-authenticate": 'Bearer realm="lossmith"' },
    );
  };

  const readInput = async (
    c: Context,
    route: RouteSpec,
    v: Compiled,
    turn: { end?: () => void },
  ): Promise<Input> => {
    served.set(c.req.raw, { route: route.path });
    const owner = route.public ? "" : await authenticate(c);
    served.set(c.req.raw, { route: route.path, owner });
    const instance = c.req.path;
    const errors: FieldError[] = [];
    const path = stripVerb(route.path, c.req.param() as Record<string, string>);
    const pathValues = coerceParams(path, route.params?.path ?? {});
    errors.push(...(v.path?.(pathValues) ?? []));
    const querySchemas = route.params?.query ?? {};
    // Only the parameters the route declares: any other is refused (400), not ignored, except
    // on a page for browsers.
    const { unknown, repeated } = queryProblems(new URL(c.req.url).searchParams, querySchemas);
    if (unknown.length && !route.page) throw unknownParameters(unknown, instance);
    errors.push(...repeated);
    const query = coerceParams(c.req.queries(), querySchemas);
    errors.push(...(v.query?.(query) ?? []));
    const headerValues: Record<string, string | undefined> = {};
    for (const name of Object.keys(route.params?.header ?? {})) {
      headerValues[name] = c.req.header(name);
    }
    const headers = coerceParams(headerValues, route.params?.header ?? {});
    errors.push(...(v.header?.(headers) ?? []));
    if (errors.length) throw invalidInput(errors, instance);

    const input: Input = { owner, path, query, headers };
    if (!route.body) return input;
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    const accepted = Object.keys(route.body);
    if (!accepted.includes(type)) {
      throw new ProblemError(
        problem(
          "unsupported-media-type",
          `send the body as ${accepted.join(" or ")}${type ? `, not ${type}` : ""}`,
          { instance },
        ),
      );
    }
    // After the key and the parameters, before the body: a refused request reads nothing.
    if (route.admit) turn.end = await route.admit();
    const bytes = await readBody(c, service.config.limits.maxUploadBytes);
    if (isJson(type)) {
      let body: unknown;
      try {
        const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        if (text.trim() === "") throw new SyntaxError("the body is empty; send a JSON object");
        body = JSON.parse(text);
      } catch (e) {
        throw new ProblemError(
          problem("malformed", `the body is not valid JSON: ${(e as Error).message}`, {
            instance,
            errors: [{ pointer: "", detail: (e as Error).message }],
          }),
        );
      }
      const bodyErrors = v.body[type](body);
      if (bodyErrors.length) throw invalidInput(bodyErrors, instance);
      return { ...input, body };
    }
    let form: FormData;
    try {
      form = await new Request("http://body/", {
        method: "POST",
        headers: { "content-type": c.req.header("content-type")! },
        body: bytes as BodyInit,
      }).formData();
    } catch (e) {
      throw new ProblemError(
        problem("malformed", `the multipart body cannot be read: ${(e as Error).message}`, {
          instance,
        }),
      );
    }
    // Files stand as empty strings: the schema checks which fields exist and the text fields.
    const fields: Record<string, unknown> = {};
    for (const [name, value] of form) fields[name] ??= typeof value === "string" ? value : "";
    const formErrors = v.body[type](fields);
    if (formErrors.length) throw invalidInput(formErrors, instance);
    return { ...input, form };
  };

  for (const route of routes) {
    const compiled = compile(route, components);
    app.on(route.method.toUpperCase(), honoPath(route.path), async (c) => {
      const turn: { end?: () => void } = {};
      try {
        const input = await readInput(c, route, compiled, turn);
        return await route.handler(c, input);
      } finally {
        turn.end?.();
      }
    });
  }

  // A path that exists under other methods is a wrong method (405 with Allow), not a 404.
  const shapes = routes.map((r) => ({
    method: r.method.toUpperCase(),
    pattern: pathPattern(r.path),
  }));
  app.notFound((c) => {
    const allowed = [
      ...new Set(shapes.filter((s) => s.pattern.test(c.req.path)).map((s) => s.method)),
    ];
    if (allowed.length > 0) {
      return problemResponse(
        problem(
          "method-not-allowed",
          `${c.req.path} answers ${allowed.join(", ")}, not ${c.req.method}`,
          { instance: c.req.path },
        ),
        { allow: allowed.join(", ") },
      );
    }
    return problemResponse(
      problem("not-found", `no operation ${c.req.method} ${c.req.path}; see /docs`, {
        instance: c.req.path,
      }),
    );
  });

  app.onError((e, c) => {
    if (e instanceof ProblemError) return problemResponse(e.body, e.headers);
    if (e instanceof ServiceError) {
      const type = typeForKind(e.kind);
      const headers: Record<string, string> = {};
      if (e.kind === "unauthorized") headers["www-authenticate"] = 'Bearer realm="lossmith"';
      if (e.retryAfter !== undefined) headers["retry-after"] = String(e.retryAfter);
      return problemResponse(
        problem(type, e.detail, { title: e.title, instance: c.req.path, errors: e.errors }),
        headers,
      );
    }
    service.log.error("internal error", {
      method: c.req.method,
      path: c.req.path,
      error: (e as Error).stack ?? String(e),
    });
    return problemResponse(
      problem("internal", "an unexpected error occurred; it has been logged", {
        instance: c.req.path,
      }),
    );
  });

  return { app, routes };
}
