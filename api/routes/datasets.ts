/** /v1/datasets: the bundled datasets, uploads (CSV or IDX pair) and URL registrations. */
import type { Service } from "../../service/mod.ts";
import type { Task } from "../../core/data/dataset.ts";
import { invalid } from "../../service/errors.ts";
import type { Input, RouteSpec } from "../route.ts";
import { cursorParam, limitParam, pageOf, ref } from "../schemas/common.ts";
import { datasetUpload, datasetUrlRequest } from "../schemas/dataset.ts";
import { datasetView } from "../views.ts";
import { idParam, json, jsonResponse, nextLink, problems } from "./common.ts";

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

async function create(service: Service, input: Input): Promise<Response> {
  let record;
  if (input.form) {
    const f = input.form;
    const meta = {
      name: text(f, "name"),
      target: text(f, "target"),
      task: text(f, "task") as Task,
    };
    record = await service.datasets.upload(input.owner, {
      data: await bytesOf(f, "file"),
      images: await bytesOf(f, "images"),
      labels: await bytesOf(f, "labels"),
    }, meta);
  } else {
    const b = input.body as {
      url?: string;
      imagesUrl?: string;
      labelsUrl?: string;
      target?: string;
      task?: Task;
      name?: string;
    };
    if (b.url === undefined && (b.imagesUrl === undefined || b.labelsUrl === undefined)) {
      const missing = b.imagesUrl !== undefined
        ? "/labelsUrl"
        : b.labelsUrl !== undefined
        ? "/imagesUrl"
        : "/url";
      throw invalid("give `url` (CSV, with `target`), or both `imagesUrl` and `labelsUrl` (IDX)", {
        pointer: missing,
      });
    }
    if (b.url !== undefined && (b.imagesUrl !== undefined || b.labelsUrl !== undefined)) {
      throw invalid("give either `url` or the IDX pair, not both", { pointer: "/url" });
    }
    if (b.url !== undefined && b.target === undefined) {
      throw invalid("a CSV dataset needs the name of its target column", { pointer: "/target" });
    }
    record = await service.datasets.register(input.owner, b, b);
  }
  return jsonResponse(datasetView(record), 201, { location: `/v1/datasets/${record.id}` });
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
      responses: { "200": json(pageOf("Dataset"), "A page of datasets."), ...problems(401, 422) },
      handler: async (c, input) => {
        const limit = (input.query.limit as number | undefined) ?? 20;
        const page = await service.datasets.list(
          input.owner,
          limit,
          input.query.cursor as string | undefined,
        );
        return jsonResponse(
          { items: page.items.map(datasetView), nextCursor: page.nextCursor },
          200,
          nextLink(c.req.url, page.nextCursor),
        );
      },
    },
    {
      method: "post",
      path: "/v1/datasets",
      operationId: "createDataset",
      summary: "Upload a dataset, or register one by URL",
      description: "multipart/form-data: a CSV/TSV file in `file` with `target`, or an IDX " +
        "pair in `images` and `labels`. application/json: `url` (CSV) or `imagesUrl` and " +
        "`labelsUrl` (IDX), downloaded once within the time and size limits. The data is " +
        "read and checked before the answer: errors name the row and column at fault.",
      tag: "datasets",
      body: {
        "multipart/form-data": datasetUpload(limits),
        "application/json": datasetUrlRequest(),
      },
      responses: {
        "201": {
          ...json(ref("Dataset"), "The dataset, read and checked."),
          headers: { location: { description: "The dataset's URL.", schema: { type: "string" } } },
        },
        ...problems(400, 401, 413, 415, 422),
      },
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
      handler: (_c, input) => {
        service.datasets.delete(
          input.owner,
          input.path.id,
          service.store.jobs.activeUsing(input.path.id),
        );
        return new Response(null, { status: 204 });
      },
    },
  ];
}
