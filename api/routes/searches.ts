/** /v1/searches: submit (202 + Location, idempotent), list, status, cancel. */
import type { Service } from "../../service/mod.ts";
import type { SearchRequest } from "../../service/search_request.ts";
import { FINISHED_STATES, JOB_STATES, type JobState } from "../../service/types.ts";
import type { RouteSpec } from "../route.ts";
import { cursorParam, limitParam, pageOf, ref } from "../schemas/common.ts";
import { searchRequest } from "../schemas/search.ts";
import { searchView } from "../views.ts";
import { HEADERS, idParam, json, jsonResponse, pageResponse, problems } from "./common.ts";

/** How long a cancel request waits for the job to stop before answering 202 instead of 200. */
const CANCEL_WAIT_MS = 5000;

export function searchRoutes(service: Service): RouteSpec[] {
  const jobs = service.jobs;
  return [
    {
      method: "post",
      path: "/v1/searches",
      operationId: "createSearch",
      summary: "Start a search for a loss function",
      description: "Answers 202 at once; the search runs in the background. Poll the " +
        "`Location`, or follow its `events`. With an `Idempotency-Key`, repeating the same " +
        "request returns the same search (with `Idempotent-Replayed: true`); the same key with " +
        "another body is an error.",
      tag: "searches",
      params: {
        header: {
          "Idempotency-Key": {
            type: "string",
            minLength: 1,
            maxLength: 255,
            description: "Any unique string, e.g. a UUID.",
          },
        },
      },
      body: { "application/json": searchRequest(service.config.limits) },
      responses: {
        "202": {
          ...json(ref("Search"), "Accepted: queued or already running."),
          headers: {
            Location: HEADERS.location("search"),
            "Idempotent-Replayed": HEADERS.idempotentReplayed,
          },
        },
        ...problems(400, 401, 415, 422, 429, 503),
      },
      handler: async (_c, input) => {
        const key = input.headers["Idempotency-Key"] as string | undefined;
        const { job, replayed } = await jobs.submit(input.owner, input.body as SearchRequest, key);
        return jsonResponse(searchView(job), 202, {
          location: `/v1/searches/${job.id}`,
          ...(replayed ? { "idempotent-replayed": "true" } : {}),
        });
      },
    },
    {
      method: "get",
      path: "/v1/searches",
      operationId: "listSearches",
      summary: "List this key's searches, newest first",
      tag: "searches",
      params: {
        query: {
          state: {
            type: "string",
            enum: [...JOB_STATES],
            description: "Only searches in this state.",
          },
          limit: limitParam,
          cursor: cursorParam,
        },
      },
      responses: {
        "200": {
          ...json(pageOf("Search"), "A page of searches."),
          headers: { Link: HEADERS.link },
        },
        ...problems(401, 422),
      },
      handler: async (c, input) => {
        const page = await jobs.list(
          input.owner,
          (input.query.limit as number | undefined) ?? 20,
          input.query.state as JobState | undefined,
          input.query.cursor as string | undefined,
        );
        return pageResponse(c.req.url, page, searchView);
      },
    },
    {
      method: "get",
      path: "/v1/searches/{id}",
      operationId: "getSearch",
      summary: "State and progress of a search",
      tag: "searches",
      params: { path: { id: idParam("search") } },
      responses: { "200": json(ref("Search"), "The search."), ...problems(401, 404) },
      handler: async (_c, input) =>
        jsonResponse(searchView(await jobs.get(input.owner, input.path.id))),
    },
    {
      method: "post",
      path: "/v1/searches/{id}:cancel",
      operationId: "cancelSearch",
      summary: "Cancel a search",
      description: "A queued search is cancelled at once; a running one stops within " +
        "milliseconds (its queued evaluations are dropped and those in flight abandoned) and " +
        "keeps the ranked losses of its finished generations. Answers 200 once it has " +
        "stopped, or 202 if it is still stopping. A finished search is returned unchanged.",
      tag: "searches",
      params: { path: { id: idParam("search") } },
      responses: {
        "200": json(ref("Search"), "The search, stopped."),
        "202": json(ref("Search"), "The search, still stopping."),
        ...problems(401, 404),
      },
      handler: async (_c, input) => {
        await jobs.cancel(input.owner, input.path.id);
        await jobs.stopped(input.path.id, CANCEL_WAIT_MS);
        const job = await jobs.get(input.owner, input.path.id);
        return jsonResponse(searchView(job), FINISHED_STATES.includes(job.state) ? 200 : 202);
      },
    },
  ];
}
