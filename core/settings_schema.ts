/**
 * JSON Schemas (2020-12) derived from the settings table (core/settings.ts), and the validator
 * both entry points use: the API checks request bodies with it, the CLI checks the partial its
 * flags make, so a bound is stated once and enforced alike. Errors carry the path of the setting.
 */
import { Ajv2020, type ErrorObject } from "ajv/dist/2020";
import { isSetting, type Setting, SETTING_LIST, SETTINGS, type SettingType } from "./settings.ts";
import { LAYER_SCHEMAS, layersSchema } from "./layers.ts";

export type JsonSchema = Record<string, unknown>;

/** The largest value an operator allows at a setting's path (dotted), where it is limited. */
export type OperatorLimits = (dottedPath: string) => number | undefined;

function valueSchema(t: SettingType, limit?: number): JsonSchema {
  const max = (m: number) => (limit === undefined ? m : Math.min(m, limit));
  switch (t.type) {
    case "integer":
      return { type: "integer", minimum: t.min, maximum: max(t.max) };
    case "number":
      return t.exclusive
        ? { type: "number", exclusiveMinimum: t.min, exclusiveMaximum: max(t.max) }
        : { type: "number", minimum: t.min, maximum: max(t.max) };
    case "boolean":
      return { type: "boolean" };
    case "enum":
      return { type: "string", enum: [...t.values] };
    case "integers":
      return {
        type: "array",
        maxItems: t.maxItems,
        items: { type: "integer", minimum: t.min, maximum: max(t.max) },
      };
    case "numbers":
      return {
        type: "array",
        minItems: t.minItems,
        maxItems: t.maxItems,
        items: { type: "number", exclusiveMinimum: t.min, maximum: max(t.max) },
      };
    case "stack":
      return {
        anyOf: [
          { type: "string", enum: ["auto", "off"] },
          { type: "integer", minimum: 2, maximum: max(t.max) },
        ],
        // What an error says the value must be (read by `describe` below).
        "x-expected": `auto, off or a whole number of candidates from 2 to ${max(t.max)}`,
      };
    case "names":
      return {
        type: "array",
        minItems: t.minItems,
        uniqueItems: true,
        items: { type: "string", enum: [...t.values] },
      };
    case "layers":
      return layersSchema();
  }
}

function leafSchema(s: Setting<unknown>, limit: number | undefined, withDefault: boolean) {
  return {
    ...valueSchema(s.value, limit),
    description: s.description,
    ...(withDefault && s.default !== undefined ? { default: s.default } : {}),
    "x-cli-flag": `--${s.flag}`,
  };
}

function groupSchema(
  node: Record<string, unknown>,
  path: string[],
  limits: OperatorLimits,
  required: boolean,
): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const names: string[] = [];
  for (const [key, child] of Object.entries(node)) {
    const at = [...path, key];
    if (isSetting(child)) {
      properties[key] = leafSchema(child, limits(at.join(".")), !required);
      if (child.default !== undefined) names.push(key);
    } else {
      properties[key] = groupSchema(child as Record<string, unknown>, at, limits, required);
      names.push(key);
    }
  }
  return {
    type: "object",
    additionalProperties: false,
    properties,
    ...(required ? { required: names } : {}),
  };
}

/** The schema of a partial of the settings: every field optional, defaults stated. */
export function settingsPatchSchema(limits: OperatorLimits = () => undefined): JsonSchema {
  return groupSchema(SETTINGS, [], limits, false);
}

/** The schema of a whole resolved configuration's settings: every field present. */
export function settingsSchema(): JsonSchema {
  return groupSchema(SETTINGS, [], () => undefined, true);
}

/** An invalid value: the JSON pointer of the field and what is wrong with it. */
export interface SchemaIssue {
  /** RFC 6901, e.g. /evaluation/inner/lr ("" is the whole value). */
  pointer: string;
  /** A phrase that follows the field's name, e.g. "must be at least 1". */
  detail: string;
}

// strict: false lets a schema carry `components` and `x-` annotations beside its keywords.
// verbose: errors carry their schema, whose `x-expected` words an anyOf's message.
// discriminator: a layer of a list is checked against the schema its `type` names only, so its
// errors are that layer's (core/layers.ts).
const ajv = new Ajv2020({
  allErrors: true,
  strict: false,
  validateFormats: false,
  verbose: true,
  discriminator: true,
});

export type SchemaValidator = (value: unknown) => SchemaIssue[];

export interface ValidatorOptions {
  /** Schemas `#/components/schemas/...` references resolve to. */
  components?: Record<string, unknown>;
  /** Pointers whose maximum is an operator's limit, for a clearer message. */
  limitPointers?: RegExp;
}

