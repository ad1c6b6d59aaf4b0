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

/**
 * Query and header values are strings: turn the ones their schema wants as numbers into numbers.
 * A parameter whose schema is an array takes every value it is given (`label=a&label=b`).
 */
export function coerceParams(
  values: Record<string, string | string[] | undefined>,
  schemas: Record<string, SchemaObject>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const given = values[name];
    if (given === undefined) continue;
    const all = Array.isArray(given) ? given : [given];
    if (schema.type === "array") {
      out[name] = all;
      continue;
    }
    const v = all[all.length - 1];
    const numeric = schema.type === "integer" || schema.type === "number";
    out[name] = numeric && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}

/**
 * What is wrong with a query string for an operation that declares `schemas`: parameters it does
 * not take, and single-valued ones given more than once, each by name.
 */
export function queryProblems(
  search: URLSearchParams,
  schemas: Record<string, SchemaObject>,
): { unknown: FieldError[]; repeated: FieldError[] } {
  const allowed = Object.keys(schemas);
  const takes = allowed.length ? `it takes ${allowed.join(", ")}` : "it takes none";
  const counts = new Map<string, number>();
  for (const name of search.keys()) counts.set(name, (counts.get(name) ?? 0) + 1);
  const unknown: FieldError[] = [];
  const repeated: FieldError[] = [];
  for (const [name, n] of counts) {
    const schema = schemas[name];
    if (!Object.hasOwn(schemas, name)) {
      unknown.push({
        parameter: name,
        detail: `${name} is not a parameter of this operation; ${takes}`,
      });
    } else if (n > 1 && schema.type !== "array") {
      repeated.push({ parameter: name, detail: `${name} is given ${n} times; it takes one value` });
    }
  }
  return { unknown, repeated };
}
