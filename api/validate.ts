/**
 * Request validation with Ajv against the very JSON Schemas the OpenAPI document publishes (one
 * source of truth). Errors become FieldErrors with a JSON pointer (body) or a parameter name,
 * in words a user can act on.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import type { SchemaObject } from "openapi3-ts/oas31";
import type { FieldError } from "../service/errors.ts";

// strict: false lets the wrapper below carry `components` (not a JSON Schema keyword) so that
// `#/components/schemas/...` references resolve as they do in the document.
const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });

export type Validator = (value: unknown) => FieldError[];

export interface ValidatorOptions {
  /** Where errors point: into the body, or at named parameters. */
  location: "body" | "parameter";
  components?: Record<string, SchemaObject>;
  /** Fields whose maximum is an operator's limit, for a clearer message. */
  limitPointers?: RegExp;
}

function describe(e: ErrorObject, opts: ValidatorOptions): FieldError {
  let pointer = e.instancePath;
  const p = e.params as Record<string, unknown>;
  let detail: string;
  switch (e.keyword) {
    case "required":
      pointer += `/${p.missingProperty}`;
      detail = "is required";
      break;
    case "additionalProperties":
      pointer += `/${p.additionalProperty}`;
      detail = "is not a known field";
      break;
    case "type":
      detail = `must be ${Array.isArray(p.type) ? p.type.join(" or ") : p.type}`;
      break;
    case "enum":
      detail = `must be one of: ${(p.allowedValues as unknown[]).map(String).join(", ")}`;
      break;
    case "maximum":
    case "exclusiveMaximum": {
      const limit = opts.limitPointers?.test(pointer) ? " (this service's limit)" : "";
      detail = `must be ${e.keyword === "maximum" ? "at most" : "below"} ${p.limit}${limit}`;
      break;
    }
    case "minimum":
    case "exclusiveMinimum":
      detail = `must be ${e.keyword === "minimum" ? "at least" : "above"} ${p.limit}`;
      break;
    default:
      detail = e.message ?? "is invalid";
  }
  if (opts.location === "parameter") {
    const name = pointer.split("/").filter(Boolean)[0] ?? "";
    return { parameter: name, detail: `${name} ${detail}` };
  }
  return { pointer, detail: `${pointer || "the body"} ${detail}` };
}

export function compileValidator(schema: SchemaObject, opts: ValidatorOptions): Validator {
  const fn: ValidateFunction = ajv.compile({
    ...schema,
    ...(opts.components ? { components: { schemas: opts.components } } : {}),
  });
  return (value) => {
    if (fn(value)) return [];
    const seen = new Set<string>();
    return (fn.errors ?? []).map((e) => describe(e, opts)).filter((e) => {
      const key = `${e.pointer ?? e.parameter}|${e.detail}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
  };
}

/** Query and header values are strings: turn the ones their schema wants as numbers into numbers. */
export function coerceParams(
  values: Record<string, string | undefined>,
  schemas: Record<string, SchemaObject>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const v = values[name];
    if (v === undefined) continue;
    const numeric = schema.type === "integer" || schema.type === "number";
    out[name] = numeric && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}
