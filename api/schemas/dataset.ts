/**
 * Schemas of datasets: the description the API returns and the two ways to create one, with the
 * file fields and formats derived from the registry (core/data/formats.ts).
 */
import type { SchemaObject } from "openapi3-ts/oas31";
import type { Limits } from "../../service/config.ts";
import {
  FORMAT_NAMES,
  FORMATS,
  type Role,
  roleListing,
  ROLES,
  urlField,
} from "../../core/data/formats.ts";

const task: SchemaObject = {
  type: "string",
  enum: ["classification", "regression"],
  description: "Read the target as class labels or as numbers; inferred when absent " +
    "(text, or integers with at most 20 distinct repeated values, are labels). IDX takes " +
    "none: its labels are classes.",
};

const name: SchemaObject = {
  type: "string",
  minLength: 1,
  maxLength: 200,
  description: "A name for people; defaults to the dataset's id.",
};

const target: SchemaObject = {
  type: "string",
  minLength: 1,
  maxLength: 200,
  description: "The header name of the target column (CSV: required), or the target key of " +
    "JSON rows; the pair formats take none (their labels are a file).",
};

const format: SchemaObject = {
  type: "string",
  enum: FORMAT_NAMES,
  description: "The format of the files; told from the fields and the files' first bytes when " +
    "absent, and checked against them when given. " +
    FORMAT_NAMES.map((f) => `${f}: ${FORMATS[f].description}.`).join(" "),
};

/** The fields of each format's files, as uploads name them: "`file` (CSV or JSON), ...". */
export const uploadRoles = (): string => roleListing((r) => `\`${r}\``);

/** The same for registrations: "`url` (CSV or JSON), `featuresUrl` and `labelsUrl` ...". */
export const urlRoles = (): string => roleListing((r) => `\`${urlField(r)}\``);

/** What a role's file is, in each format that has it. */
function roleDescription(role: Role): string {
  return FORMAT_NAMES.flatMap((f) =>
    FORMATS[f].files.filter((r) => r.role === role).map((r) => `${r.description} (${f})`)
  ).join("; ") + ".";
}

export const Dataset: SchemaObject = {
  type: "object",
  required: ["id", "name", "source", "format", "task", "rows", "features", "createdAt"],
  properties: {
    id: { type: "string", description: "A bundled name (iris, boston, mnist) or ds_..." },
    name: { type: "string" },
    source: { type: "string", enum: ["bundled", "upload", "url"] },
    format: { type: "string", enum: ["bundled", ...FORMAT_NAMES] },
    task: { type: "string", enum: ["classification", "regression"] },
    rows: { type: "integer" },
    features: { type: "integer" },
    classes: { type: "integer" },
    classNames: { type: "array", items: { type: "string" } },
    featureNames: { type: "array", items: { type: "string" } },
    imageShape: { type: "array", items: { type: "integer" } },
    target: { type: "string" },
    bytes: { type: "integer" },
    url: { type: "string" },
    contentHash: {
      type: "string",
      description: "SHA-256 (hex) of the files and the options they are read with: an upload " +
        "of the same content by this key is this dataset. Absent on datasets stored before " +
        "hashes were kept, and on the bundled ones.",
    },
    createdAt: { type: "string", format: "date-time" },
  },
};

export function datasetUrlRequest(): SchemaObject {
  const url = (role: Role): SchemaObject => ({
    type: "string",
    minLength: 1,
    maxLength: 2048,
    description: roleDescription(role),
  });
  return {
    type: "object",
    description: `Register a dataset by the URLs of its files: ${urlRoles()}. They are ` +
      "downloaded once, within the size and time limits; loopback, private and link-local " +
      "addresses are refused unless the operator allows them.",
    additionalProperties: false,
    properties: {
      ...Object.fromEntries(ROLES.map((r) => [urlField(r), url(r)])),
      format,
      target,
      task,
      name,
    },
  };
}

export function datasetUpload(limits: Limits): SchemaObject {
  const file = (role: Role): SchemaObject => ({
    type: "string",
    contentMediaType: "application/octet-stream",
    description: roleDescription(role),
  });
  return {
    type: "object",
    description: `The dataset's files by role: ${uploadRoles()}; the binary ones plain or ` +
      `gzip. At most ${limits.maxUploadBytes} bytes in all and ${limits.maxRows} rows.`,
    additionalProperties: false,
    properties: {
      ...Object.fromEntries(ROLES.map((r) => [r, file(r)])),
      format,
      target,
      task,
      name,
    },
  };
}
