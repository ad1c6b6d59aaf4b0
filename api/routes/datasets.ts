/** /v1/datasets: the bundled datasets, uploads and URL registrations in every registry format. */
import type { Service } from "../../service/mod.ts";
import type { Task } from "../../core/data/dataset.ts";
import type { DatasetMeta, UploadFiles, UrlSource } from "../../service/datasets.ts";
import { type FormatName, ROLES, urlField } from "../../core/data/formats.ts";
import type { Input, RouteSpec } from "../route.ts";
import { cursorParam, limitParam, pageOf, ref } from "../schemas/common.ts";
import { datasetUpload, datasetUrlRequest, uploadRoles, urlRoles } from "../schemas/dataset.ts";
import { datasetView } from "../views.ts";
import { HEADERS, idParam, json, jsonResponse, pageResponse, problems } from "./common.ts";

/** A form field as bytes: a file part, or text sent as a plain field (curl -F 'file=<x.csv'). */
async function bytesOf(form: FormData, name: string): Promise<Uint8Array | undefined> {
  const v = form.get(name);
  if (v === null) return undefined;
  return typeof v === "string"
    ? new TextEncoder().encode(v)
    : new Uint8Array(await v.arrayBuffer());
}

function text(form: FormData, name: string): string | undefined {
  const v = form.get(name);
  return typeof v === "string" ? v : undefined;
}

/** The options of a dataset, from a form's or a JSON body's fields (both validated). */
function metaOf(field: (name: string) => string | undefined): DatasetMeta {
  return {
    name: field("name"),
    target: field("target"),
    task: field("task") as Task | undefined,
    format: field("format") as FormatName | undefined,
  };
}

async function create(service: Service, input: Input): Promise<Response> {
  let created;
  if (input.form) {
    const f = input.form;
    const files: UploadFiles = {};
    for (const role of ROLES) {
      const bytes = await bytesOf(f, role);
      if (bytes) files[role] = bytes;
    }
    created = await service.datasets.upload(input.owner, files, metaOf((n) => text(f, n)));
  } else {
    const b = input.body as Record<string, string | undefined>;
    const urls: UrlSource = {};
    for (const role of ROLES) {
      const url = b[urlField(role)];
      if (url !== undefined) urls[role] = url;
    }
    created = await service.datasets.register(input.owner, urls, metaOf((n) => b[n]));
  }
  const { record, existing } = created;
  // The same content again: the dataset there is, 200 rather than 201, and said so.
  return jsonResponse(datasetView(record), existing ? 200 : 201, {
    location: `/v1/datasets/${record.id}`,
    ...(existing ? { deduplicated: "true" } : {}),
  });
}

export function datasetRoutes(service: Service): RouteSpec[] {
  const limits = service.config.limits;
  return [
    {
      method: "get",
      path: "/v1/datasets",
      operationId: "listDatasets",
      summary: "List datasets: the bundled ones and this key's own",
      tag: "datasets",
      params: { query: { limit: limitParam, cursor: cursorParam } },
      responses: {
        "200": {
          ...json(pageOf("Dataset"), "A page of datasets."),
          headers: { Link: HEADERS.link },
        },
        ...problems(401, 422),
      },
      handler: async (c, input) => {
        const limit = (input.query.limit as number | undefined) ?? 20;
        const page = await service.datasets.list(
          input.owner,
          limit,
          input.query.cursor as string | undefined,
        );
        return pageResponse(c.req.url, page, datasetView);
      },
    },
    {
      method: "post",
      path: "/v1/datasets",
      operationId: "createDataset",
      summary: "Upload a dataset, or register one by URL",
      description: `multipart/form-data: the files by role, ${uploadRoles()}. ` +
        `application/json: their URLs, ${urlRoles()}, downloaded once within the time and ` +
        "size limits. `format` states the format (checked against the files); `target` is " +
        "required for CSV, optional for JSON and refused for the pair formats. The data is " +
        "read and checked before the answer: errors name the field, row and column at fault. " +
        "Datasets are kept once per content: files of the same bytes, read with the same " +
        "format, target and task, answer 200 with the dataset this key has already (and " +
        "`Deduplicated: true`), whatever their name or source. A few are read at once; when " +
        "too many wait, the answer is 503 with Retry-After.",
      tag: "datasets",
      body: {
        "multipart/form-data": datasetUpload(limits),
        "application/json": datasetUrlRequest(),
      },
      responses: {
        "201": {
          ...json(ref("Dataset"), "The dataset, read and checked."),
          headers: { Location: HEADERS.location("dataset") },
        },
        "200": {
          ...json(ref("Dataset"), "This key's dataset of the same content, as it was."),
          headers: {
            Location: HEADERS.location("dataset"),
            Deduplicated: HEADERS.deduplicated,
          },
        },
        ...problems(400, 401, 413, 415, 422, 503),
      },
      // Uploads and downloads are read and inspected a few at a time (a bounded queue).
      admit: () => service.datasets.admit(),
      handler: (_c, input) => create(service, input),
    },
    {
      method: "get",
      path: "/v1/datasets/{id}",
      operationId: "getDataset",
      summary: "Describe one dataset",
      tag: "datasets",
      params: { path: { id: idParam("dataset") } },
      responses: { "200": json(ref("Dataset"), "The dataset."), ...problems(401, 404) },
      handler: async (_c, input) =>
        jsonResponse(datasetView(await service.datasets.get(input.owner, input.path.id))),
    },
    {
      method: "delete",
      path: "/v1/datasets/{id}",
      operationId: "deleteDataset",
      summary: "Delete an uploaded dataset",
      description: "Refused (409) for bundled datasets and for datasets a queued or running " +
        "search uses. Finished searches keep their results.",
      tag: "datasets",
      params: { path: { id: idParam("dataset") } },
      responses: { "204": { description: "Deleted." }, ...problems(401, 404, 409) },
      handler: async (_c, input) => {
        await service.datasets.delete(
          input.owner,
          input.path.id,
          await service.jobs.activeUsing(input.path.id),
        );
        return new Response(null, { status: 204 });
      },
    },
  ];
}
