/** Schemas of datasets: the description the API returns and the two ways to create one. */
import type { SchemaObject } from "openapi3-ts/oas31";
import type { Limits } from "../../service/config.ts";

const task: SchemaObject = {
  type: "string",
  enum: ["classification", "regression"],
  description: "Read the target as class labels or as numbers; inferred when absent " +
    "(text, or integers with at most 20 distinct repeated values, are labels).",
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
  description: "CSV only: the header name of the target column.",
};

export const Dataset: SchemaObject = {
  type: "object",
  required: ["id", "name", "source", "format", "task", "rows", "features", "createdAt"],
  properties: {
    id: { type: "string", description: "A bundled name (iris, boston, mnist) or ds_..." },
    name: { type: "string" },
    source: { type: "string", enum: ["bundled", "upload", "url"] },
    format: { type: "string", enum: ["bundled", "csv", "idx"] },
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
    createdAt: { type: "string", format: "date-time" },
  },
};

export function datasetUrlRequest(): SchemaObject {
  return {
    type: "object",
    description: "Register a dataset by URL: a CSV/TSV file (`url`, with `target`), or an IDX " +
      "pair (`imagesUrl` and `labelsUrl`). It is downloaded once, within the size and time " +
      "limits; loopback, private and link-local addresses are refused unless the operator " +
      "allows them.",
    additionalProperties: false,
    properties: {
      url: { type: "string", minLength: 1, maxLength: 2048 },
      imagesUrl: { type: "string", minLength: 1, maxLength: 2048 },
      labelsUrl: { type: "string", minLength: 1, maxLength: 2048 },
      target,
      task,
      name,
    },
  };
}

export function datasetUpload(limits: Limits): SchemaObject {
  const file = (what: string): SchemaObject => ({
    type: "string",
    contentMediaType: "application/octet-stream",
    description: what,
  });
  return {
    type: "object",
    description: `A CSV/TSV file in \`file\` (with \`target\`), or an IDX pair in \`images\` ` +
      `and \`labels\` (plain or gzip). At most ${limits.maxUploadBytes} bytes in all and ` +
      `${limits.maxRows} rows.`,
    additionalProperties: false,
    properties: {
      file: file("CSV or TSV with a header row."),
      images: file("IDX images [n, rows, cols], unsigned bytes."),
      labels: file("IDX labels [n], unsigned bytes."),
      target,
      task,
      name,
    },
  };
}