function describe(e: ErrorObject, opts: ValidatorOptions): SchemaIssue {
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
    case "anyOf": {
      const expected = (e.parentSchema as Record<string, unknown> | undefined)?.["x-expected"];
      detail = `must be ${expected ?? "one of the forms the schema allows"}`;
      break;
    }
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
    case "maxItems":
      detail = `must have at most ${p.limit} items`;
      break;
    case "minItems":
      detail = `must have at least ${p.limit} item${p.limit === 1 ? "" : "s"}`;
      break;
    case "uniqueItems":
      // ajv reports the later copy as j, the earlier as i.
      pointer += `/${Math.max(Number(p.i), Number(p.j))}`;
      detail = `repeats item ${Math.min(Number(p.i), Number(p.j))} (each at most once)`;
      break;
    case "const":
      detail = `must be ${JSON.stringify(p.allowedValue)}`;
      break;
    case "discriminator": {
      pointer += `/${p.tag}`;
      const expected = (e.parentSchema as Record<string, unknown> | undefined)?.["x-expected"];
      detail = p.error === "mapping"
        ? `must be ${expected ?? "one of the forms the schema allows"}, not ${
          JSON.stringify(p.tagValue)
        }`
        : "is required, a string";
      break;
    }
    case "maxProperties":
      detail = `must have at most ${p.limit} entries`;
      break;
    case "minProperties":
      detail = `must have at least ${p.limit} entr${p.limit === 1 ? "y" : "ies"}`;
      break;
    case "maxLength":
      detail = `must be at most ${p.limit} characters long`;
      break;
    case "minLength":
      detail = `must be at least ${p.limit} character${p.limit === 1 ? "" : "s"} long`;
      break;
    case "propertyNames":
      // A key at fault: the pointer names it, and the key's own schema words what it must be.
      pointer += `/${String(p.propertyName).replaceAll("~", "~0").replaceAll("/", "~1")}`;
      detail = `is not a valid key: it must be ${
        (e.schema as Record<string, unknown> | undefined)?.["x-expected"] ?? "another name"
      }`;
      break;
    case "pattern": {
      const expected = (e.parentSchema as Record<string, unknown> | undefined)?.["x-expected"];
      detail = expected ? `must be ${expected}` : `must match the pattern ${p.pattern}`;
      break;
    }
    default:
      detail = e.message ?? "is invalid";
  }
  return { pointer, detail };
}

/**
 * The schema without its discriminators' `mapping`s: ajv picks a discriminator's branch by the
 * `const` of the tag in each branch, and refuses a mapping; OpenAPI readers get it in the
 * document.
 */
function withoutMappings(node: unknown): JsonSchema {
  if (Array.isArray(node)) return node.map(withoutMappings) as unknown as JsonSchema;
  if (!node || typeof node !== "object") return node as JsonSchema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "discriminator" && v && typeof v === "object") {
      const { mapping: _m, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    } else out[k] = withoutMappings(v);
  }
  return out;
}

/** Compiles a schema once; the validator lists every issue, each field once. */
export function compileSchema(schema: JsonSchema, opts: ValidatorOptions = {}): SchemaValidator {
  // The layers' schemas are named components (core/layers.ts), wherever the settings are checked.
  const components = { ...LAYER_SCHEMAS, ...opts.components };
  const fn = ajv.compile(withoutMappings({ ...schema, components: { schemas: components } }));
  return (value) => {
    if (fn(value)) return [];
    const seen = new Set<string>();
    // anyOf reports each branch's failure too; its own message says it all.
    const anyOfAt = new Set(
      (fn.errors ?? []).filter((e) => e.keyword === "anyOf").map((e) => e.instancePath),
    );
    return (fn.errors ?? [])
      .filter((e) => e.keyword === "anyOf" || !anyOfAt.has(e.instancePath))
      // A key's own failures are said once, by its propertyNames error.
      .filter((e) => (e as { propertyName?: string }).propertyName === undefined)
      .map((e) => describe(e, opts))
      .filter((e) => {
        const key = `${e.pointer}|${e.detail}`;
        return seen.has(key) ? false : (seen.add(key), true);
      });
  };
}

/** A pointer's path keys: "/evaluation/inner/lr" -> ["evaluation", "inner", "lr"]. */
export function pointerPath(pointer: string): string[] {
  return pointer.split("/").slice(1).map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~"));
}

export function pathPointer(path: readonly string[]): string {
  return path.map((k) => `/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/**
 * The CLI flag of the setting at a pointer, where there is one; a pointer into a list setting
 * (/final/lrGrid/0) names its item, counted from 1 as a user counts the values of a flag.
 */
export function flagAt(pointer: string): string | undefined {
  const path = pointerPath(pointer);
  const last = path[path.length - 1];
  const item = /^\d+$/.test(last ?? "") ? Number(last) + 1 : undefined;
  const key = (item === undefined ? path : path.slice(0, -1)).join(".");
  const flag = SETTING_LIST.find((e) => e.path.join(".") === key)?.setting.flag;
  return flag && item !== undefined ? `${flag} value ${item}` : flag;
}
