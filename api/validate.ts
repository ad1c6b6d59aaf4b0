/**
 * Request validation against the very JSON Schemas the OpenAPI document publishes (one source of
 * truth), with core's validator (core/settings_schema.ts), which the CLI's flags go through too.
 * Issues become FieldErrors: a JSON pointer into the body, or a parameter's name.
 */
import type { SchemaObject } from "openapi3-ts/oas31";
import { compileSchema } from "../core/settings_schema.ts";
import type { FieldError } from "../service/errors.ts";

export type Validator = (value: unknown) => FieldError[];

export interface ValidatorOptions {
  /** Where errors point: into the body, or at named parameters. */
  location: "body" | "parameter";
  components?: Record<string, SchemaObject>;
  /** Fields whose maximum is an operator's limit, for a clearer message. */
  limitPointers?: RegExp;
}

export function compileValidator(schema: SchemaObject, opts: ValidatorOptions): Validator {
  const check = compileSchema(schema as Record<string, unknown>, opts);
  return (value) =>
    check(value).map(({ pointer, detail }) => {
      if (opts.location === "parameter") {
        const name = pointer.split("/").filter(Boolean)[0] ?? "";
        return { parameter: name, detail: `${name} ${detail}` };
      }
      return { pointer, detail: `${pointer || "the body"} ${detail}` };
    });
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
